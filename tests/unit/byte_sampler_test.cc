#include "preload/byte_sampler.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include <gtest/gtest.h>

namespace heapwatch {
namespace {

// Bounds are 6 standard deviations: a correct sampler fails one run in ~5e8.
constexpr double kSigmas = 6;

class ByteSamplerTest : public ::testing::Test {
 protected:
  void SetUp() override { ByteSampler::SetRate(512 * 1024); }
  void TearDown() override { ByteSampler::SetRate(512 * 1024); }
};

TEST_F(ByteSamplerTest, StaysSmall) {
  // It lives in every thread's TLS next to the hot path: half a cache line,
  // so ThreadState stays within one.
  static_assert(sizeof(ByteSampler) <= 32, "ByteSampler grew");
}

TEST_F(ByteSamplerTest, GapsAreExponentialWithTheRateAsMean) {
  ByteSampler sampler;
  sampler.SeedForTesting(42);
  const int64_t rate = 512 * 1024;
  const int n = 200000;
  std::vector<double> gaps(n);
  double sum = 0, sum_squares = 0;
  for (double& gap : gaps) {
    gap = static_cast<double>(sampler.NextGap(rate));
    sum += gap;
    sum_squares += gap * gap;
  }
  double mean = sum / n;
  double variance = sum_squares / n - mean * mean;
  // An exponential's standard deviation equals its mean.
  EXPECT_NEAR(mean, rate, kSigmas * rate / std::sqrt(n));
  EXPECT_NEAR(std::sqrt(variance), rate, 0.02 * rate);
  // Kolmogorov-Smirnov against 1 - exp(-x/rate). The critical value at
  // significance 1e-6 is sqrt(-ln(1e-6 / 2) / (2n)).
  std::sort(gaps.begin(), gaps.end());
  double d = 0;
  for (int i = 0; i < n; ++i) {
    double cdf = 1 - std::exp(-gaps[i] / rate);
    d = std::max({d, cdf - static_cast<double>(i) / n, static_cast<double>(i + 1) / n - cdf});
  }
  EXPECT_LT(d, std::sqrt(-std::log(1e-6 / 2) / (2.0 * n)));
}

// Allocations of one size: the fraction sampled is 1 - exp(-size/rate), and
// the un-sampled estimate of the bytes is unbiased.
void CheckSize(size_t size, int allocations, uint64_t seed) {
  const double rate = static_cast<double>(ByteSampler::rate());
  ByteSampler sampler;
  sampler.SeedForTesting(seed);
  int sampled = 0;
  for (int i = 0; i < allocations; ++i) {
    if (!sampler.TryRecordAllocationFast(size) && sampler.RecordAllocationSlow(size)) ++sampled;
  }
  double p = 1 - std::exp(-static_cast<double>(size) / rate);
  double expected = p * allocations;
  double sigma = std::sqrt(allocations * p * (1 - p));
  EXPECT_NEAR(sampled, expected, kSigmas * sigma + 1) << "size " << size;
  if (p > 0) {
    double estimate = sampled * static_cast<double>(size) / p;
    double truth = static_cast<double>(size) * allocations;
    EXPECT_NEAR(estimate, truth, (kSigmas * sigma + 1) * static_cast<double>(size) / p) << "size " << size;
  }
}

TEST_F(ByteSamplerTest, SampleProbabilityAndUnbiasedEstimateAcrossSizes) {
  CheckSize(0, 100000, 1);  // never sampled at the default rate
  CheckSize(16, 2000000, 2);
  CheckSize(4096, 400000, 3);
  CheckSize(512 * 1024, 20000, 4);
  CheckSize(size_t{64} << 20, 2000, 5);
  CheckSize(size_t{1} << 30, 200, 6);
}

TEST_F(ByteSamplerTest, MixedSizesEstimateTotalBytes) {
  ByteSampler sampler;
  sampler.SeedForTesting(7);
  const double rate = static_cast<double>(ByteSampler::rate());
  double truth = 0, estimate = 0, variance = 0;
  uint64_t x = 12345;
  for (int i = 0; i < 1000000; ++i) {
    x = x * 6364136223846793005ull + 1442695040888963407ull;
    size_t size = size_t{1} << ((x >> 33) % 20);  // 1 B .. 512 KiB
    truth += static_cast<double>(size);
    double p = 1 - std::exp(-static_cast<double>(size) / rate);
    variance += static_cast<double>(size) * static_cast<double>(size) * (1 - p) / p;
    if (!sampler.TryRecordAllocationFast(size) && sampler.RecordAllocationSlow(size)) {
      estimate += static_cast<double>(size) / p;
    }
  }
  EXPECT_NEAR(estimate, truth, kSigmas * std::sqrt(variance));
}

TEST_F(ByteSamplerTest, RateOneSamplesEverythingIncludingZeroBytes) {
  ByteSampler::SetRate(1);
  ByteSampler sampler;
  for (size_t size : {0, 1, 16, 1000, 1 << 20}) {
    for (int i = 0; i < 3; ++i) {
      EXPECT_FALSE(sampler.TryRecordAllocationFast(size));
      EXPECT_TRUE(sampler.RecordAllocationSlow(size));
    }
  }
}

TEST_F(ByteSamplerTest, DisarmedSamplerJudgesTheNextAllocationAfresh) {
  // A disarmed sampler must not sample the next allocation for certain: over
  // many disarm/allocate rounds, 16-byte allocations are sampled about as
  // often as any 16-byte allocation is.
  ByteSampler sampler;
  sampler.SeedForTesting(9);
  int sampled = 0;
  const int rounds = 100000;
  for (int i = 0; i < rounds; ++i) {
    sampler.Disarm();
    if (!sampler.TryRecordAllocationFast(16) && sampler.RecordAllocationSlow(16)) ++sampled;
  }
  double p = 1 - std::exp(-16.0 / ByteSampler::rate());
  EXPECT_NEAR(sampled, p * rounds, kSigmas * std::sqrt(rounds * p) + 1);
}

TEST_F(ByteSamplerTest, CheckInsStopTheCountdownWithoutMovingSamplePoints) {
  // Two samplers with one seed see the same allocations; one has check-ins
  // every 4 KiB. They must sample exactly the same allocations, and the one
  // with check-ins must reach its slow path at least every 4 KiB.
  ByteSampler plain, checked;
  plain.SeedForTesting(11);
  checked.SeedForTesting(11);
  uint64_t x = 5;
  int64_t since_slow_path = 0, longest = 0, sampled = 0;
  for (int i = 0; i < 2000000; ++i) {
    x = x * 6364136223846793005ull + 1442695040888963407ull;
    size_t size = 16 + (x >> 40) % 2000;
    ByteSampler::SetCheckInInterval(0);
    bool a = !plain.TryRecordAllocationFast(size) && plain.RecordAllocationSlow(size);
    ByteSampler::SetCheckInInterval(4096);
    bool b;
    if (checked.TryRecordAllocationFast(size)) {
      b = false;
      since_slow_path += static_cast<int64_t>(size);
    } else {
      b = checked.RecordAllocationSlow(size);
      since_slow_path = 0;
    }
    longest = std::max(longest, since_slow_path);
    ASSERT_EQ(a, b) << "allocation " << i;
    sampled += a;
  }
  ByteSampler::SetCheckInInterval(0);
  EXPECT_LE(longest, 4096);
  EXPECT_GT(sampled, 1000);  // the comparison meant something
}

}  // namespace
}  // namespace heapwatch
