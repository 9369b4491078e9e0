// At the default rate the profile holds estimates. They must be unbiased
// and as precise as the sampling allows: within 6 standard deviations of the
// truth (a correct profiler fails this about once in 5e8 runs per check).
#include <cmath>

#include <gtest/gtest.h>

#include "tests/e2e/preload_harness.h"
#include "tests/programs/sampling_accuracy.h"

namespace heapwatch::testing {
namespace {

// The standard deviation of the un-sampled byte estimate for `count` blocks
// of `size` bytes: each block is sampled with p = 1 - exp(-size/rate) and
// then counts size/p, so Var = count * size^2 * (1 - p) / p.
double EstimateSigma(double count, double size, double rate) {
  double p = -std::expm1(-size / rate);
  return std::sqrt(count * size * size * (1 - p) / p);
}

TEST(SamplingAccuracyTest, EstimatesAtTheDefaultRateAreWithinSixSigma) {
  std::string dir = MakeTempDir("out");
  ProcessResult r = RunUnderPreload({TestProgram("sampling_accuracy")}, dir, {}, 120);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::vector<std::string> files = ProfileFiles(dir);
  ASSERT_EQ(files.size(), 1u);
  perftools::profiles::Profile p = ReadProfile(files[0]);
  const double rate = 524288;
  ASSERT_EQ(p.period(), rate);
  for (const sampling_accuracy::Site& site : sampling_accuracy::kSites) {
    HeapTotals totals = TotalsAtLeaf(p, site.function);
    double truth = static_cast<double>(site.count) * site.size;
    double bound = 6 * EstimateSigma(site.count, site.size, rate);
    EXPECT_NEAR(totals.alloc_space, truth, bound) << site.function;
    // Objects: the same relative error (the site's blocks share one size).
    EXPECT_NEAR(totals.alloc_objects, site.count, bound / site.size + 1) << site.function;
    if (site.kept) {
      EXPECT_NEAR(totals.inuse_space, truth, bound) << site.function;
      EXPECT_EQ(totals.inuse_space, totals.alloc_space) << site.function << ": nothing was freed";
    } else {
      EXPECT_EQ(totals.inuse_space, 0) << site.function;
    }
  }
}

}  // namespace
}  // namespace heapwatch::testing
