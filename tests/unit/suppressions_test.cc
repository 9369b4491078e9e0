#include "analyzer/suppressions.h"

#include <cstdio>
#include <filesystem>
#include <fstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace heapwatch {
namespace {

using ::testing::HasSubstr;

TEST(MatchesSuppressionTest, LeakSanitizerSemantics) {
  // Unanchored: anywhere in the name.
  EXPECT_TRUE(MatchesSuppression("Cache", "LruCache::Insert"));
  EXPECT_TRUE(MatchesSuppression("Cache::*", "LruCache::Insert"));
  EXPECT_TRUE(MatchesSuppression("Lru*Insert", "LruCache::Insert"));
  EXPECT_FALSE(MatchesSuppression("Pool", "LruCache::Insert"));
  // Anchors.
  EXPECT_FALSE(MatchesSuppression("^Cache", "LruCache::Insert"));
  EXPECT_TRUE(MatchesSuppression("^LruCache", "LruCache::Insert"));
  EXPECT_TRUE(MatchesSuppression("Insert$", "LruCache::Insert"));
  EXPECT_FALSE(MatchesSuppression("Cache$", "LruCache::Insert"));
  EXPECT_TRUE(MatchesSuppression("^LruCache::Insert$", "LruCache::Insert"));
  EXPECT_TRUE(MatchesSuppression("*", "anything"));
  // Stars backtrack.
  EXPECT_TRUE(MatchesSuppression("^a*b*c$", "aXbYbZc"));
  EXPECT_FALSE(MatchesSuppression("^a*b*c$", "aXbYbZ"));
}

TEST(SuppressionsTest, ParseFileFormat) {
  absl::StatusOr<Suppressions> s = Suppressions::Parse(
      "# third-party code\n"
      "\n"
      "leak:libfoo_init\n"
      "   leak: Cache::* \r\n"
      "  # indented comment\n");
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_THAT(s->patterns(), ::testing::ElementsAre("libfoo_init", "Cache::*"));
  EXPECT_EQ(s->Match({"malloc", "Cache::Insert", "main"}), "Cache::*");
  EXPECT_EQ(s->Match({"malloc", "libfoo_init", "main"}), "libfoo_init");
  EXPECT_EQ(s->Match({"malloc", "Pool::Grow", "main"}), std::nullopt);
}

TEST(SuppressionsTest, ErrorsNameTheLine) {
  absl::StatusOr<Suppressions> s = Suppressions::Parse("leak:ok\nrace:Thread\n");
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(s.status().message(), HasSubstr("line 2: unknown suppression type 'race'"));
  s = Suppressions::Parse("leak:\n");
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(s.status().message(), HasSubstr("line 1: empty pattern"));
  s = Suppressions::Parse("CacheInsert\n");
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(s.status().message(), HasSubstr("line 1: expected leak:<pattern>"));
}

TEST(SuppressionsTest, ReadFile) {
  std::filesystem::path dir = std::filesystem::path(HEAPWATCH_BINARY_DIR) / "suppressions_test";
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "ok.supp") << "leak:Cache\n";
  std::ofstream(dir / "bad.supp") << "leak:Cache\nwhat\n";
  absl::StatusOr<Suppressions> ok = Suppressions::ReadFile((dir / "ok.supp").string());
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->patterns().size(), 1u);
  absl::StatusOr<Suppressions> bad = Suppressions::ReadFile((dir / "bad.supp").string());
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.status().message(), HasSubstr("bad.supp: line 2"));
  EXPECT_FALSE(Suppressions::ReadFile((dir / "missing.supp").string()).ok());
  absl::StatusOr<Suppressions> directory = Suppressions::ReadFile(dir.string());
  ASSERT_FALSE(directory.ok());
  EXPECT_THAT(directory.status().message(), HasSubstr("is a directory"));
}

}  // namespace
}  // namespace heapwatch
