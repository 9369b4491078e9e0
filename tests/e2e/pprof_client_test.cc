// `go tool pprof` (Debian's golang-go) is the client our users have: it must
// read every profile we write and show function names even where the
// profiled binary is not (it cannot symbolize C/C++ shared objects itself).
#include <unistd.h>

#include <gtest/gtest.h>

#include "tests/e2e/preload_harness.h"

namespace heapwatch::testing {
namespace {

ProcessResult GoToolPprof(const std::vector<std::string>& args, const std::string& home) {
  std::vector<std::string> argv = {GO_EXECUTABLE, "tool", "pprof"};
  argv.insert(argv.end(), args.begin(), args.end());
  // A home of its own: pprof may write settings there; never the network.
  return RunProgram(argv, {{"HOME", home}, {"PPROF_TMPDIR", home}, {"GOFLAGS", ""}}, 120);
}

TEST(PprofClientTest, TopShowsOurNamesWithTheBinaryGone) {
  std::string work = MakeTempDir("work");
  std::string binary = work + "/alloc_sites";
  ASSERT_EQ(RunProgram({"/bin/cp", TestProgram("alloc_sites"), binary}, {}).exit_code, 0);
  std::string out = work + "/profiles";
  ProcessResult r = RunUnderPreload({binary}, out, {{"HEAPWATCH_RATE", "1"}});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ASSERT_EQ(unlink(binary.c_str()), 0);  // pprof cannot symbolize from it now
  std::vector<std::string> files = ProfileFiles(out);
  ASSERT_EQ(files.size(), 1u);

  ProcessResult top = GoToolPprof({"-top", "-sample_index=alloc_space", files[0]}, work);
  ASSERT_EQ(top.exit_code, 0) << top.err;
  for (const char* name : {"KeepBlocks", "AllocateAndFree", "AllocateInWorker", "ReuseAddresses", "main"}) {
    EXPECT_NE(top.out.find(name), std::string::npos) << name << " missing from:\n" << top.out;
  }
  // The default view is in-use space: only what is still held.
  ProcessResult inuse = GoToolPprof({"-top", files[0]}, work);
  ASSERT_EQ(inuse.exit_code, 0) << inuse.err;
  EXPECT_NE(inuse.out.find("KeepBlocks"), std::string::npos) << inuse.out;
  EXPECT_EQ(inuse.out.find("AllocateAndFree"), std::string::npos) << inuse.out;
}

TEST(PprofClientTest, RawAcceptsEveryProfileWeWrite) {
  std::string work = MakeTempDir("work");
  std::string out = work + "/profiles";
  // Periodic and exit profiles, of a parent and a forked child, at a
  // sampling rate and at rate 1.
  ASSERT_EQ(RunUnderPreload({TestProgram("fork_child"), "simple"}, out, {{"HEAPWATCH_RATE", "1"}}).exit_code, 0);
  ASSERT_EQ(RunUnderPreload({TestProgram("exit_paths"), "exit", "1000"}, out, {{"HEAPWATCH_INTERVAL", "0.2"}})
                .exit_code,
            0);
  ASSERT_EQ(RunUnderPreload({TestProgram("dlopen_host"),
                             std::string(HEAPWATCH_BINARY_DIR) + "/tests/programs/libheapwatch_test_plugin.so",
                             "reopen"},
                            out, {{"HEAPWATCH_RATE", "4096"}})
                .exit_code,
            0);
  std::vector<std::string> files = ProfileFiles(out);
  ASSERT_GE(files.size(), 5u);
  for (const std::string& file : files) {
    ProcessResult raw = GoToolPprof({"-raw", file}, work);
    EXPECT_EQ(raw.exit_code, 0) << file << ":\n" << raw.err;
    EXPECT_NE(raw.out.find("Samples:"), std::string::npos) << file;
    EXPECT_NE(raw.out.find("inuse_space/bytes[dflt]"), std::string::npos) << file;
  }
}

}  // namespace
}  // namespace heapwatch::testing
