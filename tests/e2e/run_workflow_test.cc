// heapwatch run as a soak-test workflow: profiles symbolized as they land,
// --check with check's options, --duration for servers, the exit status
// (the program's failure first, then the verdict), and the next steps.
#include <sys/stat.h>

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "tests/e2e/preload_harness.h"

namespace heapwatch::testing {
namespace {

ProcessResult RunHeapwatch(const std::string& out, std::vector<std::string> options, std::vector<std::string> program) {
  std::vector<std::string> argv = {HeapwatchCommand(), "run", "--out", out, "--interval", "0.25"};
  argv.insert(argv.end(), options.begin(), options.end());
  argv.push_back("--");
  argv.insert(argv.end(), program.begin(), program.end());
  return RunProgram(argv, {}, 120);
}

std::string Slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

TEST(RunWorkflowTest, CheckFailsOnALeakAndPassesWithout) {
  std::string leak_dir = MakeTempDir("leak"), clean_dir = MakeTempDir("clean");
  ProcessResult leak = RunHeapwatch(leak_dir, {"--check", "--rate", "1"}, {TestProgram("steady_leak"), "leak"});
  EXPECT_EQ(leak.exit_code, 1) << leak.out << leak.err;
  EXPECT_NE(leak.out.find("FAIL"), std::string::npos) << leak.out;
  EXPECT_NE(leak.out.find("LeakOnTick"), std::string::npos) << leak.out;
  ProcessResult clean = RunHeapwatch(clean_dir, {"--check", "--rate", "1"}, {TestProgram("steady_leak"), "clean"});
  EXPECT_EQ(clean.exit_code, 0) << clean.out << clean.err;
  EXPECT_NE(clean.out.find("pass"), std::string::npos) << clean.out;
  // The next steps name the files and the pprof commands.
  EXPECT_NE(leak.err.find("go tool pprof -top -base " + leak_dir + "/heap."), std::string::npos) << leak.err;
  EXPECT_NE(leak.err.find("heapwatch trend " + leak_dir), std::string::npos) << leak.err;
}

TEST(RunWorkflowTest, TheProgramsOwnFailureComesFirst) {
  std::string out = MakeTempDir("out");
  ProcessResult r = RunHeapwatch(out, {"--check", "--rate", "1"}, {TestProgram("steady_leak"), "fail"});
  EXPECT_EQ(r.exit_code, 3) << "the program failed: its status, not the leak verdict\n" << r.out << r.err;
  EXPECT_NE(r.out.find("LeakOnTick"), std::string::npos) << "the leak is still reported\n" << r.out;
}

TEST(RunWorkflowTest, CheckOptionsArePassedOn) {
  std::string out = MakeTempDir("out");
  std::string json = out + "/report.json";
  // A generous per-site limit: the leak (about 8 MiB) stays under it.
  ProcessResult r = RunHeapwatch(out, {"--check", "--rate", "1", "--max-site-growth=1GiB", "--max-total-growth=none",
                              "--json=" + json},
                        {TestProgram("steady_leak"), "leak"});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  std::string report = Slurp(json);
  EXPECT_NE(report.find("\"verdict\""), std::string::npos) << report;
  EXPECT_NE(report.find("LeakOnTick"), std::string::npos) << report;
  // check's options without --check are a usage error.
  ProcessResult misuse = RunHeapwatch(out, {"--max-site-growth=1MiB"}, {"/bin/true"});
  EXPECT_EQ(misuse.exit_code, 2);
  EXPECT_NE(misuse.err.find("--check"), std::string::npos) << misuse.err;
}

TEST(RunWorkflowTest, ProfilesAreSymbolizedAsTheyLand) {
  std::string out = MakeTempDir("out");
  ProcessResult r = RunHeapwatch(out, {"--rate", "1"}, {TestProgram("steady_leak"), "leak", "1000"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::vector<std::string> files = ProfileFiles(out);
  ASSERT_GE(files.size(), 3u);
  for (const std::string& file : files) {
    perftools::profiles::Profile p = ReadProfile(file);
    // The program's own mapping has file:line from DWARF (it is built -g).
    bool has_lines = false;
    for (const auto& location : p.location()) {
      for (const auto& line : location.line()) has_lines |= line.line() > 0;
    }
    EXPECT_TRUE(has_lines) << file << " was not symbolized";
    EXPECT_TRUE(p.mapping(0).has_line_numbers()) << file;
    struct stat st;
    ASSERT_EQ(stat(file.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u) << file << ": symbolizing must keep the file private";
  }
  // Without it, the preload's files are left as they are.
  std::string raw = MakeTempDir("raw");
  ASSERT_EQ(RunHeapwatch(raw, {"--rate", "1", "--no-symbolize"}, {TestProgram("steady_leak"), "leak", "500"}).exit_code, 0);
  for (const std::string& file : ProfileFiles(raw)) EXPECT_FALSE(ReadProfile(file).mapping(0).has_line_numbers());
}

TEST(RunWorkflowTest, OnlyThisRunsProfilesAreJudged) {
  std::string out = MakeTempDir("out");
  // An earlier, leaking run left its profiles in the directory.
  ASSERT_EQ(RunHeapwatch(out, {"--rate", "1"}, {TestProgram("steady_leak"), "leak"}).exit_code, 0);
  std::vector<std::string> before = ProfileFiles(out);
  std::map<std::string, std::string> contents;
  for (const std::string& file : before) contents[file] = Slurp(file);
  ProcessResult clean = RunHeapwatch(out, {"--check", "--rate", "1"}, {TestProgram("steady_leak"), "clean"});
  EXPECT_EQ(clean.exit_code, 0) << "the old leak is not this run's\n" << clean.out << clean.err;
  for (const std::string& file : before) EXPECT_EQ(Slurp(file), contents[file]) << file << " was touched";
}

TEST(RunWorkflowTest, DurationStopsAServerGracefullyOrNot) {
  std::string out = MakeTempDir("daemon");
  ProcessResult daemon = RunHeapwatch(out, {"--check", "--duration", "1.5"}, {TestProgram("steady_leak"), "daemon"});
  EXPECT_EQ(daemon.exit_code, 0) << "a stop we asked for is no failure\n" << daemon.err;
  EXPECT_NE(daemon.err.find("stopping it (SIGTERM)"), std::string::npos) << daemon.err;
  bool exit_profile = false;
  for (const std::string& file : ProfileFiles(out)) exit_profile |= file.ends_with(".exit.pb.gz");
  EXPECT_TRUE(exit_profile) << "a graceful stop ends in an exit profile";

  std::string stubborn_out = MakeTempDir("stubborn");
  ProcessResult stubborn =
      RunHeapwatch(stubborn_out, {"--duration", "1", "--grace", "0.5"}, {TestProgram("steady_leak"), "stubborn"});
  EXPECT_EQ(stubborn.exit_code, 0) << stubborn.err;
  EXPECT_NE(stubborn.err.find("did not stop within"), std::string::npos) << stubborn.err;
  EXPECT_FALSE(ProfileFiles(stubborn_out).empty()) << "the periodic profiles stay";
  EXPECT_EQ(RunHeapwatch(out, {"--duration", "soon"}, {"/bin/true"}).exit_code, 2);
}

TEST(RunWorkflowTest, MemoryWeCannotSeeIsSaidOutLoud) {
  // The program's own mmap'd pool grows 96 MiB; its malloc use is flat.
  std::string out = MakeTempDir("out");
  // At the default rate its few mallocs are hardly ever sampled: no site at
  // all in the profiles, and the warning must come all the same.
  ProcessResult r = RunHeapwatch(out, {"--check", "--interval", "0.2"}, {TestProgram("own_allocator")});
  EXPECT_EQ(r.exit_code, 0) << "nothing leaks through malloc\n" << r.out << r.err;
  EXPECT_NE((r.out + r.err).find("resident memory grew by"), std::string::npos) << r.out << r.err;
  EXPECT_NE((r.out + r.err).find("outside malloc"), std::string::npos) << r.out << r.err;
}

}  // namespace
}  // namespace heapwatch::testing
