// Telling a leak from a plateau, a sawtooth and sampling noise, on one call
// site's in-use bytes over a series of snapshots.
//
// This is the statistics behind `heapwatch trend` and `heapwatch check`, on
// plain numbers so that it can be tested on synthetic series: trend.h turns
// profiles into SiteHistory values, ClassifyGrowth judges one of them. The
// decision rule and its derivation are at the top of growth_classifier.cc.
//
// Not for comparing two snapshots (one difference says nothing about the
// shape of the growth) nor for alloc_space (churn is not a leak).

#ifndef HEAPWATCH_ANALYZER_GROWTH_CLASSIFIER_H_
#define HEAPWATCH_ANALYZER_GROWTH_CLASSIFIER_H_

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace heapwatch {

enum class GrowthKind {
  kStable,     // no change beyond noise after the warm-up
  kLeak,       // sustained growth through the judged part of the series
  kPlateau,    // grew, then stopped (warm-up, a bounded cache)
  kSawtooth,   // rises and falls back repeatedly (batches, churn)
  kShrinking,  // significant decline after the warm-up
};

// "stable", "leak", "plateau", "sawtooth", "shrinking": the names reports use.
std::string_view GrowthKindName(GrowthKind kind);

// The sampling noise of one part of a site: a set of blocks that no other
// part holds (a stack of a rolled-up function, or a whole site). One entry
// per snapshot, like SiteHistory's vectors.
struct SamplingNoise {
  // The variance (bytes^2) the in-use estimate would have if every block
  // behind it had been sampled afresh: for a byte-sampling profile with
  // period R, the sum over its records of bytes * s * (1 - p) / p, where s is
  // the record's mean block size and p = 1 - exp(-s / R). About bytes * R
  // for blocks much smaller than R; 0 when every block was recorded (rate 1).
  std::vector<double> inuse_variance;
  // The same quantity for the cumulative allocated bytes (alloc_space), so
  // that allocated_variance[j] - allocated_variance[i] is the variance of the
  // estimate of what was allocated between snapshots i and j. Empty when
  // unknown (no alloc_space, or not cumulative): the noise model then
  // assumes that every block was replaced between any two snapshots, the
  // worst case.
  std::vector<double> allocated_variance;
};

// One site's history, oldest snapshot first.
struct SiteHistory {
  // Time of each snapshot in seconds (any origin), non-decreasing.
  std::vector<double> seconds;
  // In-use bytes: the un-sampled estimate, 0 where the site was absent.
  std::vector<double> inuse_bytes;
  // Usually one part; a roll-up of stacks may keep one per stack, which
  // gives a tighter bound on the noise of differences (see the .cc).
  std::vector<SamplingNoise> noise;
};

// A one-part history of blocks much smaller than `period` (so that one
// sampled block stands for `period` bytes), or exact when period <= 1;
// `allocated_bytes` (cumulative) may be empty. For callers holding plain
// numbers, and tests.
SiteHistory SampledHistory(std::vector<double> seconds, std::vector<double> inuse_bytes,
                           std::vector<double> allocated_bytes, double period);

struct GrowthOptions {
  // The first part of the series is warm-up and not judged: growth there is
  // never a leak. When warmup_seconds is set it is used instead of the
  // fraction, which applies to the series' duration and to its snapshots,
  // whichever ends first.
  double warmup_fraction = 0.2;
  std::optional<double> warmup_seconds;
};

// The fewest snapshots after the warm-up that can show a leak: with fewer,
// even a perfectly ordered series is not unlikely enough by chance (see the
// trend test in growth_classifier.cc).
inline constexpr size_t kMinJudgedSnapshots = 5;

struct GrowthVerdict {
  GrowthKind kind = GrowthKind::kStable;
  // False when fewer than kMinJudgedSnapshots follow the warm-up: the site
  // is then never called a leak (nor sawtooth), and callers should say so.
  bool judged = false;
  // Index of the first snapshot after the warm-up.
  size_t window_begin = 0;
  // Growth after the warm-up: the Theil-Sen slope of the judged snapshots
  // per snapshot (robust to a stray snapshot, and to uneven intervals)
  // times their number of intervals, and that over their duration (the
  // average rate; 0 when they share one time).
  double growth_bytes_per_sec = 0;
  double growth_bytes = 0;
  // The least-squares growth after the warm-up over its noise (infinite
  // when there is none).
  double growth_z = 0;
  // Mann-Kendall trend statistic of the judged snapshots (normal score).
  double trend_z = 0;
  // The least-squares growth in sampled blocks' worth of bytes: how much
  // evidence stands behind it (infinite when exact).
  double evidence_blocks = 0;
  // Significant falls over the whole series.
  int falls = 0;
  // Why the site got its kind, for verbose reports.
  std::string reason;
};

GrowthVerdict ClassifyGrowth(const SiteHistory& history, const GrowthOptions& options = {});

}  // namespace heapwatch

#endif  // HEAPWATCH_ANALYZER_GROWTH_CLASSIFIER_H_
