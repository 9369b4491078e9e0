// RunCheck: each limit, suppressions, the baseline, exit status, exit
// profiles and short series, on series built in memory.

#include "analyzer/check.h"

#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "analyzer/report.h"
#include "tests/unit/heap_profile_builder.h"

namespace heapwatch {
namespace {

using ::testing::HasSubstr;
using testing::HeapProfileBuilder;
using testing::MakeSeries;

constexpr int64_t kRate = 512 * 1024;
constexpr size_t kSnapshots = 20;
constexpr double kInterval = 5;

std::vector<std::string> Stack(const std::string& function, const std::string& caller = "Server::Serve()") {
  return {"malloc", "operator new(unsigned long)", function, caller, "main"};
}

// A process with a stable heap, and leaks growing by `leak_blocks` sampled
// blocks (of 4 KiB, so 512 KiB each) each over the run, one per function
// named in `leaks`.
ProcessSeries Process(int64_t pid, const std::vector<std::string>& leaks, double leak_blocks,
                      size_t snapshots = kSnapshots) {
  return MakeSeries(pid, snapshots, kInterval, kRate, [&](HeapProfileBuilder& b, size_t i) {
    double x = static_cast<double>(i) / static_cast<double>(snapshots - 1);
    b.Add(Stack("Loader::Load()"), 300, 300);
    for (const std::string& leak : leaks) b.Add(Stack(leak), leak_blocks * x, leak_blocks * x);
  });
}

CheckOptions NoLimits() {
  CheckOptions options;
  options.limits = {.site_growth_bytes = std::nullopt, .total_growth_bytes = std::nullopt};
  return options;
}

const CheckedLeak* FindLeak(const ProcessCheck& p, const std::string& site) {
  for (const CheckedLeak& leak : p.leaks) {
    if (leak.site->site == site) return &leak;
  }
  return nullptr;
}

TEST(CheckTest, DefaultLimitsFailAConfirmedLeak) {
  absl::StatusOr<CheckResult> result = RunCheck({Process(1, {"Cache::Insert()"}, 40)}, CheckOptions{});
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_TRUE(result->failed());
  EXPECT_EQ(result->exit_status(), 1);
  ASSERT_EQ(result->processes.size(), 1u);
  const ProcessCheck& p = result->processes[0];
  ASSERT_EQ(p.leaks.size(), 1u);
  EXPECT_EQ(p.leaks[0].site->site, "Cache::Insert");
  EXPECT_EQ(p.leaks[0].status, LeakStatus::kOverLimit);
  EXPECT_THAT(p.leaks[0].note, HasSubstr("over the 1.00 MiB per-site limit"));
  // 40 blocks of 512 KiB over 95 s; the last 80% of it after the warm-up.
  const double expected = 40 * 512.0 * 1024 * 75 / 95;
  EXPECT_NEAR(p.counted_growth_bytes, expected, 0.02 * expected);
  // Over the per-site limit, and with it over the total.
  EXPECT_THAT(p.failures, ::testing::ElementsAre(HasSubstr("Cache::Insert grew"), HasSubstr("total limit")));
}

TEST(CheckTest, NoLeakPasses) {
  absl::StatusOr<CheckResult> result = RunCheck({Process(1, {}, 0)}, CheckOptions{});
  ASSERT_TRUE(result.ok());
  EXPECT_FALSE(result->failed());
  EXPECT_EQ(result->exit_status(), 0);
  EXPECT_TRUE(result->processes[0].leaks.empty());
}

TEST(CheckTest, PerSiteLimit) {
  const double growth = 40 * 512.0 * 1024 * 75 / 95;
  CheckOptions options = NoLimits();
  options.limits.site_growth_bytes = 1.1 * growth;
  absl::StatusOr<CheckResult> result = RunCheck({Process(1, {"Cache::Insert()"}, 40)}, options);
  ASSERT_TRUE(result.ok());
  EXPECT_FALSE(result->failed());
  EXPECT_EQ(result->processes[0].leaks[0].status, LeakStatus::kWithinLimits);
  options.limits.site_growth_bytes = 0.9 * growth;
  result = RunCheck({Process(1, {"Cache::Insert()"}, 40)}, options);
  ASSERT_TRUE(result.ok());
  EXPECT_TRUE(result->failed());
  EXPECT_EQ(result->processes[0].leaks[0].status, LeakStatus::kOverLimit);
}

TEST(CheckTest, TotalLimitAddsUpAProcessesLeaks) {
  const double each = 30 * 512.0 * 1024 * 75 / 95;
  CheckOptions options = NoLimits();
  options.limits.site_growth_bytes = 1.1 * each;
  options.limits.total_growth_bytes = 2.5 * each;
  ProcessSeries three = Process(1, {"A::Leak()", "B::Leak()", "C::Leak()"}, 30);
  ProcessSeries two = Process(2, {"A::Leak()", "B::Leak()"}, 30);
  absl::StatusOr<CheckResult> result = RunCheck({three, two}, options);
  ASSERT_TRUE(result.ok());
  ASSERT_EQ(result->processes.size(), 2u);
  const ProcessCheck& failing = result->processes[0];
  EXPECT_TRUE(failing.failed);
  for (const CheckedLeak& leak : failing.leaks) EXPECT_EQ(leak.status, LeakStatus::kWithinLimits);
  EXPECT_THAT(failing.failures, ::testing::ElementsAre(HasSubstr("over the")));
  EXPECT_THAT(failing.failures[0], HasSubstr("total limit"));
  EXPECT_FALSE(result->processes[1].failed);  // 2 x each < 2.5 x each
  EXPECT_TRUE(result->failed());
}

TEST(CheckTest, RateLimit) {
  // 40 blocks over 95 s: about 220 KiB/s.
  const double rate = 40 * 512.0 * 1024 / 95;
  CheckOptions options = NoLimits();
  options.limits.growth_bytes_per_sec = 1.1 * rate;
  absl::StatusOr<CheckResult> result = RunCheck({Process(1, {"Cache::Insert()"}, 40)}, options);
  ASSERT_TRUE(result.ok());
  EXPECT_FALSE(result->failed());
  options.limits.growth_bytes_per_sec = 0.9 * rate;
  result = RunCheck({Process(1, {"Cache::Insert()"}, 40)}, options);
  ASSERT_TRUE(result.ok());
  EXPECT_TRUE(result->failed());
  EXPECT_THAT(result->processes[0].leaks[0].note, HasSubstr("rate limit"));

  // Without times there is no rate: the limit is not applied, and it says so.
  ProcessSeries untimed = Process(1, {"Cache::Insert()"}, 40);
  for (Snapshot& s : untimed.snapshots) s.profile.time_nanos = 0;
  result = RunCheck({untimed}, options);
  ASSERT_TRUE(result.ok());
  EXPECT_FALSE(result->failed());
  EXPECT_THAT(result->processes[0].trend.warnings, ::testing::Contains(HasSubstr("rate limit was not applied")));
}

TEST(CheckTest, SuppressionsLeaveStacksOut) {
  CheckOptions options;
  absl::StatusOr<Suppressions> suppressions = Suppressions::Parse("# known\nleak:Cache::*\n");
  ASSERT_TRUE(suppressions.ok());
  options.suppressions = *suppressions;
  absl::StatusOr<CheckResult> result = RunCheck({Process(1, {"Cache::Insert()", "Pool::Grow()"}, 40)}, options);
  ASSERT_TRUE(result.ok());
  const ProcessCheck& p = result->processes[0];
  const CheckedLeak* cache = FindLeak(p, "Cache::Insert");
  ASSERT_NE(cache, nullptr);
  EXPECT_EQ(cache->status, LeakStatus::kSuppressed);
  EXPECT_EQ(cache->note, "suppressed by leak:Cache::*");
  const CheckedLeak* pool = FindLeak(p, "Pool::Grow");
  ASSERT_NE(pool, nullptr);
  EXPECT_EQ(pool->status, LeakStatus::kOverLimit);
  // Only Pool::Grow counts.
  const double expected = 40 * 512.0 * 1024 * 75 / 95;
  EXPECT_NEAR(p.counted_growth_bytes, expected, 0.02 * expected);

  options.suppressions.Add("Pool");
  result = RunCheck({Process(1, {"Cache::Insert()", "Pool::Grow()"}, 40)}, options);
  ASSERT_TRUE(result.ok());
  EXPECT_FALSE(result->failed());
  EXPECT_EQ(result->processes[0].counted_growth_bytes, 0);
}

TEST(CheckTest, SuppressingOnePathLeavesTheOthersJudged) {
  // Two callers leak into one function; a suppression of one caller leaves
  // the function judged on the other.
  ProcessSeries series = MakeSeries(1, kSnapshots, kInterval, kRate, [](HeapProfileBuilder& b, size_t i) {
    double x = static_cast<double>(i) / (kSnapshots - 1);
    b.Add(Stack("Cache::Insert()", "Handler::Get()"), 40 * x, 40 * x);
    b.Add(Stack("Cache::Insert()", "Handler::Put()"), 2 * x, 2 * x);
  });
  CheckOptions options;
  options.suppressions.Add("^Handler::Get$");
  absl::StatusOr<CheckResult> result = RunCheck({series}, options);
  ASSERT_TRUE(result.ok());
  const ProcessCheck& p = result->processes[0];
  EXPECT_FALSE(p.failed) << "2 blocks are no evidence";
  ASSERT_EQ(p.leaks.size(), 1u);
  EXPECT_EQ(p.leaks[0].status, LeakStatus::kSuppressed);
  EXPECT_EQ(p.leaks[0].site->stack[3], "Handler::Get");
}

TEST(CheckTest, BaselineFailsOnlyOnNewLeaks) {
  // Last run's report knew Cache::Insert.
  absl::StatusOr<CheckResult> before = RunCheck({Process(1, {"Cache::Insert()"}, 40)}, CheckOptions{});
  ASSERT_TRUE(before.ok());
  std::string json = JsonReport(MakeCheckReport(*before, CheckOptions{}), 0);
  absl::StatusOr<LeakBaseline> baseline = LeakBaseline::Parse(json);
  ASSERT_TRUE(baseline.ok()) << baseline.status();
  EXPECT_EQ(baseline->size(), 1u);

  CheckOptions options;
  options.baseline = *baseline;
  // The same leak (in a process with another pid) passes...
  absl::StatusOr<CheckResult> same = RunCheck({Process(77, {"Cache::Insert()"}, 40)}, options);
  ASSERT_TRUE(same.ok());
  EXPECT_FALSE(same->failed());
  EXPECT_EQ(same->processes[0].leaks[0].status, LeakStatus::kInBaseline);
  EXPECT_EQ(same->processes[0].counted_growth_bytes, 0);
  // ... a new one fails.
  absl::StatusOr<CheckResult> more = RunCheck({Process(77, {"Cache::Insert()", "Pool::Grow()"}, 40)}, options);
  ASSERT_TRUE(more.ok());
  EXPECT_TRUE(more->failed());
  EXPECT_EQ(FindLeak(more->processes[0], "Pool::Grow")->status, LeakStatus::kOverLimit);
  EXPECT_EQ(FindLeak(more->processes[0], "Cache::Insert")->status, LeakStatus::kInBaseline);
}

TEST(CheckTest, BaselineMatchesStacksAndFunctions) {
  SiteTrend function;
  function.is_function = true;
  function.site = "Cache::Insert";
  function.stack = {"malloc", "Cache::Insert", "Handler::Get", "main"};
  SiteTrend stack = function;
  stack.is_function = false;
  SiteTrend other_stack = stack;
  other_stack.stack[2] = "Handler::Put";

  LeakBaseline by_stack;
  by_stack.AddStack("Cache::Insert", stack.stack);
  EXPECT_TRUE(by_stack.Contains(stack));
  EXPECT_FALSE(by_stack.Contains(other_stack));
  EXPECT_TRUE(by_stack.Contains(function)) << "the function was known to leak through one stack";
  LeakBaseline by_function;
  by_function.AddFunction("Cache::Insert");
  EXPECT_TRUE(by_function.Contains(other_stack));
  EXPECT_TRUE(by_function.Contains(function));
  function.site = stack.site = "Pool::Grow";
  EXPECT_FALSE(by_function.Contains(function));
  EXPECT_FALSE(by_function.Contains(stack));
}

TEST(CheckTest, BaselineRejectsWhatIsNotAReport) {
  EXPECT_FALSE(LeakBaseline::Parse("not json").ok());
  EXPECT_FALSE(LeakBaseline::Parse("[1, 2]").ok());
  EXPECT_FALSE(LeakBaseline::Parse(R"({"processes": [{"pid": 1}]})").ok());
  EXPECT_FALSE(LeakBaseline::Parse(R"({"processes": [{"sites": [{"site": "f"}]}]})").ok());
  EXPECT_FALSE(
      LeakBaseline::Parse(R"({"processes": [{"sites": [{"classification": "leak", "level": "stack", "site": "f"}]}]})")
          .ok());
  absl::StatusOr<LeakBaseline> empty = LeakBaseline::Parse(R"({"verdict": "pass", "processes": []})");
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(empty->size(), 0u);
  absl::StatusOr<LeakBaseline> missing = LeakBaseline::ReadFile("/nonexistent/baseline.json");
  ASSERT_FALSE(missing.ok());
  EXPECT_THAT(missing.status().message(), HasSubstr("/nonexistent/baseline.json"));
}

TEST(CheckTest, ProcessWithoutExitProfileIsJudged) {
  // The leaking process was killed: no exit profile, still a failure.
  ProcessSeries killed = Process(1, {"Cache::Insert()"}, 40);
  ASSERT_FALSE(killed.exit.has_value());
  absl::StatusOr<CheckResult> result = RunCheck({killed}, CheckOptions{});
  ASSERT_TRUE(result.ok());
  EXPECT_TRUE(result->failed());
}

TEST(CheckTest, ExitProfileNeverDecides) {
  // Much left at exit, nothing growing: pass.
  ProcessSeries tidy = Process(1, {}, 0);
  HeapProfileBuilder exit(kRate, 1'800'000'000'000'000'000);
  exit.Add(Stack("Globals::Init()"), 400, 400);
  tidy.exit = Snapshot{.path = "heap.1.exit.pb.gz", .profile = exit.Build()};
  absl::StatusOr<CheckResult> result = RunCheck({tidy}, CheckOptions{});
  ASSERT_TRUE(result.ok());
  EXPECT_FALSE(result->failed());
  ASSERT_TRUE(result->processes[0].trend.exit.has_value());
  EXPECT_GT(result->processes[0].trend.exit->inuse_bytes, 100 * 1024 * 1024);
  // A leak whose memory was freed at exit still fails.
  ProcessSeries leaky = Process(2, {"Cache::Insert()"}, 40);
  HeapProfileBuilder empty_exit(kRate, 1'800'000'000'000'000'000);
  leaky.exit = Snapshot{.path = "heap.2.exit.pb.gz", .profile = empty_exit.Build()};
  result = RunCheck({leaky}, CheckOptions{});
  ASSERT_TRUE(result.ok());
  EXPECT_TRUE(result->failed());
}

TEST(CheckTest, ShortSeriesPassWithAWarning) {
  absl::StatusOr<CheckResult> result = RunCheck({Process(1, {"Cache::Insert()"}, 40, 4)}, CheckOptions{});
  ASSERT_TRUE(result.ok());
  EXPECT_FALSE(result->failed());
  EXPECT_FALSE(result->processes[0].trend.judged());
  EXPECT_THAT(result->processes[0].trend.warnings, ::testing::ElementsAre(HasSubstr("too short to judge")));
  std::string text = TextReport(MakeCheckReport(*result, CheckOptions{}), 0, 10);
  EXPECT_THAT(text, HasSubstr("1 too short to judge"));
  EXPECT_THAT(text, HasSubstr("warning: too short to judge"));
}

TEST(CheckTest, WarmUpIsConfigurable) {
  // Growth until 50 s, flat after: with a 50 s warm-up, nothing grew.
  ProcessSeries series = MakeSeries(1, kSnapshots, kInterval, kRate, [](HeapProfileBuilder& b, size_t i) {
    b.Add(Stack("Cache::Fill()"), 8.0 * std::min<size_t>(i, 10), 8.0 * std::min<size_t>(i, 10));
  });
  CheckOptions options;
  options.trend.growth.warmup_seconds = 50;
  absl::StatusOr<CheckResult> result = RunCheck({series}, options);
  ASSERT_TRUE(result.ok());
  EXPECT_FALSE(result->failed());
  const SiteTrend& fill = result->processes[0].trend.functions[0];
  EXPECT_EQ(fill.verdict.window_begin, 10u);
  EXPECT_EQ(fill.verdict.growth_bytes, 0);
  EXPECT_EQ(fill.verdict.kind, GrowthKind::kPlateau);
}

TEST(CheckTest, InputErrorsAreErrors) {
  ProcessSeries bad = Process(1, {}, 0);
  bad.snapshots[2].profile.sample_types[3].type = "cpu";
  absl::StatusOr<CheckResult> result = RunCheck({bad}, CheckOptions{});
  ASSERT_FALSE(result.ok());
  EXPECT_THAT(result.status().message(), HasSubstr("heap.1.3.pb.gz"));
}

TEST(LeakStatusNameTest, NamesReportsUse) {
  EXPECT_EQ(LeakStatusName(LeakStatus::kOverLimit), "fail");
  EXPECT_EQ(LeakStatusName(LeakStatus::kWithinLimits), "within_limits");
  EXPECT_EQ(LeakStatusName(LeakStatus::kSuppressed), "suppressed");
  EXPECT_EQ(LeakStatusName(LeakStatus::kInBaseline), "baseline");
}

}  // namespace
}  // namespace heapwatch
