// AnalyzeTrend on series built in memory: stacks rolled up to functions,
// absent sites, times, short series, the exit profile, bad input.

#include "analyzer/trend.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/unit/heap_profile_builder.h"

namespace heapwatch {
namespace {

using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::HeapProfileBuilder;
using testing::MakeSeries;

constexpr int64_t kRate = 512 * 1024;
constexpr size_t kSnapshots = 20;

std::vector<std::string> Path(const std::string& caller) {
  return {"malloc", "operator new(unsigned long)", "LeakyCache::Insert(std::string const&)", caller,
          "Server::Serve()", "main"};
}

// A server whose cache leaks a little through each of three request
// handlers, next to a stable heap, a bounded cache, a batch buffer, a site
// seen only for a while, and a function whose two stacks cancel out.
void FillServer(HeapProfileBuilder& b, size_t i) {
  const double x = static_cast<double>(i) / (kSnapshots - 1);
  // Each handler's path leaks 6 sampled blocks over the run: not enough
  // evidence alone, 18 together.
  int path = 0;
  for (const char* caller : {"Handler::OnGet()", "Handler::OnPut()", "Handler::OnDelete()"}) {
    double blocks = std::floor(6 * x + path++ / 3.0);
    b.Add(Path(caller), blocks, blocks);
  }
  b.Add({"malloc", "Loader::Load()", "main"}, 512, 512);
  double cache = 200 * std::min(1.0, x / 0.35);
  b.Add({"malloc", "Cache::Fill()", "main"}, cache, cache + 10 * static_cast<double>(i));
  double batch = 40 * static_cast<double>(i % 4);
  b.Add({"malloc", "Batch::Run()", "main"}, batch, 60 * static_cast<double>(i) + batch);
  if (i >= 5 && i < 10) b.Add({"malloc", "Rare::Thing()", "main"}, 3, 3);
  // Memory moving from one path of a function to another: the total is
  // flat, so the growing path is no leak.
  double mixed = 40 * x;
  b.Add({"malloc", "Mixed::Work()", "Mixed::Grow()", "main"}, mixed, mixed);
  b.Add({"malloc", "Mixed::Work()", "Mixed::Drain()", "main"}, 40 - mixed, 40);
  // A leaking path whose function's total is drowned by a jittery sibling
  // (requests in flight): the path is the leak.
  b.Add({"malloc", "Noisy::Work()", "Noisy::Leak()", "main"}, 40 * x, 40 * x);
  double in_flight = 150 + 60 * static_cast<double>((i * 7) % 5) - 120;
  b.Add({"malloc", "Noisy::Work()", "Noisy::Serve()", "main"}, in_flight, 1000 * x + in_flight);
}

const SiteTrend* FindFunction(const ProcessTrend& t, const std::string& site) {
  for (const SiteTrend& f : t.functions) {
    if (f.site == site) return &f;
  }
  return nullptr;
}

TEST(AnalyzeTrendTest, StacksIntoOneFunctionAddUp) {
  ProcessSeries series = MakeSeries(42, kSnapshots, 5, kRate, FillServer);
  absl::StatusOr<ProcessTrend> trend = AnalyzeTrend(series);
  ASSERT_TRUE(trend.ok()) << trend.status();
  EXPECT_EQ(trend->pid, 42);
  EXPECT_EQ(trend->snapshots, kSnapshots);
  EXPECT_TRUE(trend->timed);
  EXPECT_TRUE(trend->judged());
  EXPECT_TRUE(trend->warnings.empty());
  ASSERT_EQ(trend->seconds.size(), kSnapshots);
  EXPECT_DOUBLE_EQ(trend->seconds[3], 15);

  const SiteTrend* insert = FindFunction(*trend, "LeakyCache::Insert");
  ASSERT_NE(insert, nullptr);
  EXPECT_TRUE(insert->is_function);
  EXPECT_EQ(insert->verdict.kind, GrowthKind::kLeak) << insert->verdict.reason;
  ASSERT_EQ(insert->stacks.size(), 3u);
  for (size_t i = 0; i < kSnapshots; ++i) {
    double sum = 0;
    for (size_t k : insert->stacks) sum += trend->stacks[k].inuse_bytes[i];
    EXPECT_DOUBLE_EQ(insert->inuse_bytes[i], sum);
  }
  for (size_t k : insert->stacks) {
    const SiteTrend& stack = trend->stacks[k];
    EXPECT_EQ(stack.site, "LeakyCache::Insert");
    EXPECT_FALSE(stack.is_function);
    EXPECT_NE(stack.verdict.kind, GrowthKind::kLeak) << "each path alone is too little evidence";
  }
  // The function's stack is one of its own, leaf first, and its first user
  // frame is the function.
  EXPECT_EQ(insert->stack.front(), "malloc");
  EXPECT_EQ(insert->stack.back(), "main");
  EXPECT_EQ(insert->stack[insert->user_frame], "LeakyCache::Insert");
  EXPECT_EQ(insert->user_frame, 2u);
  EXPECT_GT(insert->verdict.growth_bytes, 0);
  EXPECT_NEAR(insert->verdict.growth_bytes_per_sec * 75, insert->verdict.growth_bytes, 1e-6);
  // Sampled blocks: what was put in.
  EXPECT_NEAR(insert->sampled_blocks.back(), 18, 1e-6);

  EXPECT_EQ(FindFunction(*trend, "Loader::Load")->verdict.kind, GrowthKind::kStable);
  EXPECT_EQ(FindFunction(*trend, "Cache::Fill")->verdict.kind, GrowthKind::kPlateau);
  EXPECT_EQ(FindFunction(*trend, "Batch::Run")->verdict.kind, GrowthKind::kSawtooth);
  EXPECT_NE(FindFunction(*trend, "Mixed::Work")->verdict.kind, GrowthKind::kLeak);
}

TEST(AnalyzeTrendTest, LeaksListsFunctionsAndStacksOnce) {
  absl::StatusOr<ProcessTrend> trend = AnalyzeTrend(MakeSeries(42, kSnapshots, 5, kRate, FillServer));
  ASSERT_TRUE(trend.ok()) << trend.status();
  const SiteTrend* noisy = FindFunction(*trend, "Noisy::Work");
  ASSERT_NE(noisy, nullptr);
  EXPECT_NE(noisy->verdict.kind, GrowthKind::kLeak) << "the sibling's jitter hides it at the function level";
  std::vector<const SiteTrend*> leaks = trend->Leaks();
  // The function, not its stacks; and the leaking stack of Noisy::Work. Not
  // Mixed::Grow, whose memory Mixed::Drain gave back.
  std::vector<std::string> names;
  for (const SiteTrend* leak : leaks) names.push_back(leak->site + (leak->is_function ? " (function)" : " (stack)"));
  EXPECT_THAT(names, ::testing::UnorderedElementsAre("LeakyCache::Insert (function)", "Noisy::Work (stack)"));
  bool mixed_grow_leaks = false;
  for (const SiteTrend& s : trend->stacks) {
    if (s.stack[2] == "Mixed::Grow") mixed_grow_leaks = s.verdict.kind == GrowthKind::kLeak;
  }
  EXPECT_TRUE(mixed_grow_leaks) << "on its own the path grows";
  for (const SiteTrend* leak : leaks) {
    if (!leak->is_function) {
      EXPECT_EQ(leak->stack[2], "Noisy::Leak");
    }
  }
  // Largest growth first.
  ASSERT_EQ(leaks.size(), 2u);
  EXPECT_GE(leaks[0]->verdict.growth_bytes, leaks[1]->verdict.growth_bytes);
}

TEST(AnalyzeTrendTest, AbsentSitesAreZero) {
  absl::StatusOr<ProcessTrend> trend = AnalyzeTrend(MakeSeries(42, kSnapshots, 5, kRate, FillServer));
  ASSERT_TRUE(trend.ok());
  const SiteTrend* rare = FindFunction(*trend, "Rare::Thing");
  ASSERT_NE(rare, nullptr);
  HeapProfileBuilder b(kRate, 1);
  const double bytes = 3 * b.Scale(4096) * 4096;
  for (size_t i = 0; i < kSnapshots; ++i) {
    EXPECT_NEAR(rare->inuse_bytes[i], i >= 5 && i < 10 ? bytes : 0, 1) << i;
  }
}

TEST(AnalyzeTrendTest, SortedByGrowth) {
  absl::StatusOr<ProcessTrend> trend = AnalyzeTrend(MakeSeries(42, kSnapshots, 5, kRate, FillServer));
  ASSERT_TRUE(trend.ok());
  for (size_t i = 1; i < trend->functions.size(); ++i) {
    EXPECT_GE(trend->functions[i - 1].verdict.growth_bytes, trend->functions[i].verdict.growth_bytes);
  }
  for (size_t i = 1; i < trend->stacks.size(); ++i) {
    EXPECT_GE(trend->stacks[i - 1].verdict.growth_bytes, trend->stacks[i].verdict.growth_bytes);
  }
}

TEST(AnalyzeTrendTest, ExitProfileIsSummarizedNotJudged) {
  ProcessSeries series = MakeSeries(42, kSnapshots, 5, kRate, FillServer);
  absl::StatusOr<ProcessTrend> without = AnalyzeTrend(series);
  ASSERT_TRUE(without.ok());
  EXPECT_FALSE(without->exit.has_value());

  HeapProfileBuilder exit(kRate, 1'800'000'000'000'000'000);
  exit.Add(Path("Handler::OnGet()"), 6, 6).Add({"malloc", "Loader::Load()", "main"}, 0, 512);
  exit.Add({"malloc", "Globals::Init()", "main"}, 2, 2);
  series.exit = Snapshot{.path = "heap.42.exit.pb.gz", .profile = exit.Build()};
  absl::StatusOr<ProcessTrend> with = AnalyzeTrend(series);
  ASSERT_TRUE(with.ok());
  ASSERT_TRUE(with->exit.has_value());
  EXPECT_EQ(with->exit->path, "heap.42.exit.pb.gz");
  ASSERT_EQ(with->exit->sites.size(), 2u);  // Loader::Load was freed
  EXPECT_EQ(with->exit->sites[0].site, "LeakyCache::Insert");
  EXPECT_EQ(with->exit->sites[1].site, "Globals::Init");
  EXPECT_NEAR(with->exit->inuse_bytes, 8 * exit.Scale(4096) * 4096, 2);
  // The verdicts come from the periodic snapshots alone.
  ASSERT_EQ(with->functions.size(), without->functions.size());
  for (size_t i = 0; i < with->functions.size(); ++i) {
    EXPECT_EQ(with->functions[i].site, without->functions[i].site);
    EXPECT_EQ(with->functions[i].verdict.kind, without->functions[i].verdict.kind);
  }
}

TEST(AnalyzeTrendTest, SnapshotsWithoutTimesArePlacedOneSecondApart) {
  ProcessSeries series = MakeSeries(7, 10, 5, kRate, FillServer);
  for (Snapshot& s : series.snapshots) s.profile.time_nanos = 0;
  absl::StatusOr<ProcessTrend> trend = AnalyzeTrend(series);
  ASSERT_TRUE(trend.ok());
  EXPECT_FALSE(trend->timed);
  EXPECT_THAT(trend->seconds, ::testing::Each(::testing::Ge(0)));
  EXPECT_DOUBLE_EQ(trend->seconds[9], 9);
  ASSERT_EQ(trend->warnings.size(), 1u);
  EXPECT_THAT(trend->warnings[0], HasSubstr("no usable time"));
  // The same time on every profile is no time either.
  for (Snapshot& s : series.snapshots) s.profile.time_nanos = 1'700'000'000'000'000'000;
  trend = AnalyzeTrend(series);
  ASSERT_TRUE(trend.ok());
  EXPECT_FALSE(trend->timed);
}

TEST(AnalyzeTrendTest, ShortSeriesWarn) {
  absl::StatusOr<ProcessTrend> trend = AnalyzeTrend(MakeSeries(7, 3, 5, kRate, FillServer));
  ASSERT_TRUE(trend.ok());
  EXPECT_FALSE(trend->judged());
  ASSERT_EQ(trend->warnings.size(), 1u);
  EXPECT_THAT(trend->warnings[0], HasSubstr("too short to judge: 3 snapshots"));
  EXPECT_TRUE(trend->Leaks().empty());

  ProcessSeries only_exit;
  only_exit.pid = 8;
  absl::StatusOr<ProcessTrend> empty = AnalyzeTrend(only_exit);
  ASSERT_TRUE(empty.ok());
  EXPECT_FALSE(empty->judged());
  EXPECT_THAT(empty->warnings, ElementsAre(HasSubstr("no periodic snapshots")));
}

// rss_bytes= comments as the preload writes them, growing by `rss_step` per
// snapshot.
void AddRss(ProcessSeries& series, double rss_step) {
  for (size_t i = 0; i < series.snapshots.size(); ++i) {
    series.snapshots[i].profile.comments.push_back(
        "rss_bytes=" + std::to_string(static_cast<int64_t>(100e6 + rss_step * static_cast<double>(i))) +
        " heapwatch_bytes=5000000");
  }
}

TEST(AnalyzeTrendTest, MemoryGrowingOutsideTheHeapIsSaidOutLoud) {
  auto flat = [](HeapProfileBuilder& b, size_t) { b.Add({"malloc", "Loader::Load()", "main"}, 512, 512); };
  // RSS grows 20 MiB a snapshot (380 MiB) while the heap stays flat: memory
  // we do not see (an allocator of its own, mmap'd pools).
  ProcessSeries unseen = MakeSeries(9, kSnapshots, 1, kRate, flat);
  AddRss(unseen, 20.0 * 1024 * 1024);
  absl::StatusOr<ProcessTrend> trend = AnalyzeTrend(unseen);
  ASSERT_TRUE(trend.ok());
  EXPECT_THAT(trend->warnings, ElementsAre(AllOf(HasSubstr("resident memory grew by 380.00 MiB"),
                                                 HasSubstr("account for 0 B"), HasSubstr("outside malloc"))));
  // RSS growth the profiles account for, or too small to matter: no word.
  auto growing = [](HeapProfileBuilder& b, size_t i) {
    b.Add({"malloc", "Cache::Fill()", "main"}, 40.0 * static_cast<double>(i), 40.0 * static_cast<double>(i));
  };
  ProcessSeries seen = MakeSeries(9, kSnapshots, 1, kRate, growing);  // 40 blocks of 512 KiB a snapshot
  AddRss(seen, 20.0 * 1024 * 1024);
  EXPECT_TRUE(AnalyzeTrend(seen)->warnings.empty());
  ProcessSeries small = MakeSeries(9, kSnapshots, 1, kRate, flat);
  AddRss(small, 1.0 * 1024 * 1024);
  EXPECT_TRUE(AnalyzeTrend(small)->warnings.empty());
  // Profiles from other tools carry no rss_bytes: nothing to compare.
  EXPECT_TRUE(AnalyzeTrend(MakeSeries(9, kSnapshots, 1, kRate, flat))->warnings.empty());
}

TEST(AnalyzeTrendTest, NonHeapProfileIsAnError) {
  ProcessSeries series = MakeSeries(7, 6, 5, kRate, FillServer);
  series.snapshots[4].profile.sample_types = {{"samples", "count"}, {"cpu", "nanoseconds"},
                                              {"x", "count"},       {"y", "count"}};
  absl::StatusOr<ProcessTrend> trend = AnalyzeTrend(series);
  ASSERT_FALSE(trend.ok());
  EXPECT_THAT(trend.status().message(), HasSubstr("heap.7.5.pb.gz: no in-use space"));
}

TEST(AnalyzeTrendTest, MemoryUnitsAreBytes) {
  ProcessSeries series = MakeSeries(7, 6, 5, kRate, [](HeapProfileBuilder& b, size_t) {
    b.Add({"malloc", "Loader::Load()", "main"}, 10, 10);
  });
  absl::StatusOr<ProcessTrend> in_bytes = AnalyzeTrend(series);
  for (Snapshot& s : series.snapshots) {
    s.profile.sample_types[3].unit = "kilobytes";
    for (Sample& sample : s.profile.samples) sample.values[3] /= 1024;
  }
  absl::StatusOr<ProcessTrend> in_kilobytes = AnalyzeTrend(series);
  ASSERT_TRUE(in_bytes.ok() && in_kilobytes.ok());
  EXPECT_NEAR(in_kilobytes->functions[0].inuse_bytes[0], in_bytes->functions[0].inuse_bytes[0], 1024);
}

TEST(AnalyzeTrendTest, OddValuesDoNotBreakIt) {
  // Negative in-use (a diff profile passed as a snapshot), no object counts,
  // a negative period: judged as numbers, no NaN anywhere.
  ProcessSeries series = MakeSeries(7, 10, 5, kRate, [](HeapProfileBuilder& b, size_t i) {
    b.Add({"malloc", "Odd::Thing()", "main"}, -3.0 * static_cast<double>(i), 5);
  });
  for (Snapshot& s : series.snapshots) {
    s.profile.period = -5;
    s.profile.sample_types.erase(s.profile.sample_types.begin() + 2);  // inuse_objects
    for (Sample& sample : s.profile.samples) sample.values.erase(sample.values.begin() + 2);
  }
  absl::StatusOr<ProcessTrend> trend = AnalyzeTrend(series);
  ASSERT_TRUE(trend.ok()) << trend.status();
  ASSERT_EQ(trend->functions.size(), 1u);
  const GrowthVerdict& v = trend->functions[0].verdict;
  EXPECT_FALSE(std::isnan(v.growth_bytes));
  EXPECT_FALSE(std::isnan(v.growth_z));
  EXPECT_EQ(v.kind, GrowthKind::kShrinking) << v.reason;
}

TEST(ShortStackTest, FromTheFirstUserFrame) {
  SiteTrend site;
  site.stack = {"malloc", "operator new", "Cache::Insert", "Server::Handle", "Server::Loop", "Thread::Run", "main"};
  site.user_frame = 2;
  EXPECT_EQ(ShortStack(site, 3), "Cache::Insert <- Server::Handle <- Server::Loop <- ...");
  EXPECT_EQ(ShortStack(site, 10), "Cache::Insert <- Server::Handle <- Server::Loop <- Thread::Run <- main");
}

}  // namespace
}  // namespace heapwatch
