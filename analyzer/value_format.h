// Sample values as people read them, shared by the text reports (top, diff).
//
// Bytes get binary prefixes (B, KiB, MiB, GiB, TiB: 1 KiB = 1024 B, two
// decimals from 1 KiB up); every other unit (count, objects, nanoseconds...)
// is printed as a plain integer. Not for machine-readable output: JSON carries
// raw integers.

#ifndef HEAPWATCH_ANALYZER_VALUE_FORMAT_H_
#define HEAPWATCH_ANALYZER_VALUE_FORMAT_H_

#include <cstdint>
#include <string>
#include <string_view>

namespace heapwatch {

// "512 B", "1.50 MiB", "-2.00 KiB", "1234".
std::string FormatValue(int64_t value, std::string_view unit);

// Like FormatValue with an explicit sign on non-zero values: "+1.50 MiB", "-3", "0".
std::string FormatDelta(int64_t value, std::string_view unit);

// value / total as a percentage with two decimals ("12.34%"); "0.00%" when
// total is 0.
std::string FormatPercent(int64_t value, int64_t total);

}  // namespace heapwatch

#endif  // HEAPWATCH_ANALYZER_VALUE_FORMAT_H_
