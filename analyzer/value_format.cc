#include "analyzer/value_format.h"

#include <array>

#include "absl/strings/str_format.h"

namespace heapwatch {

std::string FormatValue(int64_t value, std::string_view unit) {
  if (unit != "bytes") return absl::StrFormat("%d", value);
  static constexpr std::array<const char*, 5> kUnits = {"B", "KiB", "MiB", "GiB", "TiB"};
  // Work on the magnitude as a double: exact up to 2^53, the codec's bound.
  double magnitude = value < 0 ? -static_cast<double>(value) : static_cast<double>(value);
  if (magnitude < 1024) return absl::StrFormat("%d B", value);
  size_t unit_index = 0;
  // 1023.995 and up would print as "1024.00": that is the next unit.
  while (magnitude >= 1023.995 && unit_index + 1 < kUnits.size()) {
    magnitude /= 1024;
    ++unit_index;
  }
  return absl::StrFormat("%s%.2f %s", value < 0 ? "-" : "", magnitude, kUnits[unit_index]);
}

std::string FormatDelta(int64_t value, std::string_view unit) {
  std::string text = FormatValue(value, unit);
  return value > 0 ? "+" + text : text;
}

std::string FormatPercent(int64_t value, int64_t total) {
  double percent = total == 0 ? 0.0 : 100.0 * static_cast<double>(value) / static_cast<double>(total);
  return absl::StrFormat("%.2f%%", percent);
}

}  // namespace heapwatch
