// heapwatch run: runs a program with libheapwatch.so preloaded, and more:
// the soak-test workflow in one command.
//
// It finds the library next to itself (../lib/libheapwatch.so, also after
// `cmake --install`), sets the HEAPWATCH_* environment from its options,
// starts the program and passes on the signals sent to it. While the program
// runs, each profile it writes is symbolized as it lands (outside the
// program). --duration stops a server gracefully; --check judges the run's
// profiles at the end. Then it says where the files are and how to look.
//
// Exit status: the program's own failure first (its status, or 128 + N when
// a signal N killed it, except the stop --duration asked for), then the
// leak verdict of --check (0 pass, 1 leak), 2 when heapwatch itself failed.

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "analyzer/cli_args.h"
#include "analyzer/commands.h"
#include "analyzer/preload_library.h"
#include "analyzer/profile_watcher.h"
#include "analyzer/quantities.h"

namespace heapwatch {
namespace {

constexpr char kUsage[] =
    "usage: heapwatch run [options] -- PROGRAM [ARGS...]\n"
    "\n"
    "Runs PROGRAM (and the programs it starts) with the heapwatch profiler\n"
    "preloaded. Heap profiles land in the output directory as\n"
    "heap.<pid>.<seq>.pb.gz every INTERVAL seconds and heap.<pid>.exit.pb.gz at\n"
    "exit, symbolized (file:line) as they land. At the end, run says where they\n"
    "are and how to open them with `go tool pprof`.\n"
    "\n"
    "profiling:\n"
    "  --out DIR          output directory (default ./heapwatch-profiles)\n"
    "  --interval SECS    seconds between periodic profiles, decimal; 0 = exit only (default 10)\n"
    "  --rate BYTES       mean bytes between samples; 1 records every allocation (default 524288)\n"
    "  --depth N          stack frames kept per sample (default 64)\n"
    "  --no-children      do not profile programs that PROGRAM executes\n"
    "  --no-symbolize     leave the profiles as the preload wrote them\n"
    "soak tests:\n"
    "  --duration SECS    stop PROGRAM after SECS (30, 2m, 1h): SIGTERM, then SIGKILL\n"
    "                     after the grace period\n"
    "  --grace SECS       time between SIGTERM and SIGKILL (default 10)\n"
    "  --check            when PROGRAM ends, judge this run's profiles with\n"
    "                     `heapwatch check` and exit 1 on a leak\n"
    "  check's options, passed on with --check (see `heapwatch check --help`):\n"
    "    --max-site-growth=SIZE --max-total-growth=SIZE --max-growth-rate=RATE\n"
    "    --warmup=N%|DURATION --suppressions=FILE --suppress=PATTERN --baseline=FILE\n"
    "    --format=FORMAT --json=FILE --junit=FILE --markdown=FILE --top=N\n"
    "  -v, --verbose      say more (symbolization warnings; check's long report)\n"
    "  -h, --help         this help\n"
    "\n"
    "Exit status: PROGRAM's own failure first (its status, or 128 + N when it\n"
    "was killed by signal N, unless --duration stopped it), then with --check\n"
    "the verdict (0 pass, 1 leak); 2 when heapwatch itself failed.\n";

pid_t g_child = 0;

// Passes on signals that were sent to us by a process (kill, a supervisor).
// Signals the terminal sends reach the program directly (it shares our
// process group), so forwarding those would deliver them twice.
void ForwardSignal(int signal, siginfo_t* info, void*) {
  if (g_child <= 0) return;
  if (info != nullptr && info->si_code != SI_USER && info->si_code != SI_QUEUE) return;
  kill(g_child, signal);
}

constexpr int kForwardedSignals[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGALRM, SIGWINCH, SIGCONT};
constexpr size_t kForwardedCount = sizeof(kForwardedSignals) / sizeof(kForwardedSignals[0]);
// What we inherited for each, handed back to the program (an ignored
// SIGHUP under nohup must stay ignored).
struct sigaction g_inherited[kForwardedCount];

// Installs the forwarding handlers with the forwarded signals blocked, and
// returns the mask to restore once the child's pid is known: a signal that
// arrives between fork() and then stays pending instead of being lost.
sigset_t InstallForwarding() {
  sigset_t forwarded, previous;
  sigemptyset(&forwarded);
  for (int signal : kForwardedSignals) sigaddset(&forwarded, signal);
  sigprocmask(SIG_BLOCK, &forwarded, &previous);
  struct sigaction action = {};
  action.sa_sigaction = ForwardSignal;
  action.sa_flags = SA_SIGINFO | SA_RESTART;
  sigemptyset(&action.sa_mask);
  for (size_t i = 0; i < kForwardedCount; ++i) sigaction(kForwardedSignals[i], &action, &g_inherited[i]);
  return previous;
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

namespace {

// Options handed to `heapwatch check` as they are.
enum : int {
  kOut = 1000, kInterval, kRate, kDepth, kNoChildren, kNoSymbolize, kDuration, kGrace, kCheck,
  kCheckOption,  // every option of check: its --name=value is passed on
};

constexpr const char* kCheckOptions[] = {"max-site-growth", "max-total-growth", "max-growth-rate", "warmup",
                                         "suppressions",    "suppress",         "baseline",        "format",
                                         "json",            "junit",            "markdown",        "top"};

double MonotonicSeconds() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

std::string ProcessOfFile(const std::string& path) {
  std::string name = path.substr(path.rfind('/') + 1);  // heap.<pid>.<...>
  return name.substr(5, name.find('.', 5) - 5);
}

// Where the files are and the pprof commands to look at them: the process
// with the most snapshots, its first periodic profile against its last.
void PrintNextSteps(const std::string& out, const std::vector<std::string>& files) {
  if (files.empty()) {
    std::fprintf(stderr, "heapwatch run: no profiles were written to %s\n", out.c_str());
    return;
  }
  std::map<std::string, std::vector<std::string>> periodic;
  std::map<std::string, std::string> exits;
  for (const std::string& file : files) {
    std::string pid = ProcessOfFile(file);
    if (file.ends_with(".exit.pb.gz")) {
      exits[pid] = file;
    } else {
      periodic[pid].push_back(file);
    }
  }
  std::string busiest;
  for (const auto& [pid, list] : periodic) {
    if (busiest.empty() || list.size() > periodic[busiest].size()) busiest = pid;
  }
  size_t processes = std::max(periodic.size(), exits.size());
  std::fprintf(stderr, "\nheapwatch run: %zu profile%s of %zu process%s in %s\n", files.size(),
               files.size() == 1 ? "" : "s", processes, processes == 1 ? "" : "es", out.c_str());
  if (!busiest.empty() && periodic[busiest].size() >= 2) {
    const std::vector<std::string>& list = periodic[busiest];
    std::fprintf(stderr, "  what grew (pid %s):  go tool pprof -top -base %s %s\n", busiest.c_str(),
                 list.front().c_str(), list.back().c_str());
    std::fprintf(stderr, "  in a browser:         go tool pprof -http=localhost:8080 -base %s %s\n",
                 list.front().c_str(), list.back().c_str());
  } else if (!files.empty()) {
    std::fprintf(stderr, "  in use:               go tool pprof -top %s\n", files.back().c_str());
  }
  std::fprintf(stderr, "  call sites over time: heapwatch trend %s\n", out.c_str());
}

}  // namespace

int RunCommand(int argc, char** argv) {
  std::vector<option> options = {
      {"out", required_argument, nullptr, kOut},
      {"interval", required_argument, nullptr, kInterval},
      {"rate", required_argument, nullptr, kRate},
      {"depth", required_argument, nullptr, kDepth},
      {"no-children", no_argument, nullptr, kNoChildren},
      {"no-symbolize", no_argument, nullptr, kNoSymbolize},
      {"duration", required_argument, nullptr, kDuration},
      {"grace", required_argument, nullptr, kGrace},
      {"check", no_argument, nullptr, kCheck},
      {"verbose", no_argument, nullptr, 'v'},
      {"help", no_argument, nullptr, 'h'},
  };
  for (const char* name : kCheckOptions) options.push_back({name, required_argument, nullptr, kCheckOption});
  options.push_back({nullptr, 0, nullptr, 0});

  std::string out = "heapwatch-profiles", interval, rate, depth;
  bool children = true, symbolize = true, check = false, verbose = false;
  std::optional<double> duration;
  double grace = 10;
  std::vector<std::string> check_arguments;
  optind = 1;
  int c, index = 0;
  // "+": stop at the first non-option, the program.
  while ((c = getopt_long(argc, argv, "+hv", options.data(), &index)) != -1) {
    switch (c) {
      case kOut: out = optarg; break;
      case kInterval: interval = optarg; break;
      case kRate: rate = optarg; break;
      case kDepth: depth = optarg; break;
      case kNoChildren: children = false; break;
      case kNoSymbolize: symbolize = false; break;
      case kCheck: check = true; break;
      case kCheckOption: check_arguments.push_back(std::string("--") + options[index].name + "=" + optarg); break;
      case kDuration:
      case kGrace: {
        std::optional<double> seconds = ParseSeconds(optarg);
        if (!seconds || *seconds <= 0) {
          return Fail("run", std::string("--") + (c == kDuration ? "duration" : "grace") +
                                 ": not a duration: '" + optarg + "' (e.g. 30, 90s, 2m)");
        }
        if (c == kDuration) {
          duration = *seconds;
        } else {
          grace = *seconds;
        }
        break;
      }
      case 'v': verbose = true; break;
      case 'h': std::fputs(kUsage, stdout); return 0;
      default: std::fputs(kUsage, stderr); return 2;
    }
  }
  if (optind >= argc) {
    std::fprintf(stderr, "heapwatch run: no program given\n\n%s", kUsage);
    return 2;
  }
  if (!check && !check_arguments.empty()) {
    return Fail("run", check_arguments.front() + " is an option of the check: give --check too");
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
  bool is_static = IsStaticExecutable(program);
  if (is_static) {
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

  ProfileWatcher watcher(out, symbolize);
  sigset_t previous_mask = InstallForwarding();
  pid_t child = fork();
  if (child < 0) {
    std::fprintf(stderr, "heapwatch run: fork: %s\n", std::strerror(errno));
    return 2;
  }
  if (child == 0) {
    // The program gets the signal dispositions and mask we were given.
    for (size_t i = 0; i < kForwardedCount; ++i) sigaction(kForwardedSignals[i], &g_inherited[i], nullptr);
    sigprocmask(SIG_SETMASK, &previous_mask, nullptr);
    execv(program.c_str(), program_argv.data());
    std::fprintf(stderr, "heapwatch run: cannot execute %s: %s\n", program.c_str(), std::strerror(errno));
    _exit(errno == ENOENT ? 127 : 126);
  }
  g_child = child;
  sigprocmask(SIG_SETMASK, &previous_mask, nullptr);  // pending signals are forwarded now

  // Wait, symbolizing what lands, and stop the program when its time is up.
  const double start = MonotonicSeconds();
  std::optional<double> terminated_at;
  bool killed = false;
  int status = 0;
  for (;;) {
    pid_t done = waitpid(child, &status, WNOHANG);
    if (done == child) break;
    if (done < 0 && errno != EINTR) {
      std::fprintf(stderr, "heapwatch run: waitpid: %s\n", std::strerror(errno));
      return 2;
    }
    double now = MonotonicSeconds();
    if (duration && !terminated_at && now - start >= *duration) {
      std::fprintf(stderr, "heapwatch run: %s ran for %s: stopping it (SIGTERM)\n", program_argv[0],
                   FormatSeconds(*duration).c_str());
      kill(child, SIGTERM);
      terminated_at = now;
    }
    if (terminated_at && !killed && now - *terminated_at >= grace) {
      std::fprintf(stderr, "heapwatch run: %s did not stop within %s: SIGKILL\n", program_argv[0],
                   FormatSeconds(grace).c_str());
      kill(child, SIGKILL);
      killed = true;
    }
    watcher.Poll();
    usleep(100'000);
  }
  watcher.Poll();  // the exit profiles
  if (verbose) {
    for (const std::string& warning : watcher.warnings()) {
      std::fprintf(stderr, "heapwatch run: symbolize: %s\n", warning.c_str());
    }
  }

  // The program's own outcome. A stop we asked for is not a failure.
  int program_status = 0;
  if (WIFSIGNALED(status)) {
    int signal = WTERMSIG(status);
    bool asked = terminated_at && (signal == SIGTERM || (killed && signal == SIGKILL));
    if (!asked) {
      std::fprintf(stderr, "heapwatch run: %s was killed by signal %d (%s)\n", program_argv[0], signal,
                   strsignal(signal));
      program_status = 128 + signal;
    }
  } else {
    program_status = WEXITSTATUS(status);
    if (terminated_at && program_status == 128 + SIGTERM) program_status = 0;  // a shell's way to say it
  }

  int verdict = 0;
  if (check) {
    if (watcher.produced().empty()) {
      std::fprintf(stderr, "heapwatch run: --check: no profiles to judge%s\n",
                   is_static ? " (a static binary cannot be profiled)" : "");
      verdict = 2;
    } else {
      std::vector<std::string> arguments = {"check"};
      arguments.insert(arguments.end(), check_arguments.begin(), check_arguments.end());
      if (verbose) arguments.push_back("--verbose");
      arguments.insert(arguments.end(), watcher.produced().begin(), watcher.produced().end());
      std::vector<char*> check_argv;
      for (std::string& argument : arguments) check_argv.push_back(argument.data());
      check_argv.push_back(nullptr);
      std::fflush(stdout);
      verdict = CheckCommand(static_cast<int>(arguments.size()), check_argv.data());
    }
  }
  PrintNextSteps(out, watcher.produced());
  return program_status != 0 ? program_status : verdict;
}

}  // namespace heapwatch
