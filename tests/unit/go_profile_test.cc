// Heap profiles written by Go's runtime/pprof (tests/programs/go/heap_allocs.go,
// run here with `go run`), read by the codec and grouped by LoadSeries.

#include <filesystem>

#include <gtest/gtest.h>

#include "absl/container/flat_hash_map.h"
#include "analyzer/diff.h"
#include "analyzer/frames.h"
#include "analyzer/heap_values.h"
#include "analyzer/profile_codec.h"
#include "analyzer/series.h"
#include "tests/unit/subprocess.h"
#include "tests/unit/test_profiles.h"

namespace heapwatch {
namespace {

namespace fs = std::filesystem;

// What heap_allocs.go allocates and keeps (Go size classes: exact).
constexpr int64_t kSmallBlocks = 1000, kSmallSize = 1024;
constexpr int64_t kLargeBlocks = 300, kLargeSize = 8192;

std::string Message(const absl::Status& status) { return std::string(status.message()); }

class GoProfileTest : public ::testing::Test {
 protected:
  // Runs the Go program once per test process; its three profiles land in dir_.
  static void SetUpTestSuite() {
    dir_ = new std::string(testing::FreshTestDir("go_profiles"));
    testing::ProcessResult go =
        testing::RunGo({"run", std::string(HEAPWATCH_SOURCE_DIR) + "/tests/programs/go/heap_allocs.go", *dir_});
    ASSERT_TRUE(go.Exited(0)) << "go run failed (exit " << go.exit_code << ", signal " << go.signal
                              << "):\n" << go.err;
    for (const fs::directory_entry& entry : fs::directory_iterator(*dir_)) files_->push_back(entry.path().string());
    std::sort(files_->begin(), files_->end());
  }
  static void TearDownTestSuite() { fs::remove_all(*dir_); }

  // The profile with sequence number `seq` (1..3).
  static std::string File(int seq) {
    for (const std::string& f : *files_) {
      if (f.ends_with("." + std::to_string(seq) + ".pb.gz")) return f;
    }
    return "";
  }

  static std::string* dir_;
  static std::vector<std::string>* files_;
};
std::string* GoProfileTest::dir_ = nullptr;
std::vector<std::string>* GoProfileTest::files_ = new std::vector<std::string>;

// In-use bytes and objects per leaf function (the flat of `top`): Go's
// stacks start at the function that called into the allocator.
absl::flat_hash_map<std::string, std::pair<int64_t, int64_t>> InuseByLeaf(const Profile& profile) {
  HeapValueIndices heap = FindHeapValues(profile);
  absl::flat_hash_map<std::string, std::pair<int64_t, int64_t>> by_site;
  for (const Sample& sample : profile.samples) {
    std::vector<Frame> frames = StackFrames(profile, sample);
    if (frames.empty()) continue;
    auto& [bytes, objects] = by_site[frames[0].name];
    bytes += sample.values[*heap.inuse_space];
    objects += sample.values[*heap.inuse_objects];
  }
  return by_site;
}

TEST_F(GoProfileTest, ReadsGoHeapProfilesWithExactValues) {
  ASSERT_EQ(files_->size(), 3u);
  std::vector<absl::StatusOr<Profile>> profiles;
  for (int seq = 1; seq <= 3; ++seq) {
    profiles.push_back(ReadProfileFile(File(seq)));
    ASSERT_TRUE(profiles.back().ok()) << Message(profiles.back().status());
  }
  const Profile& first = *profiles[0];
  EXPECT_EQ(first.sample_types, testing::GoHeapTypes());
  EXPECT_EQ(first.period_type, (ValueType{"space", "bytes"}));
  EXPECT_EQ(first.period, 1);  // MemProfileRate = 1: nothing scaled
  EXPECT_GT(first.time_nanos, 0);
  EXPECT_FALSE(first.mappings.empty());

  auto small = std::make_pair(kSmallBlocks * kSmallSize, kSmallBlocks);
  auto large = std::make_pair(kLargeBlocks * kLargeSize, kLargeBlocks);
  auto by_site = InuseByLeaf(*profiles[0]);
  EXPECT_EQ(by_site["main.retainSmall"], small);
  EXPECT_FALSE(by_site.contains("main.retainLarge"));
  by_site = InuseByLeaf(*profiles[1]);
  EXPECT_EQ(by_site["main.retainSmall"], small);
  EXPECT_EQ(by_site["main.retainLarge"], large);
  by_site = InuseByLeaf(*profiles[2]);
  EXPECT_EQ(by_site["main.retainSmall"], std::make_pair(2 * small.first, 2 * small.second));
  EXPECT_EQ(by_site["main.retainLarge"], large);

  // And back through our writer: nothing lost.
  absl::StatusOr<Profile> again = ParseProfile(SerializeProfile(*profiles[2]));
  ASSERT_TRUE(again.ok()) << Message(again.status());
  testing::ExpectProfilesEqual(*profiles[2], *again);
}

TEST_F(GoProfileTest, LoadSeriesGroupsThemAsOneProcess) {
  absl::StatusOr<std::vector<ProcessSeries>> series = LoadSeries({*dir_});
  ASSERT_TRUE(series.ok()) << Message(series.status());
  ASSERT_EQ(series->size(), 1u);
  const ProcessSeries& process = (*series)[0];
  // The pid is the one in the file names.
  std::string name = fs::path(File(1)).filename().string();  // heap.<pid>.1.pb.gz
  std::string pid = name.substr(5, name.find('.', 5) - 5);
  ASSERT_TRUE(process.pid.has_value());
  EXPECT_EQ(*process.pid, std::stoll(pid));
  ASSERT_EQ(process.snapshots.size(), 3u);
  for (int seq = 1; seq <= 3; ++seq) EXPECT_EQ(process.snapshots[seq - 1].path, File(seq));
  EXPECT_LE(process.snapshots[0].profile.time_nanos, process.snapshots[1].profile.time_nanos);
  EXPECT_LE(process.snapshots[1].profile.time_nanos, process.snapshots[2].profile.time_nanos);
  EXPECT_FALSE(process.exit.has_value());

  // Renamed, a Go profile carries no pid: a series of its own, without one.
  std::string other = testing::FreshTestDir("go_renamed");
  fs::copy_file(File(2), other + "/go-heap.pb.gz");
  series = LoadSeries({other + "/go-heap.pb.gz"});
  ASSERT_TRUE(series.ok()) << Message(series.status());
  ASSERT_EQ(series->size(), 1u);
  EXPECT_FALSE((*series)[0].pid.has_value());
  ASSERT_EQ((*series)[0].snapshots.size(), 1u);
  fs::remove_all(other);
}

TEST_F(GoProfileTest, DiffsGoProfilesByFunctionAndAcrossAslr) {
  Profile first = *ReadProfileFile(File(1)), last = *ReadProfileFile(File(3));
  absl::StatusOr<ProfileDiff> self = DiffProfiles(last, last, {});
  ASSERT_TRUE(self.ok()) << Message(self.status());
  EXPECT_TRUE(self->empty());

  absl::StatusOr<ProfileDiff> diff = DiffProfiles(first, last, {.include_alloc = true});
  ASSERT_TRUE(diff.ok()) << Message(diff.status());
  absl::flat_hash_map<std::string, const FunctionDiff*> by_name;
  for (const FunctionDiff& f : diff->functions) by_name[f.name] = &f;
  ASSERT_TRUE(by_name.contains("main.retainSmall"));
  ASSERT_TRUE(by_name.contains("main.retainLarge"));
  // Columns: inuse_space, inuse_objects, alloc_space, alloc_objects.
  EXPECT_EQ(by_name["main.retainSmall"]->site.delta,
            (std::vector<int64_t>{kSmallBlocks * kSmallSize, kSmallBlocks, kSmallBlocks * kSmallSize, kSmallBlocks}));
  EXPECT_EQ(by_name["main.retainLarge"]->site.delta,
            (std::vector<int64_t>{kLargeBlocks * kLargeSize, kLargeBlocks, kLargeBlocks * kLargeSize, kLargeBlocks}));
  // The two largest changes, in order.
  ASSERT_GE(diff->functions.size(), 2u);
  EXPECT_EQ(diff->functions[0].name, "main.retainLarge");
  EXPECT_EQ(diff->functions[1].name, "main.retainSmall");

  // Without names and loaded elsewhere, the profile still matches itself.
  Profile stripped = testing::WithoutFunctionNames(last);
  absl::StatusOr<ProfileDiff> moved = DiffProfiles(stripped, testing::Shifted(stripped, 0x1000ull * 4096), {});
  ASSERT_TRUE(moved.ok()) << Message(moved.status());
  EXPECT_TRUE(moved->empty());
}

}  // namespace
}  // namespace heapwatch
