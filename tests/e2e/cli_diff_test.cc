// `heapwatch top` and `heapwatch diff` on heap profiles written by Go's
// runtime/pprof (tests/programs/go/heap_allocs.go), and the diff profile of
// --out read by the real client, `go tool pprof`.

#include <algorithm>
#include <filesystem>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "absl/strings/str_format.h"
#include "analyzer/profile_codec.h"
#include "tests/unit/subprocess.h"

namespace heapwatch {
namespace {

namespace fs = std::filesystem;
using testing::ProcessResult;

const std::string kHeapwatch = std::string(HEAPWATCH_BINARY_DIR) + "/bin/heapwatch";

// What heap_allocs.go allocates and keeps.
constexpr int64_t kSmallBlocks = 1000, kSmallSize = 1024;
constexpr int64_t kLargeBlocks = 300, kLargeSize = 8192;

ProcessResult Heapwatch(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {kHeapwatch};
  argv.insert(argv.end(), args.begin(), args.end());
  return testing::RunProcess(argv);
}

// The line of `text` that mentions `name` as its last word, or "".
std::string LineEndingWith(const std::string& text, const std::string& name) {
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(start, end - start);
    if (line.ends_with(" " + name)) return line;
    start = end + 1;
  }
  return "";
}

class CliDiffTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::string(testing::FreshTestDir("cli_diff"));
    ProcessResult go =
        testing::RunGo({"run", std::string(HEAPWATCH_SOURCE_DIR) + "/tests/programs/go/heap_allocs.go", *dir_});
    ASSERT_TRUE(go.Exited(0)) << go.err;
    std::vector<std::string> files;
    for (const fs::directory_entry& e : fs::directory_iterator(*dir_)) files.push_back(e.path().string());
    std::sort(files.begin(), files.end());
    ASSERT_EQ(files.size(), 3u);
    // heap.<pid>.1 holds the small blocks; heap.<pid>.2 adds the large ones.
    first_ = new std::string(files[0]);
    second_ = new std::string(files[1]);
  }
  static void TearDownTestSuite() { fs::remove_all(*dir_); }
  static std::string *dir_, *first_, *second_;
};
std::string *CliDiffTest::dir_, *CliDiffTest::first_, *CliDiffTest::second_;

TEST_F(CliDiffTest, TopShowsTheGoProgramsFunctions) {
  ProcessResult top = Heapwatch({"top", *second_});
  ASSERT_TRUE(top.Exited(0)) << top.err;
  EXPECT_NE(top.out.find("Type: inuse_space (bytes)"), std::string::npos) << top.out;
  std::string large = LineEndingWith(top.out, "main.retainLarge");
  // 2457600 bytes = 2.34 MiB
  EXPECT_TRUE(large.find(absl::StrFormat("%.2f MiB", kLargeBlocks * kLargeSize / 1048576.0)) != std::string::npos)
      << top.out;
  ProcessResult objects = Heapwatch({"top", "--sample_index=inuse_objects", "--nodecount=1", *second_});
  ASSERT_TRUE(objects.Exited(0)) << objects.err;
  // The leaf with most objects: the 1000 small blocks.
  EXPECT_NE(LineEndingWith(objects.out, "main.retainSmall").find(absl::StrFormat(" %d ", kSmallBlocks)),
            std::string::npos)
      << objects.out;
}

TEST_F(CliDiffTest, DiffReportsTheGrowthAsTextAndJson) {
  ProcessResult text = Heapwatch({"diff", *first_, *second_});
  ASSERT_TRUE(text.Exited(0)) << text.err;
  EXPECT_TRUE(text.out.starts_with("Base: " + *first_ + "\nNew:  " + *second_ + "\n")) << text.out;
  EXPECT_NE(text.out.find("main.retainLarge"), std::string::npos) << text.out;

  ProcessResult json_run = Heapwatch({"diff", "--format=json", "--alloc", "--nodecount=0", *first_, *second_});
  ASSERT_TRUE(json_run.Exited(0)) << json_run.err;
  nlohmann::json json = nlohmann::json::parse(json_run.out);
  EXPECT_EQ(json["base"], *first_);
  EXPECT_EQ(json["new"], *second_);
  ASSERT_EQ(json["columns"].size(), 4u);
  ASSERT_FALSE(json["functions"].empty());
  // The largest change is the large blocks, allocated between the two.
  EXPECT_EQ(json["functions"][0]["name"], "main.retainLarge");
  EXPECT_EQ(json["functions"][0]["site"]["delta"]["inuse_space"], kLargeBlocks * kLargeSize);
  EXPECT_EQ(json["functions"][0]["site"]["delta"]["alloc_objects"], kLargeBlocks);
  EXPECT_EQ(json["functions"][0]["site"]["base"]["inuse_space"], 0);
  EXPECT_EQ(json["stacks"][0]["frames"][0]["name"], "main.retainLarge");

  ProcessResult self = Heapwatch({"diff", "--format=json", *second_, *second_});
  ASSERT_TRUE(self.Exited(0)) << self.err;
  nlohmann::json empty = nlohmann::json::parse(self.out);
  EXPECT_TRUE(empty["stacks"].empty());
  EXPECT_TRUE(empty["functions"].empty());
}

TEST_F(CliDiffTest, DiffProfileLoadsInGoToolPprof) {
  std::string out = *dir_ + "/diff.pb.gz";
  ProcessResult diff = Heapwatch({"diff", "--out=" + out, *first_, *second_});
  ASSERT_TRUE(diff.Exited(0)) << diff.err;
  ASSERT_TRUE(fs::exists(out));

  ProcessResult raw = testing::RunGo({"tool", "pprof", "-raw", out});
  ASSERT_TRUE(raw.Exited(0)) << raw.err;
  EXPECT_NE(raw.out.find("pprof::base:[true]"), std::string::npos) << raw.out;
  EXPECT_NE(raw.out.find("main.retainLarge"), std::string::npos) << raw.out;

  // pprof -top shows the net per function: the large blocks, in pprof's kB
  // (1024 bytes); the small blocks were there in both and cancel, and pprof
  // leaves out a function whose net is zero.
  ProcessResult top = testing::RunGo({"tool", "pprof", "-top", "-nodefraction=0", out});
  ASSERT_TRUE(top.Exited(0)) << top.err;
  std::string large = LineEndingWith(top.out, "main.retainLarge");
  EXPECT_TRUE(large.find(absl::StrFormat("%dkB", kLargeBlocks * kLargeSize / 1024)) != std::string::npos) << top.out;
  EXPECT_EQ(LineEndingWith(top.out, "main.retainSmall"), "") << top.out;

  // Our own reader takes it too.
  absl::StatusOr<Profile> read = ReadProfileFile(out);
  ASSERT_TRUE(read.ok()) << read.status().message();
}

}  // namespace
}  // namespace heapwatch
