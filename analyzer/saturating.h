// Saturating int64 sums, for totals over untrusted sample values.
//
// The codec bounds every value to +-2^53, but a profile may hold millions of
// them; a sum that would overflow (undefined behaviour, and a UBSan abort)
// sticks at +-INT64_MAX instead. The range is symmetric so that negating a
// sum (diff's base side) is always defined.

#ifndef HEAPWATCH_ANALYZER_SATURATING_H_
#define HEAPWATCH_ANALYZER_SATURATING_H_

#include <cstdint>
#include <limits>

namespace heapwatch {

inline int64_t SaturatingAdd(int64_t a, int64_t b) {
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  int64_t sum;
  if (__builtin_add_overflow(a, b, &sum)) return a > 0 ? kMax : -kMax;
  if (sum < -kMax) return -kMax;
  return sum;
}

inline int64_t SaturatingSub(int64_t a, int64_t b) {
  // b is never INT64_MIN here: every value passes through SaturatingAdd or
  // the codec's bound first.
  return SaturatingAdd(a, b == std::numeric_limits<int64_t>::min() ? std::numeric_limits<int64_t>::max() : -b);
}

}  // namespace heapwatch

#endif  // HEAPWATCH_ANALYZER_SATURATING_H_
