// The growth classifier on synthetic series of each shape. Noise-free series
// use SampledHistory (the counts are what the sampler would report on
// average, with the noise model of the default rate); noisy ones come from
// the sampler simulation with fixed seeds. The statistical rates are in
// growth_classifier_stats_test.cc.

#include "analyzer/growth_classifier.h"

#include <cmath>
#include <random>
#include <vector>

#include <gtest/gtest.h>

#include "tests/unit/synthetic_heap_series.h"

namespace heapwatch {
namespace {

using testing::kDefaultPeriod;
using testing::kMiB;
using testing::SampleSite;
using testing::SamplerModel;
using testing::SitePart;

constexpr double kInterval = 5;  // seconds between snapshots

std::vector<double> Times(size_t n) {
  std::vector<double> t;
  for (size_t i = 0; i < n; ++i) t.push_back(static_cast<double>(i) * kInterval);
  return t;
}

// Cumulative allocations of a site that allocates only when it grows (blocks
// are never freed, or freed and not replaced): the sum of its rises.
std::vector<double> AllocatedOnGrowth(const std::vector<double>& inuse) {
  std::vector<double> allocated;
  double total = 0, last = 0;
  for (double b : inuse) {
    total += std::max(0.0, b - last);
    last = b;
    allocated.push_back(total);
  }
  return allocated;
}

GrowthVerdict Classify(const std::vector<double>& inuse, double period = kDefaultPeriod,
                       const GrowthOptions& options = {}) {
  return ClassifyGrowth(SampledHistory(Times(inuse.size()), inuse, AllocatedOnGrowth(inuse), period), options);
}

TEST(GrowthKindNameTest, NamesReportsUse) {
  EXPECT_EQ(GrowthKindName(GrowthKind::kStable), "stable");
  EXPECT_EQ(GrowthKindName(GrowthKind::kLeak), "leak");
  EXPECT_EQ(GrowthKindName(GrowthKind::kPlateau), "plateau");
  EXPECT_EQ(GrowthKindName(GrowthKind::kSawtooth), "sawtooth");
  EXPECT_EQ(GrowthKindName(GrowthKind::kShrinking), "shrinking");
}

TEST(ClassifyGrowthTest, LinearGrowthIsALeakWithItsRate) {
  // 20 snapshots, 2 MiB more at each: 4 sampled blocks per interval.
  const double step = 2 * kMiB;
  std::vector<double> inuse;
  for (int i = 0; i < 20; ++i) inuse.push_back(10 * kMiB + step * i);
  GrowthVerdict v = Classify(inuse);
  EXPECT_EQ(v.kind, GrowthKind::kLeak) << v.reason;
  EXPECT_TRUE(v.judged);
  // The window starts at the first snapshot at or after 20% of 95 s: 20 s.
  EXPECT_EQ(v.window_begin, 4u);
  EXPECT_DOUBLE_EQ(v.growth_bytes_per_sec, step / kInterval);
  EXPECT_DOUBLE_EQ(v.growth_bytes, step * 15);
  EXPECT_GT(v.growth_z, 3);
  EXPECT_NEAR(v.evidence_blocks, step * 15 / kDefaultPeriod, 0.01);
}

TEST(ClassifyGrowthTest, StepGrowthIsALeak) {
  // 16 MiB more every 4 snapshots, flat in between.
  std::vector<double> inuse;
  for (int i = 0; i < 24; ++i) inuse.push_back(4 * kMiB + 16 * kMiB * (i / 4));
  GrowthVerdict v = Classify(inuse);
  EXPECT_EQ(v.kind, GrowthKind::kLeak) << v.reason;
}

TEST(ClassifyGrowthTest, GrowthDuringWarmUpThenFlatIsAPlateau) {
  // A cache filling in the first 3 of 20 snapshots (inside the 20% warm-up).
  std::vector<double> inuse;
  for (int i = 0; i < 20; ++i) inuse.push_back(64 * kMiB * std::min(1.0, i / 3.0));
  GrowthVerdict v = Classify(inuse);
  EXPECT_EQ(v.kind, GrowthKind::kPlateau) << v.reason;
  EXPECT_DOUBLE_EQ(v.growth_bytes, 0);
}

TEST(ClassifyGrowthTest, BoundedCacheFillingPastTheWarmUpIsAPlateau) {
  // Fills linearly until 45% of the run, flat after: the late half of the
  // window (from 60%) is flat.
  std::vector<double> inuse;
  for (int i = 0; i < 20; ++i) inuse.push_back(128 * kMiB * std::min(1.0, i / (0.45 * 19)));
  GrowthVerdict v = Classify(inuse);
  EXPECT_EQ(v.kind, GrowthKind::kPlateau) << v.reason;
  EXPECT_GT(v.growth_bytes, 0);  // it did grow after the warm-up
}

TEST(ClassifyGrowthTest, SaturatingCacheIsAPlateau) {
  std::vector<double> inuse;
  for (int i = 0; i < 30; ++i) inuse.push_back(256 * kMiB * -std::expm1(-i / 4.0));
  EXPECT_EQ(Classify(inuse).kind, GrowthKind::kPlateau);
}

TEST(ClassifyGrowthTest, SawtoothIsNotALeak) {
  // A batch buffer growing to 40 MiB over 5 snapshots, then freed, on top of
  // 8 MiB that never changes.
  std::vector<double> inuse;
  for (int i = 0; i < 30; ++i) inuse.push_back(8 * kMiB + 10 * kMiB * (i % 5));
  GrowthVerdict v = ClassifyGrowth(SampledHistory(Times(inuse.size()), inuse, {}, kDefaultPeriod));
  EXPECT_EQ(v.kind, GrowthKind::kSawtooth) << v.reason;
  EXPECT_GE(v.falls, 5);
}

TEST(ClassifyGrowthTest, SawtoothWhoseFloorRisesIsALeak) {
  // The same batches, each leaving 12 MiB behind.
  std::vector<double> inuse;
  for (int i = 0; i < 30; ++i) inuse.push_back(8 * kMiB + 10 * kMiB * (i % 5) + 12 * kMiB * (i / 5));
  // With alloc_space, the falls are known to be frees, not sampling noise.
  GrowthVerdict v = Classify(inuse);
  EXPECT_EQ(v.kind, GrowthKind::kLeak) << v.reason;
}

TEST(ClassifyGrowthTest, OneReleaseInTheWindowIsNotALeak) {
  // Grows, is flushed once mid-run, grows again: memory was given back.
  std::vector<double> inuse;
  for (int i = 0; i < 20; ++i) inuse.push_back(2 * kMiB * (i < 12 ? i : i - 12));
  GrowthVerdict v = ClassifyGrowth(SampledHistory(Times(inuse.size()), inuse, {}, kDefaultPeriod));
  EXPECT_NE(v.kind, GrowthKind::kLeak) << v.reason;
}

TEST(ClassifyGrowthTest, SamplingNoiseAloneIsNeverALeak) {
  // Stable sites at the default rate's sample counts (20 to 400 sampled
  // blocks), every block replaced between snapshots: the noisiest case.
  std::mt19937_64 rng(1);
  int leaks = 0, stable = 0;
  for (double level : {10 * kMiB, 50 * kMiB, 200 * kMiB}) {
    for (int seed = 0; seed < 100; ++seed) {
      SiteHistory h = SampleSite({{testing::Flat(20, level), 1.0}}, SamplerModel{}, rng);
      GrowthVerdict v = ClassifyGrowth(h);
      leaks += v.kind == GrowthKind::kLeak;
      stable += v.kind == GrowthKind::kStable;
    }
  }
  EXPECT_EQ(leaks, 0);
  EXPECT_GE(stable, 290);  // the rest may be called plateau, sawtooth or shrinking by chance
}

TEST(ClassifyGrowthTest, AHandfulOfSamplesIsNoEvidence) {
  // A site seen in 0, then 1, 2, 3 sampled blocks: monotone, but 3 samples.
  std::vector<double> inuse;
  for (int i = 0; i < 20; ++i) inuse.push_back(kDefaultPeriod * (i / 5));
  GrowthVerdict v = Classify(inuse);
  EXPECT_NE(v.kind, GrowthKind::kLeak) << v.reason;
  EXPECT_LT(v.evidence_blocks, 8);
  // Measured exactly (rate 1) it is certain growth, in 3 rises: a leak.
  EXPECT_EQ(Classify(inuse, /*period=*/1).kind, GrowthKind::kLeak);
}

TEST(ClassifyGrowthTest, OneOrTwoJumpsAreEventsNotATrend) {
  // Exact: a goroutine's stack allocated once late in the run, a table
  // resized twice. Certain, but not sustained growth.
  std::vector<double> once(20, 1248), twice(20, 8 * kMiB);
  for (int i = 14; i < 20; ++i) once[i] = 2496;
  for (int i = 9; i < 20; ++i) twice[i] += 208;
  for (int i = 15; i < 20; ++i) twice[i] += 208;
  EXPECT_NE(Classify(once, 1).kind, GrowthKind::kLeak) << Classify(once, 1).reason;
  EXPECT_NE(Classify(twice, 1).kind, GrowthKind::kLeak) << Classify(twice, 1).reason;
  // A buffer that realloc grows 1.5x at a time: one block, a few big rises.
  std::vector<double> buffer;
  double size = 2.4 * kMiB;
  for (int i = 0; i < 10; ++i) {
    buffer.push_back(size);
    if (i % 2 == 0) size *= 1.5;
  }
  EXPECT_EQ(Classify(buffer, 1).kind, GrowthKind::kLeak) << Classify(buffer, 1).reason;
  // At the default rate too (a block far above the rate is always sampled).
  EXPECT_EQ(Classify(buffer).kind, GrowthKind::kLeak) << Classify(buffer).reason;
}

TEST(ClassifyGrowthTest, SnapshotTimingJitterIsNotSaturation) {
  // A leak of exactly 1 MiB per snapshot, the snapshots further apart as the
  // heap (and each GC) grows: the rate per second falls by a third, which
  // is not a cache saturating.
  std::vector<double> seconds, inuse;
  double t = 0;
  for (int i = 0; i < 16; ++i) {
    seconds.push_back(t);
    inuse.push_back(kMiB * (i + 1));
    t += 0.03 + 0.0015 * i;
  }
  SiteHistory h = SampledHistory(seconds, inuse, {}, 1);
  EXPECT_EQ(ClassifyGrowth(h).kind, GrowthKind::kLeak) << ClassifyGrowth(h).reason;
}

// Times of n snapshots `interval` seconds apart, but for the interval after
// snapshot `stall`, which lasts `stall_interval`.
std::vector<double> TimesWithAStall(size_t n, size_t stall, double interval, double stall_interval) {
  std::vector<double> seconds;
  double t = 0;
  for (size_t i = 0; i < n; ++i) {
    seconds.push_back(t);
    t += i == stall ? stall_interval : interval;
  }
  return seconds;
}

TEST(ClassifyGrowthTest, OneLongIntervalIsNotSaturationWhereverItFalls) {
  // A leak of 1 MiB per snapshot, snapshots 30 ms apart but for one interval
  // of 600 ms (the program stalled, say on a loaded machine): in time the
  // growth bends wherever the stall falls, in snapshot order it is steady.
  std::vector<double> inuse;
  for (int i = 0; i < 16; ++i) inuse.push_back(kMiB * (i + 1));
  for (size_t stall = 1; stall < 15; ++stall) {
    SCOPED_TRACE(stall);
    std::vector<double> seconds = TimesWithAStall(16, stall, 0.03, 0.6);
    GrowthVerdict v = ClassifyGrowth(SampledHistory(seconds, inuse, {}, 1));
    EXPECT_EQ(v.kind, GrowthKind::kLeak) << v.reason;
    // The warm-up ends at 20% of the time or of the snapshots, whichever
    // comes first: a late stall does not make most snapshots warm-up.
    EXPECT_LE(v.window_begin, 3u);
    // What it grew after the warm-up, however long the intervals.
    EXPECT_DOUBLE_EQ(v.growth_bytes, inuse.back() - inuse[v.window_begin]);
    EXPECT_DOUBLE_EQ(v.growth_bytes_per_sec, v.growth_bytes / (seconds.back() - seconds[v.window_begin]));
  }
}

TEST(ClassifyGrowthTest, CacheFilledBeforeAStallIsStillAPlateau) {
  // A cache filling for 8 of 20 snapshots, flat after, with one long
  // interval anywhere: flat late in time and in order alike.
  std::vector<double> inuse;
  for (int i = 0; i < 20; ++i) inuse.push_back(64 * kMiB * std::min(1.0, i / 8.0));
  for (size_t stall = 1; stall < 19; ++stall) {
    SCOPED_TRACE(stall);
    GrowthVerdict v = ClassifyGrowth(SampledHistory(TimesWithAStall(20, stall, 1.0, 10.0), inuse, {}, kDefaultPeriod));
    EXPECT_EQ(v.kind, GrowthKind::kPlateau) << v.reason;
  }
}

TEST(ClassifyGrowthTest, LeakUnderALargeStableHeapAtTheSameSite) {
  // 1 GiB of long-lived blocks and a 16 MiB leak (32 sampled blocks): the
  // stable blocks keep their sampling decision and add no noise.
  std::vector<double> inuse;
  for (int i = 0; i < 20; ++i) inuse.push_back(1024 * kMiB + 16 * kMiB * i / 19);
  GrowthVerdict v = Classify(inuse);
  EXPECT_EQ(v.kind, GrowthKind::kLeak) << v.reason;
  // Without alloc_space the noise model must assume that every block was
  // replaced: then 16 MiB is within the noise of 1 GiB (2048 blocks).
  GrowthVerdict blind = ClassifyGrowth(SampledHistory(Times(20), inuse, {}, kDefaultPeriod));
  EXPECT_NE(blind.kind, GrowthKind::kLeak) << blind.reason;
}

TEST(ClassifyGrowthTest, SlowLeakOfOnePercentOfTheHeap) {
  // 1% of a 2 GiB heap over the run, with the sampler's noise: fixed seeds.
  std::mt19937_64 rng(2);
  int leaks = 0;
  for (int seed = 0; seed < 20; ++seed) {
    SiteHistory h = SampleSite({{testing::LinearLeak(20, 0, 0.01 * 2048 * kMiB), 0.0},
                                {testing::Flat(20, 2048 * kMiB), 0.0}},
                               SamplerModel{}, rng);
    leaks += ClassifyGrowth(h).kind == GrowthKind::kLeak;
  }
  EXPECT_EQ(leaks, 20);
}

TEST(ClassifyGrowthTest, ShrinkingSite) {
  std::vector<double> inuse;
  for (int i = 0; i < 20; ++i) inuse.push_back(200 * kMiB - 8 * kMiB * i);
  GrowthVerdict v = ClassifyGrowth(SampledHistory(Times(inuse.size()), inuse, {}, kDefaultPeriod));
  EXPECT_EQ(v.kind, GrowthKind::kShrinking) << v.reason;
  EXPECT_LT(v.growth_bytes, 0);
}

TEST(ClassifyGrowthTest, ShortSeriesAreNotJudged) {
  // 4 snapshots: 3 after the warm-up, fewer than kMinJudgedSnapshots.
  std::vector<double> inuse = {0, 100 * kMiB, 200 * kMiB, 300 * kMiB};
  GrowthVerdict v = Classify(inuse);
  EXPECT_FALSE(v.judged);
  EXPECT_NE(v.kind, GrowthKind::kLeak);
  EXPECT_EQ(v.kind, GrowthKind::kPlateau) << v.reason;  // it grew; no more can be said
  // 6 snapshots leave 5 after the warm-up: enough for a leak.
  inuse = {0, 100 * kMiB, 200 * kMiB, 300 * kMiB, 400 * kMiB, 500 * kMiB};
  v = Classify(inuse);
  EXPECT_TRUE(v.judged);
  EXPECT_EQ(v.window_begin, 1u);
  EXPECT_EQ(v.kind, GrowthKind::kLeak) << v.reason;
  // One snapshot, or none.
  EXPECT_FALSE(Classify({5 * kMiB}).judged);
  EXPECT_EQ(Classify({}).kind, GrowthKind::kStable);
}

TEST(ClassifyGrowthTest, WarmUpCanBeSetInSeconds) {
  // Grows for the first 60 s of 95, then flat.
  std::vector<double> inuse;
  for (int i = 0; i < 20; ++i) inuse.push_back(4 * kMiB * std::min(i, 12));
  // With the default 20% warm-up the growth reaches into the window.
  EXPECT_NE(Classify(inuse).window_begin, 13u);
  GrowthOptions options;
  options.warmup_seconds = 60;
  GrowthVerdict v = Classify(inuse, kDefaultPeriod, options);
  EXPECT_EQ(v.window_begin, 12u);
  EXPECT_EQ(v.kind, GrowthKind::kPlateau) << v.reason;
  EXPECT_DOUBLE_EQ(v.growth_bytes, 0);
  // No warm-up at all: the window is the whole series.
  options = GrowthOptions{.warmup_fraction = 0};
  EXPECT_EQ(Classify(inuse, kDefaultPeriod, options).window_begin, 0u);
}

TEST(ClassifyGrowthTest, ExactProfilesJudgeJitterFromTheData) {
  // Rate 1: no sampling noise, but the program's own jitter (in-flight
  // requests) must not read as growth.
  std::mt19937_64 rng(3);
  std::normal_distribution<double> jitter(0, 200e3);
  int leaks = 0;
  for (int seed = 0; seed < 50; ++seed) {
    std::vector<double> inuse;
    for (int i = 0; i < 20; ++i) inuse.push_back(4e6 + jitter(rng));
    leaks += Classify(inuse, /*period=*/1).kind == GrowthKind::kLeak;
  }
  EXPECT_EQ(leaks, 0);
  // A leak well above the jitter is still found.
  std::vector<double> inuse;
  for (int i = 0; i < 20; ++i) inuse.push_back(4e6 + 100e3 * i + jitter(rng));
  EXPECT_EQ(Classify(inuse, 1).kind, GrowthKind::kLeak);
}

TEST(ClassifyGrowthTest, RolledUpStacksKeepTheirNoiseApart) {
  // One function: a stack that churns 8 MiB (every block replaced between
  // snapshots) and a stack that leaks 20 MiB. Judged as one site, the noise
  // bound must let the churn cover the whole level; kept apart, only its own.
  std::mt19937_64 rng(4);
  int together = 0, apart = 0;
  for (int seed = 0; seed < 40; ++seed) {
    std::vector<SitePart> parts = {{testing::Flat(20, 8 * kMiB), 1.0},
                                   {testing::LinearLeak(20, 0, 20 * kMiB), 0.0}};
    std::mt19937_64 copy = rng;
    together += ClassifyGrowth(SampleSite(parts, SamplerModel{}, rng)).kind == GrowthKind::kLeak;
    apart += ClassifyGrowth(SampleSite(parts, SamplerModel{}, copy, true)).kind == GrowthKind::kLeak;
  }
  // The sampler's simulation on this pair gives about 80% and 30%.
  EXPECT_GE(apart, together + 10);
  EXPECT_GE(apart, 24);
}

TEST(ClassifyGrowthTest, LongSeriesStayCheap) {
  // 2 hours at one snapshot per second: the quadratic statistics thin the
  // window, and the verdict is still right.
  std::vector<double> inuse;
  for (int i = 0; i < 7200; ++i) inuse.push_back(8 * kMiB + 4096.0 * i);
  GrowthVerdict v = Classify(inuse);
  EXPECT_EQ(v.kind, GrowthKind::kLeak) << v.reason;
  EXPECT_NEAR(v.growth_bytes_per_sec, 4096.0 / kInterval, 1);
}

}  // namespace
}  // namespace heapwatch
