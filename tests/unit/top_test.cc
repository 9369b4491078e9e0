#include "analyzer/top.h"

#include <sstream>

#include <gtest/gtest.h>

#include "absl/strings/str_format.h"
#include "analyzer/value_format.h"
#include "tests/unit/test_profiles.h"

namespace heapwatch {
namespace {

using testing::InuseTypes;
using testing::ProfileBuilder;

std::string Message(const absl::Status& status) { return std::string(status.message()); }

std::vector<std::string> Tokens(const std::string& text) {
  std::istringstream in(text);
  std::vector<std::string> tokens;
  for (std::string token; in >> token;) tokens.push_back(token);
  return tokens;
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// The values of the known profile, and what they add up to.
constexpr int64_t kLeakBytes = 3 * 4096, kCacheBytes = 1000, kHelperBytes = 512, kMainBytes = 100;
constexpr int64_t kTotal = kLeakBytes + kCacheBytes + kHelperBytes + kMainBytes;

Profile KnownProfile() {
  return ProfileBuilder(InuseTypes())
      .Add({"malloc", "leak", "main"}, {kLeakBytes, 3})
      .Add({"malloc", "cache_put", "main"}, {kCacheBytes, 10})
      .Add({"helper", "helper", "main"}, {kHelperBytes, 1})  // recursion: cum counts it once
      .Add({"main"}, {kMainBytes, 1})
      .profile();
}

struct Expected {
  std::string name;
  int64_t flat, cum;
};

void ExpectRows(const std::string& text, const std::vector<Expected>& rows, int64_t total) {
  std::vector<std::string> lines = Lines(text);
  ASSERT_EQ(lines.size(), 3 + rows.size()) << text;
  EXPECT_EQ(Tokens(lines[2]), (std::vector<std::string>{"flat", "flat%", "sum%", "cum", "cum%", "function"}));
  int64_t running = 0;
  for (size_t i = 0; i < rows.size(); ++i) {
    running += rows[i].flat;
    std::string expected = absl::StrFormat(
        "%s %.2f%% %.2f%% %s %.2f%% %s", FormatValue(rows[i].flat, "bytes"), 100.0 * rows[i].flat / total,
        100.0 * running / total, FormatValue(rows[i].cum, "bytes"), 100.0 * rows[i].cum / total, rows[i].name);
    EXPECT_EQ(Tokens(lines[3 + i]), Tokens(expected)) << lines[3 + i];
  }
}

TEST(TopTest, RanksByFlatLikePprof) {
  Profile profile = KnownProfile();
  TopReport report = BuildTop(profile, 0, /*sort_by_cum=*/false);
  EXPECT_EQ(report.total, kTotal);
  std::vector<Expected> rows = {
      {"malloc", kLeakBytes + kCacheBytes, kLeakBytes + kCacheBytes},
      {"helper", kHelperBytes, kHelperBytes},
      {"main", kMainBytes, kTotal},
      {"leak", 0, kLeakBytes},  // flat ties at 0 are ranked by cum
      {"cache_put", 0, kCacheBytes},
  };
  std::string text = FormatTop(report, 0);
  ExpectRows(text, rows, kTotal);
  EXPECT_EQ(Lines(text)[0], "Type: inuse_space (bytes)");
  EXPECT_EQ(Lines(text)[1], absl::StrFormat("Showing 5 of 5 functions, accounting for %s (100.00%%) of %s total",
                                            FormatValue(kTotal, "bytes"), FormatValue(kTotal, "bytes")));
}

TEST(TopTest, SortsByCumAndCutsAtNodeCount) {
  TopReport report = BuildTop(KnownProfile(), 0, /*sort_by_cum=*/true);
  std::vector<Expected> rows = {
      {"main", kMainBytes, kTotal},
      {"malloc", kLeakBytes + kCacheBytes, kLeakBytes + kCacheBytes},
      {"leak", 0, kLeakBytes},
  };
  std::string text = FormatTop(report, 3);
  ExpectRows(text, rows, kTotal);
  int64_t shown = kMainBytes + kLeakBytes + kCacheBytes;
  EXPECT_EQ(Lines(text)[1],
            absl::StrFormat("Showing 3 of 5 functions, accounting for %s (%.2f%%) of %s total",
                            FormatValue(shown, "bytes"), 100.0 * shown / kTotal, FormatValue(kTotal, "bytes")));
}

TEST(TopTest, CountsAreShownAsPlainNumbers) {
  TopReport report = BuildTop(KnownProfile(), 1, false);
  EXPECT_EQ(report.sample_type, (ValueType{"inuse_objects", "count"}));
  ASSERT_FALSE(report.entries.empty());
  EXPECT_EQ(report.entries[0].name, "malloc");
  EXPECT_EQ(report.entries[0].flat, 3 + 10);
  std::vector<std::string> lines = Lines(FormatTop(report, 1));
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_EQ(Tokens(lines[3])[0], "13");
}

TEST(TopTest, PicksTheSampleIndexLikePprof) {
  Profile profile = KnownProfile();
  // No default_sample_type: the last type.
  EXPECT_EQ(*ResolveSampleIndex(profile, ""), 1u);
  profile.default_sample_type = "inuse_space";
  EXPECT_EQ(*ResolveSampleIndex(profile, ""), 0u);
  EXPECT_EQ(*ResolveSampleIndex(profile, "inuse_objects"), 1u);
  EXPECT_EQ(*ResolveSampleIndex(profile, "0"), 0u);
  EXPECT_EQ(*ResolveSampleIndex(profile, "1"), 1u);
  absl::StatusOr<size_t> bad = ResolveSampleIndex(profile, "2");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(Message(bad.status()), "no sample type '2' (the profile has inuse_space, inuse_objects, or 0..1)");
  EXPECT_FALSE(ResolveSampleIndex(profile, "alloc_space").ok());
  EXPECT_FALSE(ResolveSampleIndex(profile, "99999999999999999999").ok());
}

TEST(TopTest, DiffProfilePercentagesAreOfTheBase) {
  // As pprof -diff_base: base samples negated and labelled pprof::base=true.
  Profile profile = ProfileBuilder(InuseTypes())
                        .Add({"leak", "main"}, {-1000, -1})
                        .Add({"leak", "main"}, {3000, 3})
                        .Add({"other", "main"}, {-200, -2})
                        .profile();
  profile.samples[0].labels = {{.key = "pprof::base", .str = "true"}};
  profile.samples[2].labels = {{.key = "pprof::base", .str = "true"}};
  TopReport report = BuildTop(profile, 0, false);
  EXPECT_EQ(report.total, 1000 + 200);
  ASSERT_EQ(report.entries.size(), 3u);
  EXPECT_EQ(report.entries[0].name, "leak");
  EXPECT_EQ(report.entries[0].flat, 3000 - 1000);
  // Ranked by |flat|: a shrinking function is as interesting as a growing one.
  EXPECT_EQ(report.entries[1].name, "other");
  EXPECT_EQ(report.entries[1].flat, -200);
  EXPECT_EQ(report.entries[2].name, "main");
  EXPECT_EQ(report.entries[2].flat, 0);
  EXPECT_EQ(report.entries[2].cum, 3000 - 1000 - 200);
}

TEST(TopTest, UnsymbolizedFramesAreNamedByObjectAndOffset) {
  Profile profile = testing::WithoutFunctionNames(KnownProfile());
  TopReport report = BuildTop(profile, 0, false);
  ASSERT_FALSE(report.entries.empty());
  // malloc was the first location: kAppStart + 0x1000 + 0x10, file offset 0.
  EXPECT_EQ(report.entries[0].name, "app+0x1010");
  EXPECT_EQ(report.entries[0].flat, kLeakBytes + kCacheBytes);
}

TEST(ValueFormatTest, BinaryPrefixesForBytesPlainNumbersOtherwise) {
  EXPECT_EQ(FormatValue(0, "bytes"), "0 B");
  EXPECT_EQ(FormatValue(1023, "bytes"), "1023 B");
  EXPECT_EQ(FormatValue(1024, "bytes"), "1.00 KiB");
  EXPECT_EQ(FormatValue(1536, "bytes"), "1.50 KiB");
  EXPECT_EQ(FormatValue((1 << 20) - 1, "bytes"), "1.00 MiB");  // not "1024.00 KiB"
  EXPECT_EQ(FormatValue(3 << 20, "bytes"), "3.00 MiB");
  EXPECT_EQ(FormatValue(int64_t{5} << 30, "bytes"), "5.00 GiB");
  EXPECT_EQ(FormatValue(int64_t{2} << 40, "bytes"), "2.00 TiB");
  EXPECT_EQ(FormatValue(-2048, "bytes"), "-2.00 KiB");
  EXPECT_EQ(FormatValue(1234567, "count"), "1234567");
  EXPECT_EQ(FormatDelta(1536, "bytes"), "+1.50 KiB");
  EXPECT_EQ(FormatDelta(-3, "count"), "-3");
  EXPECT_EQ(FormatDelta(0, "count"), "0");
  EXPECT_EQ(FormatPercent(1, 3), "33.33%");
  EXPECT_EQ(FormatPercent(5, 0), "0.00%");
}

}  // namespace
}  // namespace heapwatch
