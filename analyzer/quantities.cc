// Implementation of quantities.h.

#include "analyzer/quantities.h"

#include <array>
#include <cstdint>
#include <cctype>
#include <charconv>
#include <cmath>
#include <utility>

#include "absl/strings/str_format.h"
#include "analyzer/value_format.h"

namespace heapwatch {
namespace {

// A non-negative decimal number at the start of `text`; the rest in *rest.
std::optional<double> LeadingNumber(std::string_view text, std::string_view* rest) {
  size_t end = 0;
  while (end < text.size() && (std::isdigit(static_cast<unsigned char>(text[end])) || text[end] == '.')) ++end;
  if (end == 0) return std::nullopt;
  double value = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + end, value);
  if (ec != std::errc() || ptr != text.data() + end || !std::isfinite(value)) return std::nullopt;
  *rest = text.substr(end);
  while (!rest->empty() && rest->front() == ' ') rest->remove_prefix(1);
  return value;
}

std::string Lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::optional<double> SizeMultiplier(std::string_view suffix) {
  // Case matters only for the B of KB (decimal) vs KiB (binary); both k and
  // K are accepted.
  if (suffix.empty() || suffix == "B" || suffix == "b") return 1.0;
  static constexpr std::array<char, 4> kPrefixes = {'k', 'm', 'g', 't'};
  char prefix = static_cast<char>(std::tolower(static_cast<unsigned char>(suffix[0])));
  for (size_t i = 0; i < kPrefixes.size(); ++i) {
    if (prefix != kPrefixes[i]) continue;
    std::string_view unit = suffix.substr(1);
    double power = static_cast<double>(i + 1);
    if (unit.empty() || unit == "iB" || unit == "ib" || unit == "i") return std::pow(1024.0, power);
    if (unit == "B") return std::pow(1000.0, power);
    return std::nullopt;
  }
  return std::nullopt;
}

std::optional<double> SecondsPer(std::string_view unit) {
  std::string u = Lower(unit);
  if (u == "ms") return 0.001;
  if (u.empty() || u == "s" || u == "sec" || u == "secs" || u == "second" || u == "seconds") return 1.0;
  if (u == "m" || u == "min" || u == "mins" || u == "minute" || u == "minutes") return 60.0;
  if (u == "h" || u == "hr" || u == "hour" || u == "hours") return 3600.0;
  if (u == "d" || u == "day" || u == "days") return 86400.0;
  return std::nullopt;
}

// Nearest whole byte count, within int64 (value_format.h's domain).
int64_t RoundedBytes(double bytes) {
  constexpr double kLimit = 9.0e18;  // below 2^63
  if (!(std::abs(bytes) < kLimit)) return bytes < 0 ? -static_cast<int64_t>(kLimit) : static_cast<int64_t>(kLimit);
  return std::llround(bytes);
}

}  // namespace

std::optional<double> ParseBytes(std::string_view text) {
  std::string_view rest;
  std::optional<double> number = LeadingNumber(text, &rest);
  if (!number) return std::nullopt;
  std::optional<double> multiplier = SizeMultiplier(rest);
  if (!multiplier) return std::nullopt;
  return *number * *multiplier;
}

std::optional<double> ParseBytesPerSecond(std::string_view text) {
  size_t slash = text.find('/');
  std::optional<double> bytes = ParseBytes(text.substr(0, slash));
  if (!bytes) return std::nullopt;
  if (slash == std::string_view::npos) return bytes;
  std::string_view per = text.substr(slash + 1);
  if (per.empty()) return std::nullopt;
  std::optional<double> seconds = SecondsPer(per);
  if (!seconds) return std::nullopt;
  return *bytes / *seconds;
}

std::optional<double> ParseSeconds(std::string_view text) {
  std::string_view rest;
  std::optional<double> number = LeadingNumber(text, &rest);
  if (!number) return std::nullopt;
  std::optional<double> seconds = SecondsPer(rest);
  if (!seconds) return std::nullopt;
  return *number * *seconds;
}

std::string FormatBytes(double bytes) { return FormatValue(RoundedBytes(bytes), "bytes"); }

std::string FormatSignedBytes(double bytes) { return FormatDelta(RoundedBytes(bytes), "bytes"); }

std::string FormatBytesPerSecond(double rate) {
  double magnitude = std::abs(rate);
  if (magnitude == 0) return "0 B/s";
  if (magnitude * 3600 < 1024) return FormatBytes(rate * 86400) + "/day";
  if (magnitude < 1) return FormatBytes(rate * 3600) + "/h";
  return FormatBytes(rate) + "/s";
}

std::string FormatSeconds(double seconds) {
  if (seconds < 1) return absl::StrFormat("%.0fms", seconds * 1000);
  auto whole = static_cast<long long>(std::llround(seconds));
  if (whole < 60) return absl::StrFormat("%ds", whole);
  if (whole < 3600) return absl::StrFormat("%dm%02ds", whole / 60, whole % 60);
  return absl::StrFormat("%dh%02dm", whole / 3600, whole % 3600 / 60);
}

}  // namespace heapwatch
