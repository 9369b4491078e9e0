#include "analyzer/diff.h"

#include <map>

#include <gtest/gtest.h>

#include "analyzer/profile_codec.h"
#include "analyzer/value_format.h"
#include "tests/unit/test_profiles.h"

namespace heapwatch {
namespace {

using testing::GoHeapTypes;
using testing::InuseTypes;
using testing::ProfileBuilder;

std::string Message(const absl::Status& status) { return std::string(status.message()); }

// Base and new of a program whose `leak` grew, whose `helper` allocation went
// away, with a `fresh` one appearing, and `cache_put` unchanged.
constexpr int64_t kLeakBase = 1000, kLeakNew = 5000, kLeakObjectsBase = 1, kLeakObjectsNew = 5;
constexpr int64_t kCache = 500, kCacheObjects = 5;
constexpr int64_t kHelper = 64, kHelperObjects = 1;
constexpr int64_t kFresh = 256, kFreshObjects = 2;

Profile Base() {
  return ProfileBuilder(InuseTypes())
      .Add({"malloc", "leak", "main"}, {kLeakBase, kLeakObjectsBase})
      .Add({"malloc", "cache_put", "main"}, {kCache, kCacheObjects})
      .Add({"helper", "main"}, {kHelper, kHelperObjects})
      .profile();
}

Profile New() {
  // Built in another order, so ids and addresses differ from the base's.
  return ProfileBuilder(InuseTypes())
      .Add({"malloc", "fresh", "main"}, {kFresh, kFreshObjects})
      .Add({"malloc", "cache_put", "main"}, {kCache, kCacheObjects})
      .Add({"malloc", "leak", "main"}, {kLeakNew / 2, kLeakObjectsNew - 2})
      .Add({"malloc", "leak", "main"}, {kLeakNew / 2, 2})  // the same stack twice: summed
      .profile();
}

std::vector<std::string> Names(const std::vector<Frame>& frames) {
  std::vector<std::string> names;
  for (const Frame& f : frames) names.push_back(f.name);
  return names;
}

TEST(DiffTest, SelfDiffIsEmpty) {
  for (const Profile& p : {Base(), New(), testing::WithoutFunctionNames(Base())}) {
    absl::StatusOr<ProfileDiff> diff = DiffProfiles(p, p, {.include_alloc = false});
    ASSERT_TRUE(diff.ok()) << Message(diff.status());
    EXPECT_TRUE(diff->empty());
    EXPECT_TRUE(diff->functions.empty());
    EXPECT_TRUE(diff->total.IsZero());
    EXPECT_NE(FormatDiffText(*diff, 10).find("No differences."), std::string::npos);
  }
}

TEST(DiffTest, AslrShiftedUnsymbolizedCopyDiffsToZero) {
  Profile stripped = testing::WithoutFunctionNames(Base());
  // Another run: the program loaded 0x2a000 pages higher.
  Profile moved = testing::Shifted(stripped, 0x2a000ull * 4096);
  ASSERT_NE(stripped.locations[0].address, moved.locations[0].address);
  absl::StatusOr<ProfileDiff> diff = DiffProfiles(stripped, moved, {});
  ASSERT_TRUE(diff.ok()) << Message(diff.status());
  EXPECT_TRUE(diff->empty());
  EXPECT_TRUE(diff->functions.empty());

  // And a real change in such profiles is found under object+offset names.
  moved.samples[0].values = {kLeakBase + 100, kLeakObjectsBase + 1};
  diff = DiffProfiles(stripped, moved, {});
  ASSERT_TRUE(diff.ok());
  ASSERT_EQ(diff->stacks.size(), 1u);
  EXPECT_EQ(diff->stacks[0].change.delta, (std::vector<int64_t>{100, 1}));
  // malloc, leak, main were the first three names: offsets 0x1010, 0x2010, 0x3010.
  EXPECT_EQ(Names(diff->stacks[0].frames), (std::vector<std::string>{"app+0x1010", "app+0x2010", "app+0x3010"}));
}

TEST(DiffTest, DeltasPerStackAndPerFunction) {
  absl::StatusOr<ProfileDiff> diff = DiffProfiles(Base(), New(), {});
  ASSERT_TRUE(diff.ok()) << Message(diff.status());
  EXPECT_EQ(diff->columns, InuseTypes());
  int64_t base_total = kLeakBase + kCache + kHelper, new_total = kLeakNew + kCache + kFresh;
  EXPECT_EQ(diff->total.base, (std::vector<int64_t>{base_total, kLeakObjectsBase + kCacheObjects + kHelperObjects}));
  EXPECT_EQ(diff->total.current, (std::vector<int64_t>{new_total, kLeakObjectsNew + kCacheObjects + kFreshObjects}));

  // The unchanged cache_put stack is not listed; the rest by |delta|.
  ASSERT_EQ(diff->stacks.size(), 3u);
  EXPECT_EQ(Names(diff->stacks[0].frames), (std::vector<std::string>{"malloc", "leak", "main"}));
  EXPECT_EQ(diff->stacks[0].change.base, (std::vector<int64_t>{kLeakBase, kLeakObjectsBase}));
  EXPECT_EQ(diff->stacks[0].change.current, (std::vector<int64_t>{kLeakNew, kLeakObjectsNew}));
  EXPECT_EQ(diff->stacks[0].change.delta,
            (std::vector<int64_t>{kLeakNew - kLeakBase, kLeakObjectsNew - kLeakObjectsBase}));
  EXPECT_EQ(Names(diff->stacks[1].frames), (std::vector<std::string>{"malloc", "fresh", "main"}));
  EXPECT_EQ(diff->stacks[1].change.delta, (std::vector<int64_t>{kFresh, kFreshObjects}));
  EXPECT_EQ(Names(diff->stacks[2].frames), (std::vector<std::string>{"helper", "main"}));
  EXPECT_EQ(diff->stacks[2].change.delta, (std::vector<int64_t>{-kHelper, -kHelperObjects}));

  // Per function: the allocation site skips malloc; cum has everything on the stack.
  struct ExpectedFunction {
    std::string name;
    int64_t site, cum;
  };
  int64_t leak = kLeakNew - kLeakBase;
  std::vector<ExpectedFunction> expected = {
      {"leak", leak, leak},
      {"fresh", kFresh, kFresh},
      {"helper", -kHelper, -kHelper},
      {"malloc", 0, leak + kFresh},
      {"main", 0, leak + kFresh - kHelper},
  };
  ASSERT_EQ(diff->functions.size(), expected.size());
  for (size_t i = 0; i < expected.size(); ++i) {
    SCOPED_TRACE(expected[i].name);
    EXPECT_EQ(diff->functions[i].name, expected[i].name);
    EXPECT_EQ(diff->functions[i].site.delta[0], expected[i].site);
    EXPECT_EQ(diff->functions[i].cum.delta[0], expected[i].cum);
  }
  EXPECT_EQ(diff->functions[0].site.delta[1], kLeakObjectsNew - kLeakObjectsBase);
}

TEST(DiffTest, TextShowsTotalsFunctionsAndStacks) {
  ProfileDiff diff = *DiffProfiles(Base(), New(), {});
  std::string text = FormatDiffText(diff, 2);
  EXPECT_NE(text.find("Functions, largest change first (2 of 5;"), std::string::npos) << text;
  EXPECT_NE(text.find("Stacks, largest change first (2 of 3):"), std::string::npos) << text;
  std::string leak_line = FormatDelta(kLeakNew - kLeakBase, "bytes") + " inuse_space, " +
                          FormatDelta(kLeakObjectsNew - kLeakObjectsBase, "count") + " inuse_objects  (" +
                          FormatValue(kLeakBase, "bytes") + " -> " + FormatValue(kLeakNew, "bytes") + ")\n" +
                          "      malloc\n      leak\n      main\n";
  EXPECT_NE(text.find(leak_line), std::string::npos) << text;
  EXPECT_EQ(text.find("      helper\n"), std::string::npos) << "nodecount 2 shows two stacks";
}

TEST(DiffTest, JsonCarriesRawValues) {
  ProfileDiff diff = *DiffProfiles(Base(), New(), {});
  nlohmann::json json = DiffToJson(diff, 0);
  EXPECT_EQ(json["columns"][0]["type"], "inuse_space");
  EXPECT_EQ(json["columns"][1]["unit"], "count");
  EXPECT_EQ(json["total"]["delta"]["inuse_space"], diff.total.delta[0]);
  EXPECT_EQ(json["stacks_total"], 3);
  EXPECT_EQ(json["stacks"].size(), 3u);
  EXPECT_EQ(json["stacks"][0]["frames"][1]["name"], "leak");
  EXPECT_EQ(json["stacks"][0]["frames"][1]["object"], "app");
  EXPECT_EQ(json["stacks"][0]["base"]["inuse_space"], kLeakBase);
  EXPECT_EQ(json["stacks"][0]["new"]["inuse_objects"], kLeakObjectsNew);
  EXPECT_EQ(json["stacks"][0]["delta"]["inuse_space"], kLeakNew - kLeakBase);
  EXPECT_EQ(json["functions_total"], 5);
  EXPECT_EQ(json["functions"][3]["name"], "malloc");
  EXPECT_EQ(json["functions"][3]["site"]["delta"]["inuse_space"], 0);
  EXPECT_EQ(json["functions"][3]["cum"]["delta"]["inuse_space"], kLeakNew - kLeakBase + kFresh);
  nlohmann::json cut = DiffToJson(diff, 1);
  EXPECT_EQ(cut["stacks"].size(), 1u);
  EXPECT_EQ(cut["stacks_total"], 3);
}

TEST(DiffTest, MatchesColumnsByNameAcrossSampleTypeOrders) {
  // Go's order puts inuse_space last; ours first.
  Profile go = ProfileBuilder(GoHeapTypes()).Add({"leak", "main"}, {7, 700, 3, 300}).profile();
  Profile ours = ProfileBuilder(InuseTypes()).Add({"leak", "main"}, {500, 4}).profile();
  absl::StatusOr<ProfileDiff> diff = DiffProfiles(go, ours, {});
  ASSERT_TRUE(diff.ok()) << Message(diff.status());
  ASSERT_EQ(diff->stacks.size(), 1u);
  EXPECT_EQ(diff->stacks[0].change.base, (std::vector<int64_t>{300, 3}));
  EXPECT_EQ(diff->stacks[0].change.delta, (std::vector<int64_t>{200, 1}));

  // With --alloc, both need the alloc pair.
  absl::StatusOr<ProfileDiff> alloc = DiffProfiles(go, go, {.include_alloc = true});
  ASSERT_TRUE(alloc.ok());
  std::vector<ValueType> columns = {{"inuse_space", "bytes"},
                                    {"inuse_objects", "count"},
                                    {"alloc_space", "bytes"},
                                    {"alloc_objects", "count"}};
  EXPECT_EQ(alloc->columns, columns);
  alloc = DiffProfiles(ours, go, {.include_alloc = true});
  ASSERT_FALSE(alloc.ok());
  EXPECT_NE(Message(alloc.status()).find("cannot compare allocations: the base profile has no alloc_space"),
            std::string::npos)
      << Message(alloc.status());
}

TEST(DiffTest, IncompatibleProfilesAreAClearError) {
  Profile cpu = ProfileBuilder(std::vector<ValueType>{{"samples", "count"}, {"cpu", "nanoseconds"}}).Add({"main"}, {1, 10}).profile();
  absl::StatusOr<ProfileDiff> diff = DiffProfiles(cpu, Base(), {});
  ASSERT_FALSE(diff.ok());
  EXPECT_EQ(Message(diff.status()),
            "incompatible profiles: no common heap sample type (base has samples/count, cpu/nanoseconds; "
            "new has inuse_space/bytes, inuse_objects/count)");
  Profile kilobytes = ProfileBuilder(std::vector<ValueType>{{"inuse_space", "kilobytes"}}).Add({"main"}, {1}).profile();
  diff = DiffProfiles(kilobytes, Base(), {});
  ASSERT_FALSE(diff.ok());
  EXPECT_EQ(Message(diff.status()), "incompatible profiles: inuse_space is in kilobytes in the base, in bytes in the new");
  EXPECT_FALSE(DiffBaseProfile(cpu, Base(), {}).ok());
}

TEST(DiffTest, DiffBaseProfileIsWhatPprofExpects) {
  Profile base = Base(), current = New();
  absl::StatusOr<Profile> out = DiffBaseProfile(base, current, {});
  ASSERT_TRUE(out.ok()) << Message(out.status());
  ASSERT_TRUE(out->CheckValid().ok());
  EXPECT_EQ(out->sample_types, InuseTypes());
  EXPECT_EQ(out->default_sample_type, "inuse_space");

  // Base samples are negated and labelled; the new ones are as they were;
  // per stack they add up to the delta.
  const Label kBaseLabel{.key = "pprof::base", .str = "true"};
  std::map<std::vector<std::string>, int64_t> net;
  int64_t base_sum = 0, new_sum = 0;
  for (const Sample& sample : out->samples) {
    bool is_base = sample.labels == std::vector<Label>{kBaseLabel};
    if (!is_base) {
      EXPECT_TRUE(sample.labels.empty());
    }
    (is_base ? base_sum : new_sum) += sample.values[0];
    net[Names(StackFrames(*out, sample))] += sample.values[0];
  }
  EXPECT_EQ(base_sum, -(kLeakBase + kCache + kHelper));
  EXPECT_EQ(new_sum, kLeakNew + kCache + kFresh);
  EXPECT_EQ((net[{"malloc", "leak", "main"}]), kLeakNew - kLeakBase);
  EXPECT_EQ((net[{"malloc", "cache_put", "main"}]), 0);
  EXPECT_EQ((net[{"helper", "main"}]), -kHelper);

  // It survives our own codec.
  absl::StatusOr<Profile> reparsed = ParseProfile(SerializeProfile(*out));
  ASSERT_TRUE(reparsed.ok()) << Message(reparsed.status());
  for (const Mapping& m : reparsed->mappings) EXPECT_TRUE(m.has_functions);
}

}  // namespace
}  // namespace heapwatch
