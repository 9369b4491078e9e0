// Synthetic in-use histories for the growth classifier's tests, sampled the
// way heapwatch's (and Go's) byte sampler samples a real heap.
//
// A site's true in-use bytes follow a shape (flat, linear leak, staircase,
// plateau, sawtooth) made of blocks of one size. Each block is sampled once,
// when it is allocated, with probability p = 1 - exp(-size / period), and
// stays sampled (or not) until it is freed: so blocks alive at two snapshots
// add no noise to their difference, and the noise comes from the blocks
// allocated or freed in between. Between snapshots a fraction `churn` of the
// surviving blocks is freed and replaced by new ones (churn 1: every block
// is new at every snapshot, the noisiest case; churn 0: blocks live until
// the shape shrinks). Counts are drawn as the sums of those Bernoulli trials
// (binomial thinning for survivors, Poisson for new blocks, since p is
// small), then un-sampled as the profile writer does.

#ifndef HEAPWATCH_TESTS_UNIT_SYNTHETIC_HEAP_SERIES_H_
#define HEAPWATCH_TESTS_UNIT_SYNTHETIC_HEAP_SERIES_H_

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "analyzer/growth_classifier.h"

namespace heapwatch::testing {

inline constexpr double kDefaultPeriod = 512 * 1024;  // heapwatch's and Go's default rate
inline constexpr double kMiB = 1024 * 1024;

struct SamplerModel {
  double period = kDefaultPeriod;
  double block_bytes = 4096;
  double churn = 1;  // fraction of surviving blocks replaced between snapshots
};

// Samples `truth` (true in-use bytes per snapshot, `interval` seconds apart).
inline SiteHistory SampleHistory(const std::vector<double>& truth, const SamplerModel& model, std::mt19937_64& rng,
                                 double interval = 5) {
  const double s = model.block_bytes;
  const double p = model.period > 1 ? -std::expm1(-s / model.period) : 1;
  const double weight = s / p;           // bytes one sampled block stands for
  const double noise = s * (1 - p) / p;  // variance per un-sampled byte
  auto poisson = [&](double mean) -> double {
    if (mean <= 0) return 0;
    return static_cast<double>(std::poisson_distribution<int64_t>(mean)(rng));
  };
  auto binomial = [&](double trials, double q) -> double {
    if (trials <= 0 || q <= 0) return 0;
    if (q >= 1) return trials;
    return static_cast<double>(std::binomial_distribution<int64_t>(static_cast<int64_t>(trials), q)(rng));
  };
  SiteHistory h;
  SamplingNoise noise_sums;
  double sampled = 0, allocated = 0;  // sampled blocks alive; sampled blocks ever allocated
  for (size_t i = 0; i < truth.size(); ++i) {
    double fresh_bytes = truth[i];
    if (i > 0 && truth[i - 1] > 0) {
      double surviving = (1 - model.churn) * std::min(truth[i - 1], truth[i]);
      sampled = binomial(sampled, surviving / truth[i - 1]);
      fresh_bytes = truth[i] - surviving;
    } else {
      sampled = 0;
    }
    double fresh = p < 1 ? poisson(fresh_bytes / s * p) : std::round(fresh_bytes / s);
    sampled += fresh;
    allocated += fresh;
    double inuse = sampled * weight, total = allocated * weight;
    h.seconds.push_back(static_cast<double>(i) * interval);
    h.inuse_bytes.push_back(inuse);
    noise_sums.inuse_variance.push_back(inuse * noise);
    noise_sums.allocated_variance.push_back(total * noise);
  }
  h.noise.push_back(std::move(noise_sums));
  return h;
}

// The history of a site made of independent parts (say a leak whose blocks
// are never freed, churn 0, under a stable heap that churns): each part is
// sampled on its own and the estimates add up. With separate_stacks the
// parts are different stacks of one rolled-up function, and the history
// keeps their noise apart; otherwise they share one stack, and only the sums
// are known.
struct SitePart {
  std::vector<double> truth;
  double churn = 1;
};

inline SiteHistory SampleSite(const std::vector<SitePart>& parts, SamplerModel model, std::mt19937_64& rng,
                              bool separate_stacks = false, double interval = 5) {
  SiteHistory sum;
  for (const SitePart& part : parts) {
    model.churn = part.churn;
    SiteHistory h = SampleHistory(part.truth, model, rng, interval);
    if (sum.seconds.empty()) {
      sum = std::move(h);
      continue;
    }
    for (size_t i = 0; i < h.seconds.size(); ++i) sum.inuse_bytes[i] += h.inuse_bytes[i];
    if (separate_stacks) {
      sum.noise.push_back(std::move(h.noise[0]));
      continue;
    }
    for (size_t i = 0; i < h.seconds.size(); ++i) {
      sum.noise[0].inuse_variance[i] += h.noise[0].inuse_variance[i];
      sum.noise[0].allocated_variance[i] += h.noise[0].allocated_variance[i];
    }
  }
  return sum;
}

// ---- Shapes: true in-use bytes at each of n snapshots ----

inline std::vector<double> Flat(size_t n, double level) { return std::vector<double>(n, level); }

// base, growing by `growth` evenly from the first snapshot to the last.
inline std::vector<double> LinearLeak(size_t n, double base, double growth) {
  std::vector<double> v;
  for (size_t i = 0; i < n; ++i) v.push_back(base + growth * static_cast<double>(i) / static_cast<double>(n - 1));
  return v;
}

// base, growing by `growth` in equal steps, one every `every` snapshots.
inline std::vector<double> StepLeak(size_t n, double base, double growth, size_t every) {
  size_t steps = (n - 1) / every;
  std::vector<double> v;
  for (size_t i = 0; i < n; ++i) v.push_back(base + growth * static_cast<double>(i / every) / static_cast<double>(steps));
  return v;
}

// Fills to `level` linearly until fraction `knee` of the series, flat after.
inline std::vector<double> Plateau(size_t n, double level, double knee) {
  std::vector<double> v;
  for (size_t i = 0; i < n; ++i) {
    double x = static_cast<double>(i) / static_cast<double>(n - 1);
    v.push_back(level * std::min(1.0, x / knee));
  }
  return v;
}

// Fills towards `level` as 1 - exp(-x / tau) (x from 0 to 1 over the series):
// a cache whose hit rate rises as it fills.
inline std::vector<double> SaturatingPlateau(size_t n, double level, double tau) {
  std::vector<double> v;
  for (size_t i = 0; i < n; ++i) {
    double x = static_cast<double>(i) / static_cast<double>(n - 1);
    v.push_back(level * -std::expm1(-x / tau));
  }
  return v;
}

// base plus a batch buffer that grows to `amplitude` over `period`
// snapshots and is freed at once; `phase` in [0, 1).
inline std::vector<double> Sawtooth(size_t n, double base, double amplitude, double period, double phase) {
  std::vector<double> v;
  for (size_t i = 0; i < n; ++i) {
    double x = static_cast<double>(i) / period + phase;
    v.push_back(base + amplitude * (x - std::floor(x)));
  }
  return v;
}

}  // namespace heapwatch::testing

#endif  // HEAPWATCH_TESTS_UNIT_SYNTHETIC_HEAP_SERIES_H_
