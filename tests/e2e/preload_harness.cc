#include "tests/e2e/preload_harness.h"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

extern char** environ;

namespace heapwatch::testing {

std::string PreloadLibrary() { return std::string(HEAPWATCH_BINARY_DIR) + "/lib/libheapwatch.so"; }
std::string TestProgram(const std::string& name) {
  return std::string(HEAPWATCH_BINARY_DIR) + "/tests/programs/" + name;
}
std::string HeapwatchCommand() { return std::string(HEAPWATCH_BINARY_DIR) + "/bin/heapwatch"; }

std::string MakeTempDir(const std::string& tag) {
  static std::atomic<int> counter{0};
  const ::testing::TestInfo* info = ::testing::UnitTest::GetInstance()->current_test_info();
  std::string name = info != nullptr ? std::string(info->test_suite_name()) + "." + info->name() : "test";
  std::replace(name.begin(), name.end(), '/', '_');
  std::string root = std::string(HEAPWATCH_BINARY_DIR) + "/test-output";
  mkdir(root.c_str(), 0755);
  std::string dir = root + "/" + name + "." + tag + "." + std::to_string(getpid()) + "." +
                    std::to_string(counter.fetch_add(1));
  std::string command = "rm -rf '" + dir + "'";
  if (system(command.c_str()) != 0) ADD_FAILURE() << command;
  mkdir(dir.c_str(), 0755);
  return dir;
}

RunResult RunProgram(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env,
              int timeout_seconds, const std::string& cwd) {
  RunResult result;
  int out_pipe[2], err_pipe[2];
  if (pipe2(out_pipe, O_CLOEXEC) != 0 || pipe2(err_pipe, O_CLOEXEC) != 0) {
    ADD_FAILURE() << "pipe: " << strerror(errno);
    return result;
  }
  // Build the environment before forking (the child must not allocate much).
  std::map<std::string, std::string> merged;
  for (char** e = environ; *e != nullptr; ++e) {
    const char* eq = strchr(*e, '=');
    if (eq != nullptr) merged[std::string(*e, eq - *e)] = eq + 1;
  }
  for (const auto& [key, value] : env) merged[key] = value;
  std::vector<std::string> env_strings;
  for (const auto& [key, value] : merged) env_strings.push_back(key + "=" + value);
  std::vector<char*> envp, args;
  for (std::string& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::vector<std::string> argv_copy = argv;
  for (std::string& s : argv_copy) args.push_back(s.data());
  args.push_back(nullptr);

  pid_t pid = fork();
  if (pid == 0) {
    int null_fd = open("/dev/null", O_RDONLY);
    dup2(null_fd, 0);
    dup2(out_pipe[1], 1);
    dup2(err_pipe[1], 2);
    // Its own process group, so a timeout can kill whatever it started.
    setpgid(0, 0);
    if (!cwd.empty() && chdir(cwd.c_str()) != 0) _exit(126);
    execve(args[0], args.data(), envp.data());
    _exit(127);
  }
  close(out_pipe[1]);
  close(err_pipe[1]);
  timespec start;
  clock_gettime(CLOCK_MONOTONIC, &start);
  pollfd fds[2] = {{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0}};
  std::string* sinks[2] = {&result.out, &result.err};
  int open_fds = 2;
  while (open_fds > 0) {
    timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    if (now.tv_sec - start.tv_sec > timeout_seconds) {
      result.timed_out = true;
      kill(-pid, SIGKILL);
      kill(pid, SIGKILL);
      break;
    }
    if (poll(fds, 2, 200) < 0 && errno != EINTR) break;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP))) continue;
      char buffer[65536];
      ssize_t n = read(fds[i].fd, buffer, sizeof(buffer));
      if (n > 0) {
        sinks[i]->append(buffer, n);
      } else {
        close(fds[i].fd);
        fds[i].fd = -1;
        --open_fds;
      }
    }
  }
  for (pollfd& fd : fds) {
    if (fd.fd >= 0) close(fd.fd);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  if (WIFEXITED(status)) result.exit_code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) result.signal = WTERMSIG(status);
  return result;
}

RunResult RunUnderPreload(const std::vector<std::string>& argv, const std::string& out_dir,
                          std::map<std::string, std::string> env, int timeout_seconds) {
  env["LD_PRELOAD"] = PreloadLibrary();
  env["HEAPWATCH_OUT"] = out_dir;
  if (!env.count("HEAPWATCH_INTERVAL")) env["HEAPWATCH_INTERVAL"] = "0";
  return RunProgram(argv, env, timeout_seconds);
}

perftools::profiles::Profile ReadProfile(const std::string& path) {
  perftools::profiles::Profile profile;
  gzFile file = gzopen(path.c_str(), "rb");  // reads plain files too
  if (file == nullptr) {
    ADD_FAILURE() << "cannot open " << path;
    return profile;
  }
  std::string data;
  char buffer[65536];
  int n;
  while ((n = gzread(file, buffer, sizeof(buffer))) > 0) data.append(buffer, n);
  int error = 0;
  const char* message = gzerror(file, &error);
  gzclose(file);
  if (n < 0 || error < 0) {
    ADD_FAILURE() << path << ": " << message;
    return profile;
  }
  if (!profile.ParseFromString(data)) ADD_FAILURE() << path << ": not a valid profile.proto message";
  return profile;
}

std::vector<std::string> ProfileFiles(const std::string& dir, pid_t pid) {
  std::vector<std::string> files;
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) return files;
  std::string prefix = pid < 0 ? "heap." : "heap." + std::to_string(pid) + ".";
  while (dirent* entry = readdir(d)) {
    std::string name = entry->d_name;
    if (name.rfind(prefix, 0) == 0 && name.size() > 6 && name.compare(name.size() - 6, 6, ".pb.gz") == 0) {
      files.push_back(dir + "/" + name);
    }
  }
  closedir(d);
  std::sort(files.begin(), files.end());
  return files;
}

std::string ExitProfilePath(const std::string& dir, pid_t pid) {
  return dir + "/heap." + std::to_string(pid) + ".exit.pb.gz";
}

namespace {

const std::string& StringAt(const perftools::profiles::Profile& profile, int64_t index) {
  static const std::string kInvalid = "<invalid string index>";
  return index >= 0 && index < profile.string_table_size() ? profile.string_table(index) : kInvalid;
}

std::string LocationFunctionName(const perftools::profiles::Profile& profile, uint64_t location_id) {
  for (const auto& location : profile.location()) {
    if (location.id() != location_id) continue;
    if (location.line_size() == 0) return "";
    uint64_t function_id = location.line(0).function_id();
    for (const auto& function : profile.function()) {
      if (function.id() == function_id) return StringAt(profile, function.name());
    }
    return "";
  }
  return "<missing location>";
}

int SampleTypeIndex(const perftools::profiles::Profile& profile, const std::string& type) {
  for (int i = 0; i < profile.sample_type_size(); ++i) {
    if (StringAt(profile, profile.sample_type(i).type()) == type) return i;
  }
  ADD_FAILURE() << "no sample type " << type;
  return 0;
}

}  // namespace

std::vector<std::string> FrameNames(const perftools::profiles::Profile& profile,
                                    const perftools::profiles::Sample& sample) {
  std::vector<std::string> names;
  for (uint64_t id : sample.location_id()) names.push_back(LocationFunctionName(profile, id));
  return names;
}

HeapTotals TotalsAtLeaf(const perftools::profiles::Profile& profile, const std::string& name) {
  int alloc_objects = SampleTypeIndex(profile, "alloc_objects"), alloc_space = SampleTypeIndex(profile, "alloc_space");
  int inuse_objects = SampleTypeIndex(profile, "inuse_objects"), inuse_space = SampleTypeIndex(profile, "inuse_space");
  HeapTotals totals;
  for (const auto& sample : profile.sample()) {
    if (sample.location_id_size() == 0 || LocationFunctionName(profile, sample.location_id(0)) != name) continue;
    totals.alloc_objects += sample.value(alloc_objects);
    totals.alloc_space += sample.value(alloc_space);
    totals.inuse_objects += sample.value(inuse_objects);
    totals.inuse_space += sample.value(inuse_space);
  }
  return totals;
}

std::string CommentValue(const perftools::profiles::Profile& profile, const std::string& key) {
  for (int64_t index : profile.comment()) {
    const std::string& comment = StringAt(profile, index);
    // Comments hold "key=value" pairs separated by spaces.
    std::istringstream words(comment);
    std::string word;
    while (words >> word) {
      if (word.rfind(key + "=", 0) == 0) return word.substr(key.size() + 1);
    }
  }
  return "";
}

std::vector<pid_t> ChildPids(const std::string& output) {
  std::vector<pid_t> pids;
  std::istringstream lines(output);
  std::string word;
  while (lines >> word) {
    if (word == "child" && lines >> word) pids.push_back(static_cast<pid_t>(std::stol(word)));
  }
  return pids;
}

}  // namespace heapwatch::testing
