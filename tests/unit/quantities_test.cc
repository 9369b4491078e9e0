#include "analyzer/quantities.h"

#include <cmath>

#include <gtest/gtest.h>

namespace heapwatch {
namespace {

TEST(ParseBytesTest, BinaryAndDecimalPrefixes) {
  EXPECT_EQ(ParseBytes("4096"), 4096);
  EXPECT_EQ(ParseBytes("10MiB"), 10 * 1024 * 1024);
  EXPECT_EQ(ParseBytes("10M"), 10 * 1024 * 1024);
  EXPECT_EQ(ParseBytes("10m"), 10 * 1024 * 1024);
  EXPECT_EQ(ParseBytes("10MB"), 10e6);
  EXPECT_EQ(ParseBytes("1.5 GiB"), 1.5 * 1024 * 1024 * 1024);
  EXPECT_EQ(ParseBytes("2k"), 2048);
  EXPECT_EQ(ParseBytes("3B"), 3);
  EXPECT_EQ(ParseBytes("0"), 0);
  for (const char* bad : {"", "MiB", "-1MiB", "10XB", "1.2.3", "10 MiBs", "nan", "1e400"}) {
    EXPECT_FALSE(ParseBytes(bad).has_value()) << bad;
  }
}

TEST(ParseBytesPerSecondTest, AnyTimeUnit) {
  EXPECT_EQ(ParseBytesPerSecond("1KiB/s"), 1024);
  EXPECT_EQ(ParseBytesPerSecond("1KiB"), 1024);
  EXPECT_EQ(ParseBytesPerSecond("60KiB/min"), 1024);
  EXPECT_EQ(ParseBytesPerSecond("3600B/h"), 1);
  EXPECT_EQ(ParseBytesPerSecond("86400B/day"), 1);
  EXPECT_FALSE(ParseBytesPerSecond("1KiB/").has_value());
  EXPECT_FALSE(ParseBytesPerSecond("1KiB/week").has_value());
}

TEST(ParseSecondsTest, Units) {
  EXPECT_EQ(ParseSeconds("30"), 30);
  EXPECT_EQ(ParseSeconds("30s"), 30);
  EXPECT_EQ(ParseSeconds("2m"), 120);
  EXPECT_EQ(ParseSeconds("1h"), 3600);
  EXPECT_EQ(ParseSeconds("500ms"), 0.5);
  EXPECT_FALSE(ParseSeconds("soon").has_value());
  EXPECT_FALSE(ParseSeconds("-5s").has_value());
}

TEST(FormatTest, BytesRatesDurations) {
  EXPECT_EQ(FormatBytes(512), "512 B");
  EXPECT_EQ(FormatBytes(9.5 * 1024 * 1024), "9.50 MiB");
  EXPECT_EQ(FormatBytes(-1024), "-1.00 KiB");
  EXPECT_EQ(FormatSignedBytes(9.5 * 1024 * 1024), "+9.50 MiB");
  EXPECT_EQ(FormatSignedBytes(0.2), "0 B");
  EXPECT_EQ(FormatBytes(1048575), "1.00 MiB");  // not 1024.00 KiB
  EXPECT_EQ(FormatBytes(NAN), FormatBytes(9.0e18));
  EXPECT_EQ(FormatBytesPerSecond(2048), "2.00 KiB/s");
  EXPECT_EQ(FormatBytesPerSecond(0), "0 B/s");
  // Slow rates read per hour or per day.
  EXPECT_EQ(FormatBytesPerSecond(0.5), "1.76 KiB/h");
  EXPECT_EQ(FormatBytesPerSecond(0.01), "864 B/day");
  EXPECT_EQ(FormatSeconds(0.25), "250ms");
  EXPECT_EQ(FormatSeconds(42), "42s");
  EXPECT_EQ(FormatSeconds(185), "3m05s");
  EXPECT_EQ(FormatSeconds(7260), "2h01m");
}

}  // namespace
}  // namespace heapwatch
