// Our -log and expm1 (preload/elementary_functions.h) against libm's, over
// the ranges the preload uses them on and beyond.
#include "preload/elementary_functions.h"

#include <cmath>
#include <random>

#include <gtest/gtest.h>

namespace heapwatch {
namespace {

double RelativeError(double ours, double reference) {
  if (reference == 0) return std::fabs(ours);
  return std::fabs(ours - reference) / std::fabs(reference);
}

TEST(ElementaryFunctionsTest, NaturalLogMatchesLibm) {
  // The sampler's uniforms: (0, 1] in steps of 2^-53, so from 2^-53 up.
  EXPECT_EQ(NaturalLog(1.0), 0.0);
  for (double x : {0x1.0p-53, 1e-10, 0.25, 0.5, 0.70710678118654752, 0.70710678118654757, 0.9999999, 1.0 - 0x1.0p-53,
                   1.5, 2.0, 1e10, 1e300}) {
    EXPECT_LT(RelativeError(NaturalLog(x), std::log(x)), 1e-14) << x;
  }
  std::mt19937_64 rng(3);
  double worst = 0, worst_at = 0;
  for (int i = 0; i < 1'000'000; ++i) {
    double u = static_cast<double>((rng() >> 11) + 1) * 0x1.0p-53;  // as NextGap draws it
    double x = i % 2 == 0 ? u : std::ldexp(u, static_cast<int>(rng() % 200) - 100);
    double error = std::fabs(NaturalLog(x) - std::log(x));  // absolute: log(x) crosses 0 at 1
    if (error > worst) worst = error, worst_at = x;
  }
  EXPECT_LT(worst, 1e-13) << "at " << worst_at;
}

TEST(ElementaryFunctionsTest, ExpMinus1MatchesLibm) {
  EXPECT_EQ(ExpMinus1(0.0), 0.0);
  EXPECT_EQ(ExpMinus1(-1e6), -1.0);
  EXPECT_TRUE(std::isinf(ExpMinus1(1e6)));
  std::mt19937_64 rng(4);
  double worst = 0, worst_at = 0;
  for (int i = 0; i < 1'000'000; ++i) {
    // The profile writer's arguments: -(average block size / rate), from
    // -1e-12 (tiny blocks, huge rate) to -700; and positive ones too.
    double magnitude = std::ldexp(static_cast<double>(rng() >> 11) * 0x1.0p-53, static_cast<int>(rng() % 50) - 40);
    double x = i % 4 == 0 ? magnitude : -magnitude;
    if (x < -700 || x > 700) continue;
    double error = RelativeError(ExpMinus1(x), std::expm1(x));
    if (error > worst) worst = error, worst_at = x;
  }
  EXPECT_LT(worst, 1e-13) << "at " << worst_at;
  for (double x : {-700.0, -50.0, -0.5, -0.4999999, 0.4999999, 0.5, 1.0, 50.0, 700.0}) {
    EXPECT_LT(RelativeError(ExpMinus1(x), std::expm1(x)), 1e-13) << x;
  }
}

}  // namespace
}  // namespace heapwatch
