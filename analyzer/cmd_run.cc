// heapwatch run: runs a program with libheapwatch.so preloaded.
//
// It finds the library next to itself (../lib/libheapwatch.so, also after
// `cmake --install`), sets the HEAPWATCH_* environment from its options,
// starts the program, passes on the signals sent to it, and exits with the
// program's status (128 + N when the program was killed by signal N).

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "analyzer/commands.h"
#include "analyzer/preload_library.h"

namespace heapwatch {
namespace {

constexpr char kUsage[] =
    "usage: heapwatch run [options] -- PROGRAM [ARGS...]\n"
    "\n"
    "Runs PROGRAM with the heapwatch profiler preloaded. Heap profiles land in\n"
    "the output directory as heap.<pid>.<seq>.pb.gz every INTERVAL seconds and\n"
    "heap.<pid>.exit.pb.gz at exit; open them with `go tool pprof`.\n"
    "\n"
    "options:\n"
    "  --out DIR          output directory (default ./heapwatch-profiles)\n"
    "  --interval SECS    seconds between periodic profiles, decimal; 0 = exit only (default 10)\n"
    "  --rate BYTES       mean bytes between samples; 1 records every allocation (default 524288)\n"
    "  --depth N          stack frames kept per sample (default 64)\n"
    "  --no-children      do not profile programs that PROGRAM executes\n"
    "  -h, --help         this help\n"
    "\n"
    "The exit status is PROGRAM's (128 + N if it was killed by signal N);\n"
    "2 when heapwatch itself could not run it.\n";

pid_t g_child = 0;

// Passes on signals that were sent to us by a process (kill, a supervisor).
// Signals the terminal sends reach the program directly (it shares our
// process group), so forwarding those would deliver them twice.
void ForwardSignal(int signal, siginfo_t* info, void*) {
  if (g_child <= 0) return;
  if (info != nullptr && info->si_code != SI_USER && info->si_code != SI_QUEUE) return;
  kill(g_child, signal);
}

void InstallForwarding() {
  struct sigaction action = {};
  action.sa_sigaction = ForwardSignal;
  action.sa_flags = SA_SIGINFO | SA_RESTART;
  sigemptyset(&action.sa_mask);
  for (int signal : {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGALRM, SIGWINCH, SIGCONT}) {
    sigaction(signal, &action, nullptr);
  }
}

// Where exec would find `program` (PATH search for names without a slash).
std::string ResolveProgram(const std::string& program) {
  if (program.find('/') != std::string::npos) return program;
  const char* path = getenv("PATH");
  std::string dirs = path != nullptr ? path : "/usr/local/bin:/usr/bin:/bin";
  size_t start = 0;
  while (start <= dirs.size()) {
    size_t end = dirs.find(':', start);
    if (end == std::string::npos) end = dirs.size();
    std::string dir = dirs.substr(start, end - start);
    std::string candidate = (dir.empty() ? "." : dir) + "/" + program;
    if (access(candidate.c_str(), X_OK) == 0) return candidate;
    start = end + 1;
  }
  return "";
}

// True for an ELF executable with no program interpreter: a static binary,
// which ignores LD_PRELOAD. Scripts and unreadable files count as not static.
bool IsStaticExecutable(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  Elf64_Ehdr header;
  bool is_static = false;
  if (pread(fd, &header, sizeof(header), 0) == sizeof(header) && memcmp(header.e_ident, ELFMAG, SELFMAG) == 0 &&
      header.e_ident[EI_CLASS] == ELFCLASS64 && header.e_phentsize == sizeof(Elf64_Phdr)) {
    is_static = true;
    for (int i = 0; i < header.e_phnum; ++i) {
      Elf64_Phdr phdr;
      if (pread(fd, &phdr, sizeof(phdr), static_cast<off_t>(header.e_phoff + i * sizeof(phdr))) != sizeof(phdr)) {
        is_static = false;
        break;
      }
      if (phdr.p_type == PT_INTERP) {
        is_static = false;
        break;
      }
    }
  }
  close(fd);
  return is_static;
}

}  // namespace

int RunCommand(int argc, char** argv) {
  static const option kOptions[] = {
      {"out", required_argument, nullptr, 'o'},   {"interval", required_argument, nullptr, 'i'},
      {"rate", required_argument, nullptr, 'r'},  {"depth", required_argument, nullptr, 'd'},
      {"no-children", no_argument, nullptr, 'c'}, {"help", no_argument, nullptr, 'h'},
      {nullptr, 0, nullptr, 0}};
  std::string out = "heapwatch-profiles", interval, rate, depth;
  bool children = true;
  optind = 1;
  int c;
  // "+": stop at the first non-option, the program.
  while ((c = getopt_long(argc, argv, "+h", kOptions, nullptr)) != -1) {
    switch (c) {
      case 'o': out = optarg; break;
      case 'i': interval = optarg; break;
      case 'r': rate = optarg; break;
      case 'd': depth = optarg; break;
      case 'c': children = false; break;
      case 'h': std::fputs(kUsage, stdout); return 0;
      default: std::fputs(kUsage, stderr); return 2;
    }
  }
  if (optind >= argc) {
    std::fprintf(stderr, "heapwatch run: no program given\n\n%s", kUsage);
    return 2;
  }
  std::vector<char*> program_argv(argv + optind, argv + argc);
  program_argv.push_back(nullptr);

  std::string library = FindPreloadLibrary();
  if (library.empty()) {
    std::fprintf(stderr, "heapwatch run: cannot find libheapwatch.so (looked in %s)\n",
                 PreloadLibrarySearchPath().c_str());
    return 2;
  }
  std::string program = ResolveProgram(program_argv[0]);
  if (program.empty()) {
    std::fprintf(stderr, "heapwatch run: %s: command not found\n", program_argv[0]);
    return 127;
  }
  if (IsStaticExecutable(program)) {
    std::fprintf(stderr,
                 "heapwatch run: %s is statically linked: LD_PRELOAD cannot reach it, so heapwatch cannot "
                 "profile it (no profiles will be written). Build it dynamically linked to profile it.\n",
                 program.c_str());
  }

  std::string preload = library;
  if (const char* existing = getenv("LD_PRELOAD"); existing != nullptr && *existing != '\0') {
    preload += ":" + std::string(existing);
  }
  setenv("LD_PRELOAD", preload.c_str(), 1);
  setenv("HEAPWATCH_OUT", out.c_str(), 1);
  if (!interval.empty()) setenv("HEAPWATCH_INTERVAL", interval.c_str(), 1);
  if (!rate.empty()) setenv("HEAPWATCH_RATE", rate.c_str(), 1);
  if (!depth.empty()) setenv("HEAPWATCH_DEPTH", depth.c_str(), 1);
  setenv("HEAPWATCH_CHILDREN", children ? "1" : "0", 1);

  InstallForwarding();
  g_child = fork();
  if (g_child < 0) {
    std::fprintf(stderr, "heapwatch run: fork: %s\n", std::strerror(errno));
    return 2;
  }
  if (g_child == 0) {
    execv(program.c_str(), program_argv.data());
    std::fprintf(stderr, "heapwatch run: cannot execute %s: %s\n", program.c_str(), std::strerror(errno));
    _exit(errno == ENOENT ? 127 : 126);
  }
  int status = 0;
  while (waitpid(g_child, &status, 0) < 0) {
    if (errno != EINTR) {
      std::fprintf(stderr, "heapwatch run: waitpid: %s\n", std::strerror(errno));
      return 2;
    }
  }
  if (WIFSIGNALED(status)) {
    std::fprintf(stderr, "heapwatch run: %s was killed by signal %d (%s)\n", program_argv[0], WTERMSIG(status),
                 strsignal(WTERMSIG(status)));
    return 128 + WTERMSIG(status);
  }
  return WEXITSTATUS(status);
}

}  // namespace heapwatch
