// Classifying a site's in-use history: the decision rule and why.
//
// Sampling noise
// --------------
// A byte sampler with mean period R picks each block when it is allocated,
// with probability p = 1 - exp(-s/R) for a block of s bytes, and the profile
// reports the picked blocks scaled by 1/p. So a site's in-use estimate is a
// sum of independent terms, one per live block, each of variance
// s^2 (1-p)/p: about R bytes^2 per byte for blocks much smaller than R
// (Poisson: a site seen in n samples is known to ~1/sqrt(n)), 0 for blocks
// far larger than R, and 0 at rate 1. SamplingNoise carries these sums.
//
// A block keeps its sampling decision until it is freed. For the difference
// of snapshots i < j, blocks alive at both cancel; only blocks allocated in
// between and alive at j, and blocks alive at i and freed in between, add
// noise. The totals tell what was allocated in between (alloc_space is
// cumulative; call its variance A_ij) but not which blocks were freed, so in
// variance units (V = inuse_variance) we bound
//     Var(y_j - y_i) <= min(A_ij, V_j) + min(A_ij - (V_j - V_i), V_i),
// which is reached when the oldest blocks are freed first, and is V_i + V_j
// (every block replaced) without alloc_space. A stable heap of long-lived
// blocks thus adds no noise, which is what lets a small leak show under a
// large stable heap. A roll-up sums the bounds of its parts (disjoint blocks
// are independent; min is superadditive, so this is never looser than
// bounding the sum). Every difference gets at least one sampled block's
// variance (a zero count is no certainty), and at least twice the
// per-snapshot scatter the data itself shows (1.4826 x the median absolute
// deviation of successive differences, squared, halved: a trend, a step or a
// sawtooth's few falls do not move it), which covers what no sampling model
// sees: the program's own jitter, and exact profiles whose sampling variance
// is 0. Any statistic sum c_i y_i with sum c_i = 0 (a least-squares slope, a
// difference of slopes) has variance -1/2 sum_ij c_i c_j Var(y_i - y_j), so
// every test below is judged against this bound, autocorrelation included,
// or against the residual scatter around the fitted lines when that is
// larger (a curve the lines do not follow is no evidence of anything).
//
// The rule
// --------
// The first 20% of the series' duration, but never more than 20% of its
// snapshots (one long interval late in the run would otherwise make most of
// them warm-up), or a set warm-up in seconds, is not judged.
// In the rest, the window, a site is a LEAK when all of these hold:
//  1. Trend: Mann-Kendall, one-sided p <= 0.01 (exact for <= 10 untied
//     snapshots, else normal with tie correction). Rank-based, so it holds
//     whatever the noise's distribution; with 5 snapshots the smallest p is
//     1/5! = 0.0083, hence kMinJudgedSnapshots = 5.
//  2. Size: the least-squares growth over the window is >= 3 sigma of its
//     noise (one-sided 0.00135) and >= 8 sampled blocks' worth of bytes
//     (in noise units, s(1-p)/p: ~R for blocks smaller than R). The
//     count floor is where the Poisson tail stops being fatter than the
//     normal one: P(N >= 8 | mean 2) = 0.0011 ~ the 3-sigma normal tail. A
//     site seen in a handful of samples is never evidence. And the growth
//     came in >= 3 separate rises between snapshots, with a positive
//     Theil-Sen slope: one or two jumps (a thread started, a table resized)
//     are events, not a trend, even measured exactly. Counting rises rather
//     than blocks keeps a single buffer that realloc grows 1.5x at a time,
//     one block however large, a leak.
//  3. Sustained: the late half of the window grows by >= 2 sigma on its own
//     (a cache that filled during the first half is flat there), and it did
//     not slow to less than half the early half's slope with >= 3 sigma (a
//     cache still filling, but saturating; "half" so that the jitter of the
//     snapshots' own timing is not taken for saturation). Judged with
//     slopes in time and again in snapshot order, and met when either
//     meets it: one long interval (the program stalled, a snapshot came
//     late) makes a steady leak look saturated in time, and a burst of
//     snapshots makes it look saturated in order; a cache that fills and
//     stops is flat late along both. The price: a half-window slope has
//     2 sqrt(2) times the relative noise of the whole window's, so a leak is
//     caught reliably (>= 95%) once its growth is ~10 sigma, not ~5.
//  4. It never gave memory back: no significant fall in the window (a drop
//     of >= 25% of the window's range and >= max(3, sqrt(2 ln(n / 0.05)))
//     sigma, the Gaussian tail bound that keeps the chance of any false
//     fall among n snapshots near 5%). A site that falls back at least 3
//     times in the window (so that each third holds a trough) is judged on
//     its floor instead: the lowest snapshot of each third must rise from
//     third to third by >= 2 sigma, by more than one snapshot's share of a
//     typical cycle's climb (where in a cycle the lowest snapshot lands is
//     not growth), and by 8 blocks in all. A sawtooth whose floor keeps
//     rising is a leak.
// SAWTOOTH: >= 2 significant falls over the series, and not a leak.
// SHRINKING: 1 and 2 mirrored.
// PLATEAU: 1 and 2 but not 3; or the late level (median of the window's
//   last third) is >= 3 sigma and 8 blocks above the first snapshot.
// STABLE: the rest.
//
// What it achieves
// ----------------
// tests/unit/growth_classifier_stats_test.cc simulates the sampler (each
// block sampled once at allocation, churn between snapshots) on stable
// heaps, bounded caches, sawtooths and leaks, and holds the measured rates
// to bounds: false leaks stay near 0.1% per site (rule 2 alone allows
// 0.13%; rules 1, 3 and the worst-case bound push it lower), and leaks of
// ~24 sampled blocks (12 MiB at the default 512 KiB) over the window are
// caught when the site's other blocks live long. When the same stack also
// churns a large heap, the bound is loose and it takes several times that:
// run longer or lower the rate. A cache that stops growing before ~60% of
// the run (where the late half of the default window starts) reads as a
// plateau; one still filling later cannot be told from a leak by any rule.

#include "analyzer/growth_classifier.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>

#include "absl/strings/str_format.h"

namespace heapwatch {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

// The constants of the rule above, in its order.
constexpr double kTrendAlpha = 0.01;
constexpr double kGrowthZ = 3.0;
constexpr double kMinEvidenceBlocks = 8;
constexpr size_t kMinRises = 3;
constexpr double kLateFraction = 0.5;
constexpr double kLateGrowthZ = 2.0;
constexpr double kSlowdownZ = 3.0;
constexpr double kSlowdownRatio = 0.5;
constexpr double kFallRangeFraction = 0.25;
constexpr double kFallZ = 3.0;
constexpr double kFallAlpha = 0.05;
constexpr double kFloorZ = 2.0;
constexpr int kMinFloorFalls = 3;
// Longer windows are thinned to this many evenly spaced snapshots for the
// quadratic statistics (a 1-hour run at 5 s is 720): the tests lose little
// power and the cost stays bounded.
constexpr size_t kMaxWindowPoints = 200;
// Mann-Kendall's exact distribution is used up to this many untied points.
constexpr size_t kMaxExactTrendPoints = 10;

double Median(std::vector<double> values) {
  if (values.empty()) return 0;
  size_t mid = values.size() / 2;
  std::nth_element(values.begin(), values.begin() + mid, values.end());
  double upper = values[mid];
  if (values.size() % 2 == 1) return upper;
  double lower = *std::max_element(values.begin(), values.begin() + mid);
  return (lower + upper) / 2;
}

// P(N(0,1) >= z).
double NormalUpperTail(double z) { return 0.5 * std::erfc(z / std::sqrt(2.0)); }

double ZScore(double value, double variance) {
  if (variance <= 0) return value > 0 ? kInf : value < 0 ? -kInf : 0.0;
  return value / std::sqrt(variance);
}

// The per-snapshot variance the data shows, whatever its cause (see above).
double ScatterVariance(const std::vector<double>& y) {
  std::vector<double> diffs;
  for (size_t i = 1; i < y.size(); ++i) diffs.push_back(y[i] - y[i - 1]);
  if (diffs.size() < 2) return 0;
  double center = Median(diffs);
  for (double& d : diffs) d = std::abs(d - center);
  double sd = 1.4826 * Median(std::move(diffs));  // 1.4826 = 1 / Phi^-1(3/4)
  return sd * sd / 2;
}

class Series {
 public:
  explicit Series(const SiteHistory& h) : h_(h) {
    double bytes = 0, variance = 0;
    for (size_t i = 0; i < h.inuse_bytes.size(); ++i) {
      bytes += h.inuse_bytes[i];
      for (const SamplingNoise& part : h.noise) variance += part.inuse_variance[i];
    }
    noise_bytes_ = bytes > 0 ? variance / bytes : 0;
    scatter_variance_ = ScatterVariance(h.inuse_bytes);
  }

  size_t size() const { return h_.inuse_bytes.size(); }
  double y(size_t i) const { return h_.inuse_bytes[i]; }
  double t(size_t i) const { return h_.seconds[i]; }

  // Variance per byte of a fresh estimate (s(1-p)/p averaged over the
  // series): one sampled block's worth of noise.
  double noise_bytes() const { return noise_bytes_; }
  // `bytes` in sampled blocks (of noise): the unit of evidence.
  double Blocks(double bytes) const {
    if (noise_bytes_ > 0) return bytes / noise_bytes_;
    return bytes > 0 ? kInf : bytes < 0 ? -kInf : 0;
  }

  // The bound on Var(y_j - y_i) derived above.
  double PairVariance(size_t i, size_t j) const {
    if (i == j) return 0;
    if (i > j) std::swap(i, j);
    double sampling = 0;
    for (const SamplingNoise& part : h_.noise) {
      double vi = part.inuse_variance[i], vj = part.inuse_variance[j];
      if (part.allocated_variance.empty()) {
        sampling += vi + vj;
        continue;
      }
      double allocated = std::max(0.0, part.allocated_variance[j] - part.allocated_variance[i]);
      double freed = std::max(0.0, allocated - (vj - vi));
      sampling += std::min(allocated, vj) + std::min(freed, vi);
    }
    return std::max(sampling + noise_bytes_ * noise_bytes_, 2 * scatter_variance_);
  }

 private:
  const SiteHistory& h_;
  double noise_bytes_ = 0;
  double scatter_variance_ = 0;
};

struct TrendTest {
  double z = 0;  // normal score of S, continuity-corrected
  double p_increasing = 1;
  double p_decreasing = 1;
};

// Number of permutations of n items with k inversions (Mahonian numbers).
std::vector<double> InversionCounts(size_t n) {
  std::vector<double> counts = {1};
  for (size_t m = 2; m <= n; ++m) {
    std::vector<double> next(counts.size() + m - 1, 0);
    for (size_t k = 0; k < counts.size(); ++k) {
      for (size_t add = 0; add < m; ++add) next[k + add] += counts[k];
    }
    counts = std::move(next);
  }
  return counts;
}

// Mann-Kendall test of `y` (in time order).
TrendTest MannKendall(const std::vector<double>& y) {
  TrendTest result;
  const size_t n = y.size();
  if (n < 2) return result;
  long long score = 0;
  for (size_t i = 0; i < n; ++i) {
    for (size_t j = i + 1; j < n; ++j) score += (y[j] > y[i]) - (y[j] < y[i]);
  }
  std::vector<double> sorted = y;
  std::sort(sorted.begin(), sorted.end());
  double tie_term = 0;
  bool ties = false;
  for (size_t i = 0; i < n;) {
    size_t j = i;
    while (j < n && sorted[j] == sorted[i]) ++j;
    double g = static_cast<double>(j - i);
    ties |= g > 1;
    tie_term += g * (g - 1) * (2 * g + 5);
    i = j;
  }
  double nn = static_cast<double>(n);
  double variance = (nn * (nn - 1) * (2 * nn + 5) - tie_term) / 18;
  if (variance <= 0) return result;  // all equal
  double sd = std::sqrt(variance), s = static_cast<double>(score);
  result.z = s > 0 ? (s - 1) / sd : s < 0 ? (s + 1) / sd : 0;
  if (!ties && n <= kMaxExactTrendPoints) {
    // S = pairs - 2 * inversions, every order equally likely under no trend.
    std::vector<double> counts = InversionCounts(n);
    long long pairs = static_cast<long long>(n * (n - 1) / 2);
    double total = 0, at_least = 0, at_most = 0;
    for (size_t k = 0; k < counts.size(); ++k) {
      long long s_k = pairs - 2 * static_cast<long long>(k);
      total += counts[k];
      if (s_k >= score) at_least += counts[k];
      if (s_k <= score) at_most += counts[k];
    }
    result.p_increasing = at_least / total;
    result.p_decreasing = at_most / total;
  } else {
    result.p_increasing = NormalUpperTail((s - 1) / sd);
    result.p_decreasing = NormalUpperTail((-s - 1) / sd);
  }
  return result;
}

// What slopes are measured against: the snapshots' times, or their order
// (every interval between snapshots counting the same).
enum class Axis { kTime, kOrder };

// The judged snapshots (thinned to kMaxWindowPoints) and linear statistics
// over them, along `axis`.
class Window {
 public:
  Window(const Series& s, size_t begin, size_t end, Axis axis = Axis::kTime) : s_(s), axis_(axis) {
    size_t n = end - begin, k = std::min(n, kMaxWindowPoints);
    for (size_t a = 0; a < k; ++a) index_.push_back(begin + (k == 1 ? 0 : a * (n - 1) / (k - 1)));
  }
  size_t size() const { return index_.size(); }
  double x(size_t a) const { return axis_ == Axis::kTime ? s_.t(index_[a]) : static_cast<double>(index_[a]); }
  double y(size_t a) const { return s_.y(index_[a]); }
  std::vector<double> Values() const {
    std::vector<double> values;
    for (size_t a = 0; a < size(); ++a) values.push_back(y(a));
    return values;
  }

  // Weights c such that sum c_a y_a is the least-squares slope over
  // positions [from, to), zero elsewhere.
  std::vector<double> SlopeWeights(size_t from, size_t to) const {
    std::vector<double> c(size(), 0.0);
    double mean_x = 0, sxx = 0;
    for (size_t a = from; a < to; ++a) mean_x += x(a);
    mean_x /= static_cast<double>(to - from);
    for (size_t a = from; a < to; ++a) sxx += (x(a) - mean_x) * (x(a) - mean_x);
    if (sxx <= 0) return c;
    for (size_t a = from; a < to; ++a) c[a] = (x(a) - mean_x) / sxx;
    return c;
  }

  double Apply(const std::vector<double>& c) const {
    double sum = 0;
    for (size_t a = 0; a < size(); ++a) sum += c[a] * y(a);
    return sum;
  }

  // Variance of sum c_a y_a (weights summing to 0) from the pair bounds.
  double Variance(const std::vector<double>& c) const {
    double variance = 0, sum_sq = 0;
    for (size_t a = 0; a < size(); ++a) {
      if (c[a] == 0) continue;
      sum_sq += c[a] * c[a];
      for (size_t b = a + 1; b < size(); ++b) {
        if (c[b] != 0) variance -= c[a] * c[b] * s_.PairVariance(index_[a], index_[b]);
      }
    }
    // Bounds need not form a valid variogram: never claim less than one
    // sampled block of noise per point.
    return std::max(variance, 0.5 * s_.noise_bytes() * s_.noise_bytes() * sum_sq);
  }

  // Residual variance around least-squares lines fitted on each range of
  // positions in `pieces`: the scatter a curve leaves, 0 with no degree of
  // freedom left.
  double ResidualVariance(const std::vector<std::pair<size_t, size_t>>& pieces) const {
    double sum = 0;
    size_t points = 0;
    for (auto [from, to] : pieces) {
      double slope = Apply(SlopeWeights(from, to));
      double mean_x = 0, mean_y = 0;
      for (size_t a = from; a < to; ++a) mean_x += x(a), mean_y += y(a);
      mean_x /= static_cast<double>(to - from);
      mean_y /= static_cast<double>(to - from);
      for (size_t a = from; a < to; ++a) {
        double r = y(a) - mean_y - slope * (x(a) - mean_x);
        sum += r * r;
      }
      points += to - from;
    }
    size_t fitted = 2 * pieces.size();
    return points > fitted ? sum / static_cast<double>(points - fitted) : 0;
  }

  // The larger of the bound and what the residual scatter implies if it
  // were independent noise.
  double Variance(const std::vector<double>& c, double residual_variance) const {
    double sum_sq = 0;
    for (double w : c) sum_sq += w * w;
    return std::max(Variance(c), residual_variance * sum_sq);
  }

 private:
  const Series& s_;
  Axis axis_;
  std::vector<size_t> index_;
};

// Theil-Sen slope (median of pairwise slopes) of [begin, end) per
// snapshot, thinned to kMaxWindowPoints bins (median position and value of
// each). Per snapshot rather than per second: a stall of the program or a
// late snapshot (one long interval) would otherwise stretch a slope taken
// from the other intervals over it.
double TheilSenSlopePerSnapshot(const Series& s, size_t begin, size_t end) {
  std::vector<double> xs, ys;
  size_t n = end - begin, bins = std::min(n, kMaxWindowPoints);
  for (size_t b = 0; b < bins; ++b) {
    std::vector<double> bx, by;
    for (size_t i = begin + b * n / bins; i < begin + (b + 1) * n / bins; ++i) {
      bx.push_back(static_cast<double>(i));
      by.push_back(s.y(i));
    }
    xs.push_back(Median(std::move(bx)));
    ys.push_back(Median(std::move(by)));
  }
  std::vector<double> slopes;
  for (size_t i = 0; i < xs.size(); ++i) {
    for (size_t j = i + 1; j < xs.size(); ++j) slopes.push_back((ys[j] - ys[i]) / (xs[j] - xs[i]));
  }
  return Median(std::move(slopes));
}

// Rule 2's least-squares line over the window along one axis.
struct LineFit {
  double growth = 0;         // bytes over the window
  double z = 0;              // growth over its noise
  double blocks = 0;         // growth in sampled blocks (absolute)
  double line_residual = 0;  // the scatter around the line
  bool Sized() const { return z >= kGrowthZ && blocks >= kMinEvidenceBlocks; }
};

LineFit FitLine(const Series& s, const Window& window) {
  LineFit fit;
  const size_t k = window.size();
  const std::vector<double> whole = window.SlopeWeights(0, k);
  const double span = window.x(k - 1) - window.x(0);
  fit.line_residual = window.ResidualVariance({{0, k}});
  fit.growth = window.Apply(whole) * span;
  fit.z = ZScore(fit.growth, window.Variance(whole, fit.line_residual) * span * span);
  fit.blocks = std::abs(s.Blocks(fit.growth));
  return fit;
}

// Rule 3 along one axis: whether the late half of the window still grows
// and did not slow down.
struct Sustained {
  bool sustained = false;
  double late_z = 0;
  double slowdown_z = 0;
};

Sustained JudgeSustained(const Window& window, double line_residual) {
  const size_t k = window.size();
  // Early and late parts of the window, sharing one snapshot.
  const size_t mid = static_cast<size_t>((1 - kLateFraction) * static_cast<double>(k - 1));
  const std::vector<double> early = window.SlopeWeights(0, mid + 1), late = window.SlopeWeights(mid, k);
  const double early_slope = window.Apply(early), late_slope = window.Apply(late);
  // Two lines need 7 points to leave 3 degrees of freedom; below, the
  // one-line scatter stands in.
  const double residual = k >= 7 ? window.ResidualVariance({{0, mid + 1}, {mid, k}}) : line_residual;
  std::vector<double> slowdown(k);
  for (size_t i = 0; i < k; ++i) slowdown[i] = early[i] - late[i];
  Sustained result;
  result.late_z = ZScore(late_slope, window.Variance(late, residual));
  result.slowdown_z = ZScore(early_slope - late_slope, window.Variance(slowdown, residual));
  const bool slowed = result.slowdown_z >= kSlowdownZ && late_slope < kSlowdownRatio * early_slope;
  result.sustained = result.late_z >= kLateGrowthZ && !slowed;
  return result;
}

struct Swings {
  int falls = 0;
  double median_fall = 0;  // bytes
};

// The significant falls of a zig-zag over [begin, end): moves that reverse
// the direction by >= kFallRangeFraction of the range and by enough sigma.
Swings CountSwings(const Series& s, size_t begin, size_t end) {
  Swings swings;
  if (end - begin < 2) return swings;
  double lowest = kInf, highest = -kInf;
  for (size_t i = begin; i < end; ++i) {
    lowest = std::min(lowest, s.y(i));
    highest = std::max(highest, s.y(i));
  }
  const double min_move = kFallRangeFraction * (highest - lowest);
  const double fall_z =
      std::max(kFallZ, std::sqrt(2 * std::log(static_cast<double>(end - begin) / kFallAlpha)));
  auto significant = [&](size_t a, size_t b) {
    double move = std::abs(s.y(b) - s.y(a));
    return move > 0 && move >= min_move && move >= fall_z * std::sqrt(s.PairVariance(a, b));
  };
  std::vector<double> falls;
  int direction = 0;  // +1 rising from a trough, -1 falling from a peak
  size_t low = begin, high = begin, extreme = begin;
  for (size_t i = begin + 1; i < end; ++i) {
    if (direction == 0) {
      if (s.y(i) > s.y(high)) high = i;
      if (s.y(i) < s.y(low)) low = i;
      if (low < i && s.y(i) > s.y(low) && significant(low, i)) {
        direction = 1, extreme = i;
      } else if (high < i && s.y(i) < s.y(high) && significant(high, i)) {
        falls.push_back(s.y(high) - s.y(i));
        direction = -1, extreme = i;
      }
    } else if (direction > 0) {
      if (s.y(i) >= s.y(extreme)) {
        extreme = i;
      } else if (significant(extreme, i)) {
        falls.push_back(s.y(extreme) - s.y(i));
        direction = -1, extreme = i;
      }
    } else {
      if (s.y(i) <= s.y(extreme)) {
        extreme = i;
        falls.back() = std::max(falls.back(), s.y(high) - s.y(i));
      } else if (significant(extreme, i)) {
        direction = 1, extreme = i;
      }
    }
    if (direction > 0) high = extreme;
  }
  swings.falls = static_cast<int>(falls.size());
  swings.median_fall = Median(std::move(falls));
  return swings;
}

size_t ArgMin(const Series& s, size_t from, size_t to) {
  size_t best = from;
  for (size_t i = from; i < to; ++i) {
    if (s.y(i) < s.y(best)) best = i;
  }
  return best;
}

}  // namespace

std::string_view GrowthKindName(GrowthKind kind) {
  switch (kind) {
    case GrowthKind::kStable: return "stable";
    case GrowthKind::kLeak: return "leak";
    case GrowthKind::kPlateau: return "plateau";
    case GrowthKind::kSawtooth: return "sawtooth";
    case GrowthKind::kShrinking: return "shrinking";
  }
  return "stable";
}

SiteHistory SampledHistory(std::vector<double> seconds, std::vector<double> inuse_bytes,
                           std::vector<double> allocated_bytes, double period) {
  SiteHistory h;
  const double per_byte = period > 1 ? period : 0;
  SamplingNoise noise;
  for (double b : inuse_bytes) noise.inuse_variance.push_back(b * per_byte);
  for (double a : allocated_bytes) noise.allocated_variance.push_back(a * per_byte);
  h.seconds = std::move(seconds);
  h.inuse_bytes = std::move(inuse_bytes);
  h.noise.push_back(std::move(noise));
  return h;
}

GrowthVerdict ClassifyGrowth(const SiteHistory& history, const GrowthOptions& options) {
  GrowthVerdict v;
  const Series s(history);
  const size_t n = s.size();
  if (n == 0) {
    v.reason = "no snapshots";
    return v;
  }

  // The window: after the warm-up.
  const double t0 = s.t(0);
  const double warmup = options.warmup_seconds ? *options.warmup_seconds : options.warmup_fraction * (s.t(n - 1) - t0);
  size_t begin = 0;
  while (begin + 1 < n && s.t(begin) - t0 < warmup) ++begin;
  if (!options.warmup_seconds) {
    // Nor more than that fraction of the snapshots: one long interval late
    // in the run (a stall) would otherwise make most of them warm-up.
    const double by_order = std::ceil(options.warmup_fraction * static_cast<double>(n - 1) - 1e-9);
    begin = std::min(begin, static_cast<size_t>(std::max(0.0, by_order)));
  }
  const size_t end = n, m = end - begin;
  v.window_begin = begin;
  v.judged = m >= kMinJudgedSnapshots;

  const double window_seconds = s.t(end - 1) - s.t(begin);
  if (m >= 2) {
    v.growth_bytes = TheilSenSlopePerSnapshot(s, begin, end) * static_cast<double>(m - 1);
    if (window_seconds > 0) v.growth_bytes_per_sec = v.growth_bytes / window_seconds;
  }
  const Window window(s, begin, end);
  const TrendTest trend = MannKendall(window.Values());
  v.trend_z = trend.z;
  const LineFit in_time = FitLine(s, window);
  v.growth_z = in_time.z;
  v.evidence_blocks = in_time.blocks;
  const Swings series_swings = CountSwings(s, 0, end), window_swings = CountSwings(s, begin, end);
  v.falls = series_swings.falls;

  if (v.judged && window_swings.falls >= kMinFloorFalls) {
    // Rule 4: a site that gave memory back leaks only if its floor rises.
    const size_t third = m / 3, a = begin + third, b = end - third;
    const size_t f1 = ArgMin(s, begin, a), f2 = ArgMin(s, a, b), f3 = ArgMin(s, b, end);
    const double rise1 = s.y(f2) - s.y(f1), rise2 = s.y(f3) - s.y(f2);
    // One snapshot's share of a typical cycle's climb.
    const double phase_margin = window_swings.median_fall * window_swings.falls / static_cast<double>(m);
    if (ZScore(rise1, s.PairVariance(f1, f2)) >= kFloorZ && ZScore(rise2, s.PairVariance(f2, f3)) >= kFloorZ &&
        rise1 > phase_margin && rise2 > phase_margin && s.Blocks(s.y(f3) - s.y(f1)) >= kMinEvidenceBlocks) {
      v.kind = GrowthKind::kLeak;
      v.reason = absl::StrFormat("falls back %d times, but its lowest level rises in every third of the run",
                                 window_swings.falls);
      return v;
    }
  }
  if (v.judged && series_swings.falls >= 2) {
    v.kind = GrowthKind::kSawtooth;
    v.reason = absl::StrFormat("falls back %d times; its lowest level does not keep rising", series_swings.falls);
    return v;
  }
  size_t rises = 0;
  for (size_t i = begin; i + 1 < end; ++i) rises += s.y(i + 1) > s.y(i);
  const bool repeated = rises >= kMinRises && v.growth_bytes > 0;
  // Rules 2 and 3 are judged with slopes in time and again in snapshot
  // order (see rule 3 above), the second only for the few sites that pass
  // the cheaper rules.
  if (v.judged && window_swings.falls == 0 && trend.p_increasing <= kTrendAlpha && repeated) {
    const Window ordered(s, begin, end, Axis::kOrder);
    const LineFit in_order = FitLine(s, ordered);
    if (in_time.Sized() || in_order.Sized()) {
      // Rule 3 along each axis on which rule 2 holds.
      const Sustained time_shape = in_time.Sized() ? JudgeSustained(window, in_time.line_residual) : Sustained{};
      const Sustained order_shape =
          in_order.Sized() ? JudgeSustained(ordered, in_order.line_residual) : Sustained{};
      const bool by_order = !time_shape.sustained && (order_shape.sustained || !in_time.Sized());
      const Sustained& shown = by_order ? order_shape : time_shape;
      if (by_order) {
        v.growth_z = in_order.z;
        v.evidence_blocks = in_order.blocks;
      }
      if (shown.sustained) {
        v.kind = GrowthKind::kLeak;
        v.reason = absl::StrFormat(
            "grows through the run (trend z=%.1f; growth %.1f sigma, %.0f sampled blocks; late half %.1f sigma%s)",
            v.trend_z, v.growth_z, v.evidence_blocks, shown.late_z, by_order ? ", in snapshot order" : "");
        return v;
      }
      v.kind = GrowthKind::kPlateau;
      v.reason = shown.late_z < kLateGrowthZ
                     ? absl::StrFormat("grew, but not in the late half of the run (%.1f sigma)", shown.late_z)
                     : absl::StrFormat("grew, but slowed to less than half its early rate (%.1f sigma)",
                                       shown.slowdown_z);
      return v;
    }
  }
  if (v.judged && trend.p_decreasing <= kTrendAlpha && v.growth_z <= -kGrowthZ &&
      v.evidence_blocks >= kMinEvidenceBlocks) {
    v.kind = GrowthKind::kShrinking;
    v.reason = absl::StrFormat("declines after the warm-up (%.1f sigma)", -v.growth_z);
    return v;
  }
  // Grew from the first snapshot to the window's late level, and stopped?
  std::vector<double> late_values;
  for (size_t i = end - std::max<size_t>(1, m / 3); i < end; ++i) late_values.push_back(s.y(i));
  const double rise = Median(std::move(late_values)) - s.y(0);
  const double rise_z = ZScore(rise, s.PairVariance(0, end - 1));
  if (rise_z >= kGrowthZ && s.Blocks(rise) >= kMinEvidenceBlocks) {
    v.kind = GrowthKind::kPlateau;
    v.reason = v.judged ? "grew, then stopped" : "grew (too few snapshots after the warm-up to judge more)";
    return v;
  }
  if (!v.judged && rise_z <= -kGrowthZ && s.Blocks(-rise) >= kMinEvidenceBlocks) {
    v.kind = GrowthKind::kShrinking;
    v.reason = "declined (too few snapshots after the warm-up to judge more)";
    return v;
  }
  v.kind = GrowthKind::kStable;
  v.reason = v.judged ? "no change beyond noise" : "too few snapshots after the warm-up to judge";
  return v;
}

}  // namespace heapwatch
