// The two elementary functions the preload needs, -log(u) for the sampler's
// gaps and expm1(x) for un-sampling the profile, written out so that the
// library does not link libm.
//
// Why not libm: it is what a program pays for in resident memory. A program
// that does not use libm otherwise gets it loaded only for us, and one that
// does use it still has to fault in log's and expm1's code and tables, and
// the kernel maps 64 KiB around each first touch of a file page (sqlite3
// under the preload: +176 KiB of libm). Neither function needs the last ulp
// here: a sample gap and a scale factor with a relative error below 1e-12
// are indistinguishable from exact ones.

#ifndef HEAPWATCH_PRELOAD_ELEMENTARY_FUNCTIONS_H_
#define HEAPWATCH_PRELOAD_ELEMENTARY_FUNCTIONS_H_

#include <cstdint>
#include <cstring>

namespace heapwatch {

inline constexpr double kLn2 = 0.693147180559945309417232121458176568;

// ln(x) for a finite x > 0 (normal, not subnormal).
inline double NaturalLog(double x) {
  uint64_t bits;
  std::memcpy(&bits, &x, sizeof(bits));
  int exponent = static_cast<int>((bits >> 52) & 0x7ff) - 1023;
  // The mantissa as m in [1, 2); then moved to [sqrt(1/2), sqrt(2)) so that
  // t below stays within +-0.172.
  bits = (bits & ((uint64_t{1} << 52) - 1)) | (uint64_t{1023} << 52);
  double m;
  std::memcpy(&m, &bits, sizeof(m));
  if (m > 1.4142135623730951) {
    m *= 0.5;
    exponent += 1;
  }
  // ln(m) = 2 atanh(t) = 2 (t + t^3/3 + t^5/5 + ...), t = (m - 1) / (m + 1):
  // with |t| < 0.172 the terms after t^19 are below 1e-16 of the sum.
  // The coefficients 1/k come from a table: written as 1.0 / k in a loop
  // over k, the compiler keeps the loop and divides nine times per call
  // (about 20 ns of a sample's ~300).
  static constexpr double kInverseOdd[] = {1.0 / 19, 1.0 / 17, 1.0 / 15, 1.0 / 13, 1.0 / 11,
                                           1.0 / 9,  1.0 / 7,  1.0 / 5,  1.0 / 3,  1.0};
  double t = (m - 1) / (m + 1);
  double t2 = t * t;
  double series = kInverseOdd[0];
  for (int i = 1; i < 10; ++i) series = series * t2 + kInverseOdd[i];
  return exponent * kLn2 + 2 * t * series;
}

// e^x - 1, accurate for small |x| (no cancellation). -1 below x = -700
// (e^-700 < 1e-304), infinity above 700.
inline double ExpMinus1(double x) {
  if (x < -700) return -1;
  if (x > 700) return __builtin_inf();
  double magnitude = x < 0 ? -x : x;
  if (magnitude < 0.5) {
    // Taylor series: at |x| < 0.5 the terms after x^20/20! are below 1e-25.
    double sum = 0, term = 1;
    for (int k = 1; k <= 20; ++k) {
      term *= x / k;
      sum += term;
    }
    return sum;
  }
  // e^x = 2^n e^r with |r| <= ln2/2; no cancellation in e^x - 1 here.
  int n = static_cast<int>(x / kLn2 + (x < 0 ? -0.5 : 0.5));
  double r = x - n * kLn2;
  double er = 1, term = 1;
  for (int k = 1; k <= 18; ++k) {
    term *= r / k;
    er += term;
  }
  uint64_t bits = static_cast<uint64_t>(n + 1023) << 52;  // 2^n, n in [-1010, 1010]
  double scale;
  std::memcpy(&scale, &bits, sizeof(scale));
  return er * scale - 1;
}

}  // namespace heapwatch

#endif  // HEAPWATCH_PRELOAD_ELEMENTARY_FUNCTIONS_H_
