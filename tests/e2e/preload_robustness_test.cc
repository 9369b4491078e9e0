// The odd things real processes do, under the preload: signal handlers that
// allocate inside our code, every way of starting a child, 10,000 threads,
// allocation before our constructor, a failing write, dlopen racing the
// unwinder, and every way of ending.
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>

#include <gtest/gtest.h>

#include "tests/e2e/preload_harness.h"
#include "tests/unit/shell_and_files.h"

namespace heapwatch::testing {
namespace {

std::map<std::string, std::string> RateOne() { return {{"HEAPWATCH_RATE", "1"}}; }

perftools::profiles::Profile OnlyProfile(const std::string& dir) {
  std::vector<std::string> files = ProfileFiles(dir);
  EXPECT_EQ(files.size(), 1u);
  return files.empty() ? perftools::profiles::Profile() : ReadProfile(files[0]);
}

TEST(PreloadRobustnessTest, SignalHandlerThatAllocatesInsideOurCode) {
  std::string dir = MakeTempDir("out");
  ProcessResult r = RunUnderPreload({TestProgram("signal_alloc"), "2"}, dir, RateOne(), 60);
  ASSERT_FALSE(r.timed_out) << "deadlock between a signal handler and the profiler's locks";
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ASSERT_EQ(r.out.rfind("handled ", 0), 0u) << r.out;
  EXPECT_GT(std::stol(r.out.substr(8)), 100) << "the timer did not interrupt the program";
  perftools::profiles::Profile p = OnlyProfile(dir);
  // Millions of sampled frees, some of them deferred from handlers: not one
  // lost, or MainChurn would show blocks in use.
  EXPECT_EQ(TotalsAtLeaf(p, "MainChurn").inuse_objects, 0);
  EXPECT_GT(TotalsAtLeaf(p, "MainChurn").alloc_objects, 10000);
  // The handler keeps 8 blocks; those allocated while the thread was inside
  // our code are not sampled, so at most 8 show.
  EXPECT_LE(TotalsAtLeaf(p, "HandlerAllocate").inuse_objects, 8);
}

// Threads that ask glibc for their own stack, whose first (sampled)
// allocations happen inside that call: the stack walk must not ask the same.
TEST(PreloadRobustnessTest, ThreadsQueryingTheirOwnStack) {
  std::string dir = MakeTempDir("out");
  ProcessResult r = RunUnderPreload({TestProgram("stack_queries"), "8"}, dir, RateOne(), 60);
  ASSERT_FALSE(r.timed_out) << "deadlock in pthread_getattr_np";
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "done\n");
  perftools::profiles::Profile p = OnlyProfile(dir);
  EXPECT_EQ(TotalsAtLeaf(p, "AllocateAfterStackQuery").alloc_objects, 8 * 64);
}

// None of our allocations go through the program's allocator (not even
// glibc's, made for us: setenv, opendir, pthread_getattr_np), so its heap is
// laid out block for block as without us, and grows and shrinks as it
// would. At rate 1 every allocation is sampled; a short interval has
// periodic profiles written in the pauses, on the program's own thread.
TEST(PreloadRobustnessTest, TheProgramsHeapIsLaidOutAsWithoutUs) {
  ProcessResult plain = RunProgram({TestProgram("heap_layout")}, {});
  ASSERT_EQ(plain.exit_code, 0) << plain.err;
  // The default directory: we then export its absolute path for children.
  std::string cwd = MakeTempDir("cwd");
  ProcessResult r = RunProgram({TestProgram("heap_layout")},
                               {{"LD_PRELOAD", PreloadLibrary()}, {"HEAPWATCH_RATE", "1"}, {"HEAPWATCH_INTERVAL", "0.05"}},
                               60, cwd);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_GE(ProfileFiles(cwd + "/heapwatch-profiles").size(), 3u) << "periodic profiles were to be written";
  std::vector<std::string> expected = test_support::Lines(plain.out), seen = test_support::Lines(r.out);
  ASSERT_GT(expected.size(), 40000u);
  ASSERT_EQ(seen.size(), expected.size());
  for (size_t i = 0; i < expected.size(); ++i) {
    ASSERT_EQ(seen[i], expected[i]) << "line " << i + 1 << " of the program's report";
  }
}

TEST(PreloadRobustnessTest, ChildrenFromPosixSpawnVforkAndSystem) {
  for (const char* mode : {"posix_spawn", "vfork", "system"}) {
    std::string dir = MakeTempDir(mode);
    ProcessResult r = RunUnderPreload({TestProgram("spawn_children"), mode, TestProgram("alloc_sites")}, dir, RateOne());
    ASSERT_EQ(r.exit_code, 0) << mode << ": " << r.err;
    std::vector<pid_t> children = ChildPids(r.out);
    ASSERT_EQ(children.size(), 1u) << mode;
    // The child's own profile holds the child's allocations (for system()
    // the child is a shell's child, whose pid we do not know: find it).
    int with_child_sites = 0;
    for (const std::string& file : ProfileFiles(dir)) {
      perftools::profiles::Profile p = ReadProfile(file);
      if (TotalsAtLeaf(p, "KeepBlocks").inuse_objects == 40) {
        ++with_child_sites;
        if (children[0] != 0) {
          EXPECT_EQ(file, ExitProfilePath(dir, children[0])) << mode;
        }
      }
    }
    EXPECT_EQ(with_child_sites, 1) << mode;
  }
}

TEST(PreloadRobustnessTest, DoubleForkDaemonWritesItsOwnProfile) {
  std::string dir = MakeTempDir("out");
  ProcessResult r = RunUnderPreload({TestProgram("daemonize")}, dir, RateOne());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ASSERT_EQ(r.out.rfind("daemon ", 0), 0u) << r.out;
  pid_t daemon = std::stoi(r.out.substr(7));
  // The daemon outlives the program we ran: wait for its exit profile.
  std::string file = ExitProfilePath(dir, daemon);
  struct stat st;
  for (int i = 0; i < 200 && stat(file.c_str(), &st) != 0; ++i) usleep(25000);
  ASSERT_EQ(stat(file.c_str(), &st), 0) << "the daemon's exit profile never appeared";
  perftools::profiles::Profile p = ReadProfile(file);
  EXPECT_EQ(TotalsAtLeaf(p, "KeepInDaemon"), (HeapTotals{9, 9 * 3456, 9, 9 * 3456}));
  EXPECT_EQ(CommentValue(p, "pid"), std::to_string(daemon));
}

TEST(PreloadRobustnessTest, TenThousandShortLivedThreads) {
  std::string dir = MakeTempDir("out");
  ProcessResult r = RunUnderPreload({TestProgram("threads_churn"), "10000"}, dir, RateOne(), 120);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  perftools::profiles::Profile p = OnlyProfile(dir);
  ASSERT_EQ(CommentValue(p, "dropped_samples"), "0");
  EXPECT_EQ(TotalsAtLeaf(p, "ThreadBody"), (HeapTotals{10000, 10000 * 4321, 10000, 10000 * 4321}));
}

TEST(PreloadRobustnessTest, MemoryFromBeforeOurConstructor) {
  std::string dir = MakeTempDir("out");
  ProcessResult r = RunUnderPreload({TestProgram("early_alloc")}, dir, RateOne());
  ASSERT_EQ(r.exit_code, 0) << "freeing (and reallocating) blocks we never saw must work:\n" << r.err;
  perftools::profiles::Profile p = OnlyProfile(dir);
  EXPECT_EQ(TotalsAtLeaf(p, "KeepAfterStart"), (HeapTotals{10, 44440, 10, 44440}));
}

// A dlsym that allocates (tests/programs/allocating_dlsym.c), preloaded
// ahead of us: our lookup of the real allocator re-enters every hook while
// it resolves, which the bootstrap pool serves; its blocks are freed both
// then and at exit, when they must still not reach the real free. The
// program's own allocations are recorded as usual.
TEST(PreloadRobustnessTest, DlsymThatAllocatesWhileWeResolve) {
  std::string dir = MakeTempDir("out");
  std::string shim = std::string(HEAPWATCH_BINARY_DIR) + "/tests/programs/libheapwatch_allocating_dlsym.so";
  ProcessResult r = RunProgram({TestProgram("alloc_sites")}, {{"LD_PRELOAD", shim + ":" + PreloadLibrary()},
                                                               {"HEAPWATCH_OUT", dir},
                                                               {"HEAPWATCH_INTERVAL", "0"},
                                                               {"HEAPWATCH_RATE", "1"}});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  int calls = 0;
  ASSERT_EQ(std::sscanf(r.err.substr(r.err.find("allocating dlsym: ")).c_str(), "allocating dlsym: %d calls", &calls), 1)
      << r.err;
  EXPECT_GE(calls, 10) << "our resolution looks up ten functions through dlsym";
  perftools::profiles::Profile p = OnlyProfile(dir);
  EXPECT_EQ(TotalsAtLeaf(p, "KeepBlocks"), (HeapTotals{40, 40 * 3000, 40, 40 * 3000}));
  EXPECT_EQ(TotalsAtLeaf(p, "AllocateAround"), HeapTotals{}) << "the bootstrap pool's blocks are not samples";
}

TEST(PreloadRobustnessTest, FailedWriteDoesNotHurtTheProgram) {
  // The program limits its own file size below any profile: our write fails.
  // A write past the limit would raise SIGXFSZ and kill it. Its stderr goes
  // through a pipe: the limit would cut a message written to a file.
  std::string dir = MakeTempDir("out");
  std::string command = "LD_PRELOAD='" + PreloadLibrary() + "' HEAPWATCH_OUT='" + dir +
                        "' HEAPWATCH_RATE=1 '" + TestProgram("fsize_limit") + "' 2>&1; echo \"status $?\"";
  ProcessResult piped = RunProgram({"/bin/sh", "-c", "(" + command + ") | cat"}, {{"LD_PRELOAD", ""}});
  ASSERT_EQ(piped.exit_code, 0) << piped.err;
  const std::string& r = piped.out;
  EXPECT_NE(r.find("finished\n"), std::string::npos) << r;
  EXPECT_NE(r.find("status 0\n"), std::string::npos) << "killed or failed:\n" << r;
  EXPECT_NE(r.find("cannot write"), std::string::npos) << r;
  EXPECT_NE(r.find("File too large"), std::string::npos) << r;
  EXPECT_EQ(std::count(r.begin(), r.end(), '\n'), 3) << "one line from us, one from the program, the status:\n" << r;
  EXPECT_TRUE(ProfileFiles(dir).empty());
  ProcessResult ls = RunProgram({"/bin/ls", "-A", dir}, {});
  EXPECT_EQ(ls.out, "") << "no temporary file may be left behind";
}

TEST(PreloadRobustnessTest, DlopenAndDlcloseRacingSampledAllocations) {
  std::string dir = MakeTempDir("out");
  ProcessResult r = RunUnderPreload(
      {TestProgram("dlopen_race"), std::string(HEAPWATCH_BINARY_DIR) + "/tests/programs/libheapwatch_test_plugin.so"},
      dir, RateOne(), 60);
  ASSERT_FALSE(r.timed_out) << "deadlock between the loader and the profiler";
  EXPECT_EQ(r.exit_code, 0) << r.err;
  perftools::profiles::Profile p = OnlyProfile(dir);
  EXPECT_GT(TotalsAtLeaf(p, "PluginKeep").alloc_objects, 0) << "frames in a library unloaded since are named";
}

TEST(PreloadRobustnessTest, EveryWayOfEnding) {
  struct Case {
    const char* mode;
    int exit_code;  // -1: killed
    int signal;
    bool exit_profile;
  } cases[] = {
      {"quick_exit", 0, 0, false}, {"abort", -1, SIGABRT, false},   {"exception", -1, SIGABRT, false},
      {"sigterm", -1, SIGTERM, false}, {"sigkill", -1, SIGKILL, false},
  };
  for (const Case& c : cases) {
    std::string dir = MakeTempDir(c.mode);
    // Long enough for periodic profiles on a loaded machine.
    ProcessResult r = RunUnderPreload({TestProgram("exit_paths"), c.mode, "1500"}, dir,
                                  {{"HEAPWATCH_RATE", "1"}, {"HEAPWATCH_INTERVAL", "0.2"}});
    EXPECT_EQ(r.exit_code, c.exit_code) << c.mode;
    EXPECT_EQ(r.signal, c.signal) << c.mode;
    std::vector<std::string> files = ProfileFiles(dir);
    EXPECT_GE(files.size(), 1u) << c.mode << ": the periodic profiles stay";
    bool has_exit = false;
    for (const std::string& file : files) {
      has_exit |= file.find(".exit.") != std::string::npos;
      // The latest snapshot on disk is complete whatever killed the process.
      EXPECT_EQ(TotalsAtLeaf(ReadProfile(file), "KeepAtExit").inuse_space, 3 * 5555) << c.mode << " " << file;
    }
    EXPECT_EQ(has_exit, c.exit_profile) << c.mode;
    ProcessResult ls = RunProgram({"/bin/sh", "-c", "ls -A '" + dir + "' | grep -c '^\\.' || true"}, {});
    EXPECT_EQ(ls.out, "0\n") << c.mode << ": a temporary file was left behind";
  }
}

// A thread of ours is visible: glibc aborts setresgid() when threads
// disagree (setpriv drops its own thread's capabilities first), and
// unshare(CLONE_NEWUSER) refuses a multi-threaded process. The collector
// thread starts only when needed, so short-lived tools never see it.
TEST(PreloadRobustnessTest, ShortLivedProgramsStaySingleThreaded) {
  std::string dir = MakeTempDir("out");
  ProcessResult status = RunUnderPreload({"/bin/cat", "/proc/self/status"}, dir, {});
  ASSERT_EQ(status.exit_code, 0) << status.err;
  EXPECT_NE(status.out.find("\nThreads:\t1\n"), std::string::npos) << status.out;
  if (geteuid() == 0 && access("/usr/bin/setpriv", X_OK) == 0) {
    ProcessResult setpriv = RunUnderPreload(
        {"/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "/bin/true"}, dir, {});
    EXPECT_EQ(setpriv.signal, 0) << "setpriv aborted: " << setpriv.err;
    EXPECT_EQ(setpriv.exit_code, 0) << setpriv.err;
  }
  ProcessResult plain_unshare = RunProgram({"/usr/bin/unshare", "-U", "/bin/true"}, {{"LD_PRELOAD", ""}});
  if (plain_unshare.exit_code == 0) {  // user namespaces are allowed here
    ProcessResult unshare = RunUnderPreload({"/usr/bin/unshare", "-U", "/bin/true"}, dir, {});
    EXPECT_EQ(unshare.exit_code, 0) << unshare.err;
  }
}

// A single-threaded program keeps its single thread however long it runs:
// the profiler's periodic work is done on the program's own thread, because
// a second thread alone switches glibc's malloc to its slower, locked paths.
// A program with threads of its own gets the collector thread.
TEST(PreloadRobustnessTest, TheCollectorThreadStartsOnlyBesideTheProgramsOwn) {
  struct Case {
    const char* mode;
    const char* expected_out;
  };
  for (const Case& c : {Case{"single", "threads=1 heapwatch=0\n"}, Case{"threaded", "threads=3 heapwatch=1\n"}}) {
    std::string dir = MakeTempDir("out");
    ProcessResult r = RunUnderPreload({TestProgram("collector_threads"), c.mode, "1200"}, dir,
                                      {{"HEAPWATCH_RATE", "4096"}, {"HEAPWATCH_INTERVAL", "0.2"}});
    ASSERT_EQ(r.exit_code, 0) << c.mode << ": " << r.err;
    EXPECT_EQ(r.out, c.expected_out) << c.mode;
    // Either way the periodic profiles come, numbered, with what was sampled.
    std::vector<std::string> files = ProfileFiles(dir);
    int periodic = 0;
    for (const std::string& file : files) {
      if (file.find(".exit.") != std::string::npos) continue;
      ++periodic;
      perftools::profiles::Profile p = ReadProfile(file);
      EXPECT_EQ(CommentValue(p, "kind"), "periodic") << file;
      EXPECT_GT(p.sample_size(), 0) << file;
    }
    EXPECT_GE(periodic, 3) << c.mode << ": 1.2 s at one profile every 0.2 s";
  }
}

// When our thread cannot be created (here: RLIMIT_NPROC), the program's
// threads do its work as they allocate: the periodic profiles still come.
TEST(PreloadRobustnessTest, WithoutACollectorThreadTheAllocatingThreadsWriteTheProfiles) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to become nobody with RLIMIT_NPROC 1";
  std::string dir = MakeTempDir("out");
  ASSERT_EQ(chmod(dir.c_str(), 0777), 0);
  ProcessResult r = RunUnderPreload({TestProgram("collector_threads"), "no-more-threads", "1200"}, dir,
                                    {{"HEAPWATCH_RATE", "4096"}, {"HEAPWATCH_INTERVAL", "0.2"}});
  if (r.exit_code == 4) GTEST_SKIP() << r.err;
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "threads=2 heapwatch=0\n");
  EXPECT_NE(r.err.find("cannot start the collector thread"), std::string::npos) << r.err;
  int periodic = 0;
  for (const std::string& file : ProfileFiles(dir)) {
    if (file.find(".exit.") != std::string::npos) continue;
    ++periodic;
    EXPECT_GT(ReadProfile(file).sample_size(), 0) << file;
  }
  EXPECT_GE(periodic, 3) << "1.2 s at one profile every 0.2 s";
}

// A single-threaded program's thread does the collector's work inside its
// malloc, holding our locks; a signal handler that forks meanwhile (fork is
// async-signal-safe) would find them held. The work runs with signals
// blocked, so the handler waits until it is done.
TEST(PreloadRobustnessTest, SignalHandlerThatForksWhileTheProgramDoesOurWork) {
  std::string dir = MakeTempDir("out");
  ProcessResult r = RunUnderPreload({TestProgram("fork_in_handler"), "1500"}, dir,
                                    {{"HEAPWATCH_RATE", "1"}, {"HEAPWATCH_INTERVAL", "0.05"}}, 60);
  ASSERT_FALSE(r.timed_out) << "deadlock: a handler forked while the program held the profiler's locks";
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ASSERT_EQ(r.out.rfind("forks ", 0), 0u) << r.out;
  EXPECT_GT(std::stol(r.out.substr(6)), 100) << "the timer did not interrupt the program";
  EXPECT_GE(ProfileFiles(dir).size(), 10u) << "periodic profiles every 50 ms, and the exit profile";
}

// The collector's work done inside a program's malloc (resolving and
// demangling names, writing profiles) runs on a stack of our own: here the
// program allocates on a 64 KiB coroutine stack in a function whose name
// takes hundreds of KiB of stack to demangle.
TEST(PreloadRobustnessTest, OurWorkInsideMallocDoesNotUseTheProgramsStack) {
  std::string dir = MakeTempDir("out");
  ProcessResult r = RunUnderPreload({TestProgram("small_stack"), "400", "64"}, dir,
                                    {{"HEAPWATCH_RATE", "1"}, {"HEAPWATCH_INTERVAL", "0.05"}});
  ASSERT_EQ(r.signal, 0) << "the program crashed: " << r.err;
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "done\n");
  std::vector<std::string> files = ProfileFiles(dir);
  ASSERT_GE(files.size(), 3u) << "periodic profiles every 50 ms, and the exit profile";
  perftools::profiles::Profile p = ReadProfile(files.back());
  EXPECT_GT(TotalsAtLeaf(p, "AllocateWithADeepName").alloc_objects, 1000);
}

TEST(PreloadRobustnessTest, SetuidProgramsAreLeftAlone) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to make a setuid binary";
  if (access("/usr/bin/setpriv", X_OK) != 0) GTEST_SKIP() << "needs setpriv (util-linux)";
  std::string work = MakeTempDir("setuid");
  chmod(work.c_str(), 0755);
  std::string binary = work + "/alloc_sites";
  ASSERT_EQ(RunProgram({"/bin/cp", TestProgram("alloc_sites"), binary}, {}).exit_code, 0);
  ASSERT_EQ(chmod(binary.c_str(), 04755), 0);
  std::string out = work + "/out";
  mkdir(out.c_str(), 0777);
  chmod(out.c_str(), 0777);
  ProcessResult r = RunProgram({"/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", binary},
                           {{"LD_PRELOAD", PreloadLibrary()}, {"HEAPWATCH_OUT", out}});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(ProfileFiles(out).empty()) << "a setuid program must not write our files";
}

}  // namespace
}  // namespace heapwatch::testing
