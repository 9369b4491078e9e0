#include "tests/unit/subprocess.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <signal.h>
#include <time.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>

extern char** environ;

namespace heapwatch::testing {
namespace {

std::string ReadAll(int fd) {
  std::string data;
  lseek(fd, 0, SEEK_SET);
  char buffer[1 << 16];
  ssize_t n;
  while ((n = read(fd, buffer, sizeof buffer)) > 0) data.append(buffer, static_cast<size_t>(n));
  return data;
}

}  // namespace

ProcessResult RunProcess(const std::vector<std::string>& argv, const std::vector<std::string>& env,
                         const RunOptions& options) {
  ProcessResult result;
  std::map<std::string, std::string> merged;
  for (char** e = environ; *e; ++e) {
    std::string entry = *e;
    merged[entry.substr(0, entry.find('='))] = entry;
  }
  for (const std::string& entry : env) merged[entry.substr(0, entry.find('='))] = entry;
  std::vector<std::string> env_strings;
  for (auto& [name, entry] : merged) env_strings.push_back(entry);
  std::vector<char*> envp, args;
  for (std::string& e : env_strings) envp.push_back(e.data());
  envp.push_back(nullptr);
  std::vector<std::string> argv_copy = argv;
  for (std::string& a : argv_copy) args.push_back(a.data());
  args.push_back(nullptr);

  int out_fd = memfd_create("stdout", MFD_CLOEXEC);
  int err_fd = memfd_create("stderr", MFD_CLOEXEC);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, out_fd, STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, err_fd, STDERR_FILENO);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  if (!options.cwd.empty()) posix_spawn_file_actions_addchdir_np(&actions, options.cwd.c_str());
  posix_spawnattr_t attributes;
  posix_spawnattr_init(&attributes);
  posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETPGROUP);
  posix_spawnattr_setpgroup(&attributes, 0);
  pid_t pid;
  int rc = posix_spawnp(&pid, args[0], &actions, &attributes, args.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attributes);
  if (rc != 0) {
    result.err = "cannot run " + argv[0] + ": " + std::strerror(rc);
  } else {
    int status = 0;
    timespec start, now;
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (;;) {
      pid_t done = waitpid(pid, &status, options.timeout_seconds > 0 ? WNOHANG : 0);
      if (done == pid || (done < 0 && errno != EINTR)) break;
      if (done == 0) {
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (now.tv_sec - start.tv_sec >= options.timeout_seconds) {
          result.timed_out = true;
          kill(-pid, SIGKILL);
          while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
          }
          break;
        }
        usleep(10000);
      }
    }
    if (WIFEXITED(status)) result.exit_code = WEXITSTATUS(status);
    if (WIFSIGNALED(status)) result.signal = WTERMSIG(status);
    result.out = ReadAll(out_fd);
    result.err = ReadAll(err_fd);
  }
  close(out_fd);
  close(err_fd);
  return result;
}

ProcessResult RunGo(const std::vector<std::string>& args) {
  std::string go_dir = std::string(HEAPWATCH_BINARY_DIR) + "/go";
  std::vector<std::string> env = {"GOCACHE=" + go_dir + "/cache", "GOPATH=" + go_dir + "/path", "GOPROXY=off",
                                  "GOTOOLCHAIN=local", "GOFLAGS="};
  if (std::getenv("HOME") == nullptr) env.push_back("HOME=" + go_dir + "/home");
  std::vector<std::string> argv = {"go"};
  argv.insert(argv.end(), args.begin(), args.end());
  return RunProcess(argv, env);
}

std::string FreshTestDir(const std::string& name) {
  std::filesystem::path dir =
      std::filesystem::path(HEAPWATCH_BINARY_DIR) / "test-tmp" / (name + "." + std::to_string(getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir.string();
}

}  // namespace heapwatch::testing
