// The zoo's verdicts (label zoo): every leak kind, run under
// `heapwatch run --check` at the default rate and with every allocation
// recorded, must come out as a leak at the leaking function, never at its
// look-alike control, with exit status 1; the --clean variants pass with 0.
//
// At the default rate (one sample per 512 KiB) a leak is only confirmed once
// it stands well above sampling noise (trend.h): the leak runs last 10 s
// (500 ticks), which leaves each leaking function 30-60 sampled blocks of
// growth. In 5 s about one run in thirty missed one of the smaller leaks.

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fstream>
#include <map>
#include <sstream>

#include "tests/e2e/preload_harness.h"
#include "tests/leakzoo/zoo_manifest.h"

namespace heapwatch::testing {
namespace {

struct Verdict {
  int exit_code = -1;
  std::map<std::string, std::string> classification;  // function -> trend's classification
  std::string report;                                  // check's text report, for messages
};

// `heapwatch run --check` on the program, then `heapwatch trend` (which,
// unlike check, lists every function) on the same profiles.
Verdict RunZoo(const std::string& name, const std::vector<std::string>& rate, const std::vector<std::string>& args) {
  std::string out = MakeTempDir(name);
  std::vector<std::string> run = {HeapwatchCommand(), "run", "--check", "--interval", "0.5", "--out", out};
  run.insert(run.end(), rate.begin(), rate.end());
  run.push_back("--");
  run.push_back(ZooBinary(name));
  run.insert(run.end(), args.begin(), args.end());
  ProcessResult checked = RunProgram(run, {}, 120);
  Verdict verdict{.exit_code = checked.exit_code, .report = checked.out + checked.err};
  ProcessResult trend = RunProgram({HeapwatchCommand(), "trend", "--format=json", out}, {});
  EXPECT_EQ(trend.exit_code, 0) << trend.err;
  nlohmann::json report = nlohmann::json::parse(trend.out, nullptr, /*allow_exceptions=*/false);
  if (!report.is_object()) {
    ADD_FAILURE() << "trend did not write JSON:\n" << trend.out << trend.err;
    return verdict;
  }
  for (const auto& process : report["processes"]) {
    for (const auto& site : process["sites"]) {
      verdict.classification[site["site"].get<std::string>()] = site["classification"].get<std::string>();
    }
  }
  return verdict;
}

void ExpectLeaksFound(const ZooProgram& program, const Verdict& verdict, const char* rate) {
  if (program.leaks.empty()) {
    EXPECT_EQ(verdict.exit_code, 0) << rate << ":\n" << verdict.report;
  } else {
    EXPECT_EQ(verdict.exit_code, 1) << rate << ": a leak must fail the check:\n" << verdict.report;
  }
  for (const std::string& leak : program.leaks) {
    auto it = verdict.classification.find(leak);
    EXPECT_TRUE(it != verdict.classification.end() && it->second == "leak")
        << rate << ": " << leak << " is "
        << (it == verdict.classification.end() ? std::string("absent") : it->second) << "\n" << verdict.report;
  }
  for (const std::string& control : program.controls) {
    auto it = verdict.classification.find(control);
    EXPECT_TRUE(it == verdict.classification.end() || it->second != "leak")
        << rate << ": the control " << control << " was called a leak\n" << verdict.report;
  }
}

class ZooVerdictTest : public ::testing::TestWithParam<ZooProgram> {};

TEST_P(ZooVerdictTest, DefaultRate) {
  ExpectLeaksFound(GetParam(), RunZoo(GetParam().name, {}, {"--iterations=500"}), "default rate");
}

TEST_P(ZooVerdictTest, EveryAllocationRecorded) {
  ExpectLeaksFound(GetParam(), RunZoo(GetParam().name, {"--rate", "1"}, {}), "rate 1");
}

TEST_P(ZooVerdictTest, CleanVariantPasses) {
  Verdict verdict = RunZoo(GetParam().name, {}, {"--clean"});
  EXPECT_EQ(verdict.exit_code, 0) << verdict.report;
  for (const auto& [function, classification] : verdict.classification) {
    EXPECT_NE(classification, "leak") << function << " in the clean run\n" << verdict.report;
  }
}

INSTANTIATE_TEST_SUITE_P(Zoo, ZooVerdictTest, ::testing::ValuesIn(LoadZoo()),
                         [](const ::testing::TestParamInfo<ZooProgram>& info) { return info.param.name; });

}  // namespace
}  // namespace heapwatch::testing
