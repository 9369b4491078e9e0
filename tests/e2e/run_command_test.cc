// heapwatch run: finds the preload next to itself, passes settings on,
// forwards signals and exits with the program's status.
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "tests/e2e/preload_harness.h"

namespace heapwatch::testing {
namespace {

TEST(RunCommandTest, ProfilesTheProgramWithTheGivenSettings) {
  std::string out = MakeTempDir("out");
  ProcessResult r = RunProgram({HeapwatchCommand(), "run", "--out", out, "--rate", "1", "--interval", "0", "--",
                            TestProgram("alloc_sites")},
                           {});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::vector<std::string> files = ProfileFiles(out);
  ASSERT_EQ(files.size(), 1u);
  perftools::profiles::Profile p = ReadProfile(files[0]);
  EXPECT_EQ(p.period(), 1);
  EXPECT_EQ(TotalsAtLeaf(p, "KeepBlocks").inuse_objects, 40);
}

TEST(RunCommandTest, ExitStatusIsTheProgramsOwn) {
  std::string out = MakeTempDir("out");
  EXPECT_EQ(RunProgram({HeapwatchCommand(), "run", "--out", out, "--", "/bin/sh", "-c", "exit 7"}, {}).exit_code, 7);
  ProcessResult killed = RunProgram({HeapwatchCommand(), "run", "--out", out, "--", "/bin/sh", "-c", "kill -USR1 $$"}, {});
  EXPECT_EQ(killed.exit_code, 128 + SIGUSR1);
  EXPECT_NE(killed.err.find("killed by signal"), std::string::npos) << killed.err;
  ProcessResult missing = RunProgram({HeapwatchCommand(), "run", "--out", out, "--", "no-such-program-here"}, {});
  EXPECT_EQ(missing.exit_code, 127);
  EXPECT_NE(missing.err.find("not found"), std::string::npos);
  EXPECT_EQ(RunProgram({HeapwatchCommand(), "run"}, {}).exit_code, 2) << "no program is a usage error";
  EXPECT_EQ(RunProgram({HeapwatchCommand(), "run", "--bogus", "--", "/bin/true"}, {}).exit_code, 2);
}

TEST(RunCommandTest, ForwardsSignalsSentToIt) {
  std::string out = MakeTempDir("out");
  // The program waits for SIGTERM and exits 42 when it arrives; we send
  // SIGTERM to heapwatch itself, which must pass it on.
  std::string script =
      "trap 'exit 42' TERM; echo ready > '" + out + "/ready'; while true; do sleep 0.05; done";
  pid_t pid = fork();
  if (pid == 0) {
    execl(HeapwatchCommand().c_str(), "heapwatch", "run", "--out", out.c_str(), "--", "/bin/sh", "-c",
          script.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  struct stat st;
  for (int i = 0; i < 200 && stat((out + "/ready").c_str(), &st) != 0; ++i) usleep(20000);
  ASSERT_EQ(stat((out + "/ready").c_str(), &st), 0) << "the program never started";
  kill(pid, SIGTERM);
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 42);
}

TEST(RunCommandTest, FindsTheLibraryAfterCmakeInstall) {
  std::string prefix = MakeTempDir("prefix");
  ProcessResult install =
      RunProgram({"/usr/bin/cmake", "--install", HEAPWATCH_BINARY_DIR, "--prefix", prefix}, {}, 120);
  ASSERT_EQ(install.exit_code, 0) << install.out << install.err;
  std::string installed = prefix + "/bin/heapwatch";
  std::string out = MakeTempDir("out");
  ProcessResult r = RunProgram({installed, "run", "--out", out, "--rate", "1", "--", TestProgram("alloc_sites")}, {});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ASSERT_EQ(ProfileFiles(out).size(), 1u);
  // And it used the installed copy, not the build tree's.
  ProcessResult missing_library = RunProgram({"/bin/sh", "-c", "rm " + prefix + "/lib*/libheapwatch.so " + prefix +
                                                                "/lib/*/libheapwatch.so 2>/dev/null; " + installed +
                                                                " run -- /bin/true"},
                                         {});
  EXPECT_EQ(missing_library.exit_code, 2);
  EXPECT_NE(missing_library.err.find("cannot find libheapwatch.so"), std::string::npos) << missing_library.err;
}

TEST(RunCommandTest, SaysSoForAStaticBinary) {
  std::string work = MakeTempDir("work");
  std::string source = work + "/static.c", binary = work + "/static";
  ASSERT_EQ(RunProgram({"/bin/sh", "-c", "printf 'int main(void){return 0;}' > " + source}, {}).exit_code, 0);
  ProcessResult cc = RunProgram({"/usr/bin/gcc", "-static", "-o", binary, source}, {}, 120);
  if (cc.exit_code != 0) GTEST_SKIP() << "no static libc to build a static test binary: " << cc.err;
  ProcessResult r = RunProgram({HeapwatchCommand(), "run", "--out", work + "/out", "--", binary}, {});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.err.find("statically linked"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace heapwatch::testing
