// Byte counts, rates and durations as people type and read them, for the
// options and text reports of trend and check.
//
// Parsing follows GNU coreutils: K, M, G, T and KiB, MiB, GiB, TiB are powers
// of 1024; KB, MB, GB, TB are powers of 1000; a bare number is bytes. Rates
// are a size per s, sec, min, h or day ("1MiB/h"); durations a number with
// ms, s, m, min, h (a bare number is seconds). Byte counts are formatted by
// value_format.h (binary prefixes, two decimals, as heapwatch top shows
// them), from doubles rounded to whole bytes. Not for JSON, which carries
// plain numbers.

#ifndef HEAPWATCH_ANALYZER_QUANTITIES_H_
#define HEAPWATCH_ANALYZER_QUANTITIES_H_

#include <optional>
#include <string>
#include <string_view>

namespace heapwatch {

// "10MiB" -> 10485760; nullopt if malformed or negative.
std::optional<double> ParseBytes(std::string_view text);
// "1KiB/s" -> 1024, "86400B/day" -> 1; a bare size is per second.
std::optional<double> ParseBytesPerSecond(std::string_view text);
// "30s" -> 30, "2m" -> 120, "500ms" -> 0.5, "45" -> 45.
std::optional<double> ParseSeconds(std::string_view text);

// "512 B", "9.50 MiB"; with sign: "+9.50 MiB", "-1.00 KiB", "0 B".
std::string FormatBytes(double bytes);
std::string FormatSignedBytes(double bytes);
// "126.70 KiB/s"; rates below 1 B/s per hour or per day ("3.00 MiB/h").
std::string FormatBytesPerSecond(double rate);
// "950ms", "42s", "3m05s", "2h01m".
std::string FormatSeconds(double seconds);

}  // namespace heapwatch

#endif  // HEAPWATCH_ANALYZER_QUANTITIES_H_
