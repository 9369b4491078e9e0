#include "analyzer/series.h"

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "analyzer/profile_codec.h"
#include "tests/unit/subprocess.h"
#include "tests/unit/test_profiles.h"

namespace heapwatch {
namespace {

using testing::FreshTestDir;
using testing::InuseTypes;
using testing::ProfileBuilder;

std::string Message(const absl::Status& status) { return std::string(status.message()); }

// A profile whose single sample's in-use bytes is `marker`, so a test can
// tell which file a snapshot came from.
Profile Marked(int64_t marker, int64_t time_nanos, std::vector<std::string> comments = {}) {
  Profile p = ProfileBuilder(InuseTypes()).Add({"leak", "main"}, {marker, 1}).profile();
  p.time_nanos = time_nanos;
  p.comments = std::move(comments);
  return p;
}

void Write(const Profile& profile, const std::string& path) { ASSERT_TRUE(WriteProfileFile(profile, path).ok()); }

std::vector<int64_t> Markers(const ProcessSeries& series) {
  std::vector<int64_t> markers;
  for (const Snapshot& s : series.snapshots) markers.push_back(s.profile.samples[0].values[0]);
  return markers;
}

TEST(LoadSeriesTest, GroupsByPidInTheNameAndOrdersByTimeThenSequence) {
  std::string dir = FreshTestDir("series_names");
  // pid 20: the clock says 3 came before 2 (sequence numbers restart after
  // an exec, time does not); 4 and 5 were written in the same nanosecond.
  Write(Marked(201, 100), dir + "/heap.20.1.pb.gz");
  Write(Marked(203, 300), dir + "/heap.20.2.pb.gz");
  Write(Marked(202, 200), dir + "/heap.20.3.pb.gz");
  Write(Marked(205, 400), dir + "/heap.20.0005.pb.gz");
  Write(Marked(204, 400), dir + "/heap.20.0004.pb.gz");
  Write(Marked(209, 900), dir + "/heap.20.exit.pb.gz");
  // pid 7, named so it sorts after pid 20 as text.
  Write(Marked(71, 100), dir + "/heap.7.1.pb.gz");
  Write(Marked(72, 200), dir + "/heap.7.2.pb.gz");
  // Not a profile name: not read from a directory.
  std::ofstream(dir + "/notes.txt") << "not a profile";

  absl::StatusOr<std::vector<ProcessSeries>> series = LoadSeries({dir});
  ASSERT_TRUE(series.ok()) << Message(series.status());
  ASSERT_EQ(series->size(), 2u);
  const ProcessSeries& seven = (*series)[0];
  const ProcessSeries& twenty = (*series)[1];
  EXPECT_EQ(seven.pid, 7);
  EXPECT_EQ(Markers(seven), (std::vector<int64_t>{71, 72}));
  EXPECT_FALSE(seven.exit.has_value());
  EXPECT_EQ(seven.name, "pid 7 (app)");
  EXPECT_EQ(twenty.pid, 20);
  EXPECT_EQ(Markers(twenty), (std::vector<int64_t>{201, 202, 203, 204, 205}));
  ASSERT_TRUE(twenty.exit.has_value());
  EXPECT_EQ(twenty.exit->path, dir + "/heap.20.exit.pb.gz");
  EXPECT_EQ(twenty.exit->profile.samples[0].values[0], 209);
  EXPECT_EQ(twenty.snapshots[0].path, dir + "/heap.20.1.pb.gz");
}

TEST(LoadSeriesTest, RunTokensSplitProcessImagesThatShareAPid) {
  // pid 40 exec()ed itself (the second image numbered on after the first),
  // and an older, unrelated process 40 left files in the same directory.
  std::string dir = FreshTestDir("series_runs");
  Write(Marked(1, 100, {"pid=40 run=aaaa"}), dir + "/heap.40.0001.pb.gz");
  Write(Marked(2, 200, {"pid=40 run=aaaa"}), dir + "/heap.40.0002.pb.gz");
  Write(Marked(3, 300, {"pid=40 run=bbbb"}), dir + "/heap.40.0003.pb.gz");
  Write(Marked(4, 400, {"pid=40 run=bbbb"}), dir + "/heap.40.0004.pb.gz");
  Write(Marked(9, 500, {"pid=40 run=bbbb"}), dir + "/heap.40.exit.pb.gz");
  Write(Marked(0, 50, {"pid=40 run=0000"}), dir + "/heap.40.0000.pb.gz");
  absl::StatusOr<std::vector<ProcessSeries>> series = LoadSeries({dir});
  ASSERT_TRUE(series.ok()) << Message(series.status());
  ASSERT_EQ(series->size(), 3u);
  // In the order they ran, each with its own snapshots and exit profile.
  EXPECT_EQ(Markers((*series)[0]), (std::vector<int64_t>{0}));
  EXPECT_EQ(Markers((*series)[1]), (std::vector<int64_t>{1, 2}));
  EXPECT_EQ(Markers((*series)[2]), (std::vector<int64_t>{3, 4}));
  EXPECT_FALSE((*series)[1].exit.has_value()) << "an image that exec()ed has no exit profile";
  ASSERT_TRUE((*series)[2].exit.has_value());
  EXPECT_EQ((*series)[2].exit->profile.samples[0].values[0], 9);
  EXPECT_EQ((*series)[0].name, "pid 40 (app), image 1");
  EXPECT_EQ((*series)[2].name, "pid 40 (app), image 3");
  for (const ProcessSeries& s : *series) EXPECT_EQ(s.pid, 40);
}

TEST(LoadSeriesTest, OtherNamesGroupByPidCommentElseTogether) {
  std::string dir = FreshTestDir("series_other_names");
  Write(Marked(1, 100), dir + "/heap.30.1.pb.gz");
  Write(Marked(2, 200, {"cmd=app", "pid=30"}), dir + "/later.pb.gz");
  Write(Marked(3, 150, {"started by ci, pid=31"}), dir + "/other.pprof");
  // No pid anywhere: one series for all of them, in the order given when
  // their clocks agree.
  Write(Marked(12, 0), dir + "/b.pb.gz");
  Write(Marked(11, 0), dir + "/a.pb.gz");
  Write(Marked(13, 0), dir + "/snapshot-3.data");  // read because it is named explicitly
  Write(Marked(14, 0, {"pid=abc", "xpid=9"}), dir + "/c.pprof");  // neither is a pid

  absl::StatusOr<std::vector<ProcessSeries>> series =
      LoadSeries({dir + "/heap.30.1.pb.gz", dir + "/later.pb.gz", dir + "/other.pprof", dir + "/a.pb.gz",
                  dir + "/b.pb.gz", dir + "/snapshot-3.data", dir + "/c.pprof"});
  ASSERT_TRUE(series.ok()) << Message(series.status());
  ASSERT_EQ(series->size(), 3u);
  EXPECT_EQ((*series)[0].pid, 30);
  EXPECT_EQ(Markers((*series)[0]), (std::vector<int64_t>{1, 2}));
  EXPECT_EQ((*series)[1].pid, 31);
  EXPECT_EQ(Markers((*series)[1]), (std::vector<int64_t>{3}));
  EXPECT_FALSE((*series)[2].pid.has_value());
  EXPECT_EQ(Markers((*series)[2]), (std::vector<int64_t>{11, 12, 13, 14}));
  EXPECT_EQ((*series)[2].name, "app (no pid)");
}

TEST(LoadSeriesTest, ReadsEachFileOnceAndKeepsAnExitOnlyProcess) {
  std::string dir = FreshTestDir("series_dupes");
  Write(Marked(1, 100), dir + "/heap.5.1.pb.gz");
  Write(Marked(9, 900), dir + "/heap.6.exit.pb.gz");  // exited before its first snapshot
  absl::StatusOr<std::vector<ProcessSeries>> series = LoadSeries({dir, dir + "/heap.5.1.pb.gz", dir + "/./"});
  ASSERT_TRUE(series.ok()) << Message(series.status());
  ASSERT_EQ(series->size(), 2u);
  EXPECT_EQ((*series)[0].snapshots.size(), 1u);
  EXPECT_TRUE((*series)[1].snapshots.empty());
  ASSERT_TRUE((*series)[1].exit.has_value());
  EXPECT_EQ((*series)[1].name, "pid 6 (app)");
}

TEST(LoadSeriesTest, ErrorsNameTheFile) {
  std::string dir = FreshTestDir("series_errors");
  Write(Marked(1, 100), dir + "/heap.5.1.pb.gz");
  std::string bad = std::string(HEAPWATCH_SOURCE_DIR) + "/tests/corpus/malformed/truncated_gzip.pb.gz";
  absl::StatusOr<std::vector<ProcessSeries>> series = LoadSeries({dir, bad});
  ASSERT_FALSE(series.ok());
  EXPECT_TRUE(Message(series.status()).starts_with(bad + ": ")) << Message(series.status());

  std::ofstream(dir + "/heap.5.2.pb.gz") << "garbage";
  series = LoadSeries({dir});
  ASSERT_FALSE(series.ok());
  EXPECT_TRUE(Message(series.status()).starts_with(dir + "/heap.5.2.pb.gz: ")) << Message(series.status());

  series = LoadSeries({dir + "/missing"});
  ASSERT_FALSE(series.ok());
  EXPECT_TRUE(Message(series.status()).starts_with(dir + "/missing: ")) << Message(series.status());

  std::string empty = FreshTestDir("series_empty");
  series = LoadSeries({empty});
  ASSERT_FALSE(series.ok());
  EXPECT_EQ(Message(series.status()), empty + ": no profiles (*.pb.gz, *.pprof) in this directory");

  EXPECT_FALSE(LoadSeries({}).ok());
}

TEST(LoadSeriesTest, RefusesTwoExitProfilesForOnePid) {
  std::string a = FreshTestDir("series_exit_a"), b = FreshTestDir("series_exit_b");
  Write(Marked(1, 100), a + "/heap.8.exit.pb.gz");
  Write(Marked(2, 200), b + "/heap.8.exit.pb.gz");
  absl::StatusOr<std::vector<ProcessSeries>> series = LoadSeries({a, b});
  ASSERT_FALSE(series.ok());
  EXPECT_EQ(Message(series.status()),
            b + "/heap.8.exit.pb.gz: a second exit profile for pid 8 (the first is " + a + "/heap.8.exit.pb.gz)");
}

}  // namespace
}  // namespace heapwatch
