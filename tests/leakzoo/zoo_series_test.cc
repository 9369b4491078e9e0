// The leak zoo under the preload (label zoo).
//
// For every program in tests/leakzoo/zoo.json: it runs under
// libheapwatch.so at the default rate, exits 0 without printing, and leaves
// a series of parseable periodic profiles; with every allocation recorded
// (rate 1) its leaking functions hold more in-use bytes in the last periodic
// snapshot than in the first; --clean never calls them. Whether `heapwatch
// check` tells each leak from its control is not asserted here:
// these tests make sure the programs give it something to judge; the
// verdicts are zoo_verdict_test.cc's.

#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "preload/config.h"
#include "tests/e2e/preload_harness.h"
#include "tests/leakzoo/zoo_manifest.h"

namespace heapwatch::testing {
namespace {

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// In-use bytes of the samples with `function` anywhere on the stack (pprof's "cum").
int64_t InuseUnder(const perftools::profiles::Profile& profile, const std::string& function) {
  int inuse_space = -1;
  for (int i = 0; i < profile.sample_type_size(); ++i) {
    if (profile.string_table(profile.sample_type(i).type()) == "inuse_space") inuse_space = i;
  }
  EXPECT_GE(inuse_space, 0) << "no inuse_space sample type";
  if (inuse_space < 0) return 0;
  int64_t total = 0;
  for (const auto& sample : profile.sample()) {
    std::vector<std::string> frames = FrameNames(profile, sample);
    if (std::find(frames.begin(), frames.end(), function) != frames.end()) total += sample.value(inuse_space);
  }
  return total;
}

int SamplesUnder(const perftools::profiles::Profile& profile, const std::string& function) {
  int count = 0;
  for (const auto& sample : profile.sample()) {
    std::vector<std::string> frames = FrameNames(profile, sample);
    count += std::find(frames.begin(), frames.end(), function) != frames.end();
  }
  return count;
}

struct Series {
  std::vector<std::string> periodic;
  std::string exit;  // "" if none
};

Series SeriesIn(const std::string& dir) {
  Series series;
  for (const std::string& path : ProfileFiles(dir)) {
    if (path.ends_with(".exit.pb.gz")) {
      series.exit = path;
    } else {
      series.periodic.push_back(path);  // heap.<pid>.<seq>: zero-padded, so sorted by sequence
    }
  }
  return series;
}

class ZooProgramTest : public ::testing::TestWithParam<ZooProgram> {};

TEST(ZooManifest, ListsProgramsWhoseSourcesDefineTheNamedFunctions) {
  std::vector<ZooProgram> programs = LoadZoo();
  ASSERT_FALSE(programs.empty()) << ManifestPath() << " is missing or malformed";
  for (const ZooProgram& program : programs) {
    EXPECT_FALSE(program.controls.empty()) << program.name << ": every zoo program has a control";
    EXPECT_EQ(access(ZooBinary(program.name).c_str(), X_OK), 0) << ZooBinary(program.name) << " not built";
    std::string source = ReadFile(std::string(HEAPWATCH_SOURCE_DIR) + "/tests/leakzoo/" + program.name + ".cc");
    std::vector<std::string> functions = program.leaks;
    functions.insert(functions.end(), program.controls.begin(), program.controls.end());
    for (const std::string& function : functions) {
      // "NOINLINE <type> Name(": defined in this program, never inlined away.
      size_t colon = function.rfind(':');
      std::string declarator = " " + function.substr(colon == std::string::npos ? 0 : colon + 1) + "(";
      bool defined = false;
      std::istringstream lines(source);
      for (std::string line; std::getline(lines, line);) {
        size_t start = line.find_first_not_of(' ');
        defined |= start != std::string::npos && line.compare(start, 9, "NOINLINE ") == 0 &&
                   line.find(declarator) != std::string::npos;
      }
      EXPECT_TRUE(defined) << program.name << ".cc has no NOINLINE definition of " << function;
    }
  }
}

TEST_P(ZooProgramTest, WritesAPeriodicSeriesAtTheDefaultRate) {
  const ZooProgram& program = GetParam();
  std::string dir = MakeTempDir("default");
  ProcessResult result = RunUnderPreload({ZooBinary(program.name)}, dir,
                                     {{"HEAPWATCH_INTERVAL", "0.5"}, {"HEAPWATCH_RATE", std::to_string(kDefaultSampleRate)}});
  ASSERT_FALSE(result.timed_out);
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(result.out, "") << "zoo programs print nothing";

  Series series = SeriesIn(dir);
  // A 5 s run with a profile every 0.5 s: about 10; 5 leaves room for a slow machine.
  ASSERT_GE(series.periodic.size(), 5u) << dir;
  for (const std::string& path : series.periodic) {
    perftools::profiles::Profile profile = ReadProfile(path);
    EXPECT_EQ(CommentValue(profile, "kind"), "periodic") << path;
    EXPECT_EQ(CommentValue(profile, "rate"), std::to_string(kDefaultSampleRate)) << path;
    EXPECT_GT(profile.sample_size(), 0) << path;
  }
  ASSERT_FALSE(series.exit.empty()) << "no exit profile in " << dir;
  EXPECT_EQ(CommentValue(ReadProfile(series.exit), "kind"), "exit");
}

TEST_P(ZooProgramTest, LeakingFunctionsGrowWhenEveryAllocationIsRecorded) {
  const ZooProgram& program = GetParam();
  if (program.leaks.empty()) GTEST_SKIP() << program.name << " has no leak";
  std::string dir = MakeTempDir("exact");
  ProcessResult result = RunUnderPreload({ZooBinary(program.name), "--iterations=100"}, dir,
                                     {{"HEAPWATCH_INTERVAL", "0.25"}, {"HEAPWATCH_RATE", "1"}});
  ASSERT_FALSE(result.timed_out);
  ASSERT_EQ(result.exit_code, 0) << result.err;
  Series series = SeriesIn(dir);
  ASSERT_GE(series.periodic.size(), 2u) << dir;
  perftools::profiles::Profile first = ReadProfile(series.periodic.front());
  perftools::profiles::Profile last = ReadProfile(series.periodic.back());
  for (const std::string& function : program.leaks) {
    EXPECT_GT(InuseUnder(last, function), InuseUnder(first, function))
        << function << " in " << series.periodic.front() << " and " << series.periodic.back();
  }
}

TEST_P(ZooProgramTest, CleanFlagRunsNoLeakingFunction) {
  const ZooProgram& program = GetParam();
  std::string dir = MakeTempDir("clean");
  ProcessResult result = RunUnderPreload({ZooBinary(program.name), "--clean", "--iterations=50"}, dir,
                                     {{"HEAPWATCH_INTERVAL", "0.25"}, {"HEAPWATCH_RATE", "1"}});
  ASSERT_FALSE(result.timed_out);
  ASSERT_EQ(result.exit_code, 0) << result.err;
  std::vector<std::string> files = ProfileFiles(dir);
  ASSERT_FALSE(files.empty());
  bool controls_seen = false;
  for (const std::string& path : files) {
    perftools::profiles::Profile profile = ReadProfile(path);
    for (const std::string& function : program.leaks) EXPECT_EQ(SamplesUnder(profile, function), 0) << function;
    for (const std::string& function : program.controls) controls_seen |= SamplesUnder(profile, function) > 0;
  }
  // At rate 1 every allocation is recorded: the controls did run.
  EXPECT_TRUE(controls_seen) << "no control function in " << dir;
}

INSTANTIATE_TEST_SUITE_P(Zoo, ZooProgramTest, ::testing::ValuesIn(LoadZoo()),
                         [](const ::testing::TestParamInfo<ZooProgram>& info) { return info.param.name; });

}  // namespace
}  // namespace heapwatch::testing
