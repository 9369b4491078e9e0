// `heapwatch trend` and `heapwatch check` end to end: series written as
// heapwatch writes them (heap.<pid>.<seq>.pb.gz, gzip, WriteProfileFile) to
// a temporary directory, the verbs run as a user runs them; exit status,
// reports, every option, and bad input.

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include <libxml/parser.h>
#include <libxml/tree.h>

#include <memory>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "absl/strings/str_format.h"
#include "analyzer/profile_codec.h"
#include "tests/unit/heap_profile_builder.h"
#include "tests/unit/subprocess.h"

namespace heapwatch {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;
using testing::HeapProfileBuilder;
using testing::MakeSeries;
using testing::ProcessResult;
using nlohmann::json;

const std::string kHeapwatch = std::string(HEAPWATCH_BINARY_DIR) + "/bin/heapwatch";
const std::string kCorpus = std::string(HEAPWATCH_SOURCE_DIR) + "/tests/corpus";
constexpr int64_t kRate = 512 * 1024;
constexpr size_t kSnapshots = 20;

ProcessResult Heapwatch(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {kHeapwatch};
  argv.insert(argv.end(), args.begin(), args.end());
  return testing::RunProcess(argv);
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

void Write(const ProcessSeries& series, const std::string& dir) {
  for (const Snapshot& s : series.snapshots) {
    absl::Status written = WriteProfileFile(s.profile, dir + "/" + s.path);
    ASSERT_TRUE(written.ok()) << written;
  }
  if (series.exit) {
    ASSERT_TRUE(WriteProfileFile(series.exit->profile, dir + "/" + series.exit->path).ok());
  }
}

// malloc <- operator new <- function <- caller <- main.
std::vector<std::string> Stack(const std::string& function, const std::string& caller = "Server::Serve()") {
  return {"malloc", "operator new(unsigned long)", function, caller, "main"};
}

// A server whose cache leaks 48 sampled blocks (24 MiB) over the run, no
// exit profile (it was killed); and a worker with a stable heap, a bounded
// cache and a batch buffer, which exits and leaves a little behind.
ProcessSeries LeakyServer(int64_t pid, const std::string& function = "LeakyCache::Insert(std::string const&)") {
  return MakeSeries(pid, kSnapshots, 5, kRate, [&](HeapProfileBuilder& b, size_t i) {
    double x = static_cast<double>(i) / (kSnapshots - 1);
    b.Add(Stack(function, "Handler::OnGet()"), 32 * x, 32 * x);
    b.Add(Stack(function, "Handler::OnPut()"), 16 * x, 16 * x);
    b.Add(Stack("Loader::Load()"), 200, 200);
  });
}

ProcessSeries TidyWorker(int64_t pid) {
  ProcessSeries series = MakeSeries(pid, kSnapshots, 5, kRate, [](HeapProfileBuilder& b, size_t i) {
    double x = static_cast<double>(i) / (kSnapshots - 1);
    b.Add(Stack("Loader::Load()"), 100, 100);
    double cache = 150 * std::min(1.0, x / 0.3);
    b.Add(Stack("Cache::Fill()"), cache, cache + 5.0 * static_cast<double>(i));
    double batch = 30 * static_cast<double>(i % 4);
    b.Add(Stack("Batch::Run()"), batch, 45 * static_cast<double>(i) + batch);
  });
  HeapProfileBuilder exit(kRate, 1'800'000'000'000'000'000);
  exit.Add(Stack("Globals::Init()"), 3, 3);
  series.exit = Snapshot{.path = absl::StrFormat("heap.%d.exit.pb.gz", pid), .profile = exit.Build()};
  return series;
}

class CliTrendCheckTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::FreshTestDir("cli_trend_check");
    leaky_ = dir_ + "/leaky";
    tidy_ = dir_ + "/tidy";
    fs::create_directories(leaky_);
    fs::create_directories(tidy_);
    Write(LeakyServer(100), leaky_);
    Write(TidyWorker(200), tidy_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string dir_, leaky_, tidy_;
};

TEST_F(CliTrendCheckTest, CheckFailsOnALeakOfAKilledProcess) {
  ProcessResult r = Heapwatch({"check", leaky_, tidy_});
  EXPECT_TRUE(r.Exited(1)) << r.out << r.err;
  EXPECT_TRUE(r.out.starts_with("heapwatch check: FAIL: 1 leak over the limits in 1 of 2 processes; largest "
                                "LeakyCache::Insert +"))
      << r.out;
  EXPECT_THAT(r.out, HasSubstr("pid 100 (server): FAIL"));
  EXPECT_THAT(r.out, HasSubstr("at LeakyCache::Insert <- Handler::OnGet <- main"));
  EXPECT_THAT(r.out, HasSubstr("pid 200 (server): pass"));
  EXPECT_THAT(r.out, HasSubstr("not freed at exit (information, not a verdict)"));
  EXPECT_EQ(r.err, "");
}

TEST_F(CliTrendCheckTest, CheckPassesPlateausAndSawtooths) {
  ProcessResult r = Heapwatch({"check", tidy_});
  EXPECT_TRUE(r.Exited(0)) << r.out << r.err;
  EXPECT_TRUE(r.out.starts_with("heapwatch check: PASS: no leak over the limits in 1 process")) << r.out;
  ProcessResult v = Heapwatch({"check", "-v", tidy_});
  EXPECT_TRUE(v.Exited(0));
  EXPECT_THAT(v.out, HasSubstr("plateau"));
  EXPECT_THAT(v.out, HasSubstr("sawtooth"));
}

TEST_F(CliTrendCheckTest, Limits) {
  ProcessResult lenient = Heapwatch({"check", "--max-site-growth=1GiB", "--max-total-growth=none", leaky_});
  EXPECT_TRUE(lenient.Exited(0)) << lenient.out << lenient.err;
  EXPECT_THAT(lenient.out, HasSubstr("PASS: 1 leak within the limits"));
  ProcessResult total = Heapwatch({"check", "--max-site-growth=1GiB", "--max-total-growth=4MiB", leaky_});
  EXPECT_TRUE(total.Exited(1));
  EXPECT_THAT(total.out, HasSubstr("over the 4.00 MiB total limit"));
  // About 200 KiB/s.
  ProcessResult rate = Heapwatch(
      {"check", "--max-site-growth=none", "--max-total-growth=none", "--max-growth-rate=100KiB/s", leaky_});
  EXPECT_TRUE(rate.Exited(1)) << rate.out;
  EXPECT_THAT(rate.out, HasSubstr("over the 100.00 KiB/s rate limit"));
  ProcessResult slow = Heapwatch(
      {"check", "--max-site-growth=none", "--max-total-growth=none", "--max-growth-rate=1GiB/h", leaky_});
  EXPECT_TRUE(slow.Exited(0)) << slow.out;
}

TEST_F(CliTrendCheckTest, Suppressions) {
  std::string file = dir_ + "/leaks.supp";
  std::ofstream(file) << "# the cache is known to leak\nleak:LeakyCache::*\n";
  ProcessResult r = Heapwatch({"check", "--suppressions=" + file, leaky_});
  EXPECT_TRUE(r.Exited(0)) << r.out << r.err;
  EXPECT_THAT(r.out, HasSubstr("suppressed by leak:LeakyCache::*"));
  ProcessResult inline_pattern = Heapwatch({"check", "--suppress=^LeakyCache", leaky_});
  EXPECT_TRUE(inline_pattern.Exited(0)) << inline_pattern.out;
  // One path suppressed, the other still leaks (16 blocks of evidence).
  ProcessResult one_path = Heapwatch({"check", "--suppress=Handler::OnGet", leaky_});
  EXPECT_TRUE(one_path.Exited(1)) << one_path.out;

  std::string bad = dir_ + "/bad.supp";
  std::ofstream(bad) << "leak:ok\nrace:Thread\n";
  ProcessResult error = Heapwatch({"check", "--suppressions=" + bad, leaky_});
  EXPECT_TRUE(error.Exited(2));
  EXPECT_THAT(error.err, HasSubstr("heapwatch check: " + bad + ": line 2: unknown suppression type 'race'"));
}

TEST_F(CliTrendCheckTest, BaselineFailsOnlyOnNewLeaks) {
  std::string baseline = dir_ + "/baseline.json";
  ProcessResult first = Heapwatch({"check", "--json=" + baseline, leaky_});
  EXPECT_TRUE(first.Exited(1));
  ASSERT_TRUE(fs::exists(baseline));
  // The same program, next run: another pid, the same leak.
  std::string next = dir_ + "/next";
  fs::create_directories(next);
  Write(LeakyServer(300), next);
  ProcessResult known = Heapwatch({"check", "--baseline=" + baseline, next});
  EXPECT_TRUE(known.Exited(0)) << known.out << known.err;
  EXPECT_THAT(known.out, HasSubstr("1 in the baseline"));
  // A new leak in another function fails.
  Write(LeakyServer(400, "Registry::Add()"), next);
  ProcessResult fresh = Heapwatch({"check", "--baseline=" + baseline, next});
  EXPECT_TRUE(fresh.Exited(1)) << fresh.out;
  EXPECT_THAT(fresh.out, HasSubstr("Registry::Add"));

  std::ofstream(dir_ + "/not-a-report.json") << "{\"hello\": 1}";
  ProcessResult bad = Heapwatch({"check", "--baseline=" + dir_ + "/not-a-report.json", next});
  EXPECT_TRUE(bad.Exited(2));
  EXPECT_THAT(bad.err, HasSubstr("not-a-report.json: not a heapwatch check or trend report"));
}

TEST_F(CliTrendCheckTest, JsonShape) {
  ProcessResult r = Heapwatch({"check", "--format=json", leaky_, tidy_});
  EXPECT_TRUE(r.Exited(1));
  json report = json::parse(r.out);
  EXPECT_EQ(report["verdict"], "fail");
  ASSERT_EQ(report["processes"].size(), 2u);
  const json& leaky = report["processes"][0];
  EXPECT_EQ(leaky["pid"], 100);
  EXPECT_EQ(leaky["snapshots"], kSnapshots);
  ASSERT_EQ(leaky["sites"].size(), 1u);
  const json& site = leaky["sites"][0];
  EXPECT_EQ(site["classification"], "leak");
  EXPECT_EQ(site["site"], "LeakyCache::Insert");
  EXPECT_EQ(site["stack"].front(), "malloc");
  EXPECT_EQ(site["stack"].back(), "main");
  EXPECT_EQ(site["inuse_bytes"].size(), kSnapshots);
  EXPECT_TRUE(site["inuse_bytes"][0].is_number_integer());
  EXPECT_TRUE(site["growth_bytes"].is_number_integer());
  EXPECT_GT(site["growth_bytes"].get<int64_t>(), 16 << 20);
  EXPECT_TRUE(site["growth_bytes_per_sec"].is_number());
  EXPECT_EQ(report["processes"][1]["pid"], 200);

  ProcessResult trend = Heapwatch({"trend", "--format=json", leaky_, tidy_});
  EXPECT_TRUE(trend.Exited(0)) << trend.err;
  json described = json::parse(trend.out);
  EXPECT_FALSE(described.contains("verdict"));
  std::vector<std::string> kinds;
  for (const json& s : described["processes"][1]["sites"]) kinds.push_back(s["classification"]);
  EXPECT_THAT(kinds, ::testing::UnorderedElementsAre("stable", "plateau", "sawtooth"));
}

TEST_F(CliTrendCheckTest, JUnitAndMarkdownFilesBesideTheText) {
  std::string junit = dir_ + "/heapwatch.xml", markdown = dir_ + "/summary.md";
  ProcessResult r = Heapwatch({"check", "-q", "--junit=" + junit, "--markdown=" + markdown, leaky_, tidy_});
  EXPECT_TRUE(r.Exited(1));
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 1) << r.out;  // -q: the verdict line
  std::string xml = ReadFile(junit);
  std::unique_ptr<xmlDoc, void (*)(xmlDoc*)> doc(
      xmlReadMemory(xml.data(), static_cast<int>(xml.size()), "junit.xml", nullptr,
                    XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING),
      xmlFreeDoc);
  ASSERT_NE(doc, nullptr) << xml;
  EXPECT_THAT(xml, HasSubstr("<testcase classname=\"heapwatch.check\" name=\"pid 100 (server)\""));
  EXPECT_THAT(xml, HasSubstr("<failure type=\"leak\" message=\"LeakyCache::Insert grew"));
  EXPECT_THAT(xml, HasSubstr("    at LeakyCache::Insert\n    at Handler::OnGet\n"));
  std::string md = ReadFile(markdown);
  EXPECT_TRUE(md.starts_with("### heapwatch check: FAIL\n")) << md;
  EXPECT_THAT(md, HasSubstr("| fail | leak |"));
}

TEST_F(CliTrendCheckTest, OutputFile) {
  std::string out = dir_ + "/report.md";
  ProcessResult r = Heapwatch({"trend", "--format=markdown", "-o", out, leaky_});
  EXPECT_TRUE(r.Exited(0)) << r.err;
  EXPECT_EQ(r.out, "");
  EXPECT_TRUE(ReadFile(out).starts_with("### heapwatch trend: report\n"));
  ProcessResult unwritable = Heapwatch({"check", "-o", dir_ + "/no/such/dir/report.txt", leaky_});
  EXPECT_TRUE(unwritable.Exited(2));
  EXPECT_THAT(unwritable.err, HasSubstr("report.txt: cannot write"));
}

TEST_F(CliTrendCheckTest, TrendDescribesAndNeverFails) {
  ProcessResult r = Heapwatch({"trend", leaky_, tidy_});
  EXPECT_TRUE(r.Exited(0)) << r.err;
  EXPECT_TRUE(r.out.starts_with("heapwatch trend: 2 processes, 1 leaking site; largest LeakyCache::Insert +"))
      << r.out;
  EXPECT_THAT(r.out, HasSubstr("leak "));
  EXPECT_THAT(r.out, HasSubstr("plateau "));
  EXPECT_THAT(r.out, HasSubstr("sawtooth "));
  EXPECT_THAT(r.out, Not(HasSubstr("Loader::Load")));  // stable: only with -v
  ProcessResult verbose = Heapwatch({"trend", "-v", tidy_});
  EXPECT_THAT(verbose.out, HasSubstr("Loader::Load"));
  EXPECT_THAT(verbose.out, HasSubstr("in use: "));
  ProcessResult top = Heapwatch({"trend", "--top=1", tidy_});
  EXPECT_THAT(top.out, HasSubstr("... 2 more"));
}

TEST_F(CliTrendCheckTest, ShortSeriesWarnInsteadOfPassingSilently) {
  std::string few = dir_ + "/few";
  fs::create_directories(few);
  ProcessSeries series = LeakyServer(500);
  series.snapshots.resize(4);
  Write(series, few);
  ProcessResult r = Heapwatch({"check", few});
  EXPECT_TRUE(r.Exited(0)) << r.out;
  EXPECT_THAT(r.out, HasSubstr("1 too short to judge"));
  EXPECT_THAT(r.out, HasSubstr("warning: too short to judge: 4 snapshots"));
  // Quiet, or another format: the warning still reaches stderr.
  ProcessResult quiet = Heapwatch({"check", "-q", few});
  EXPECT_THAT(quiet.err, HasSubstr("heapwatch check: warning: pid 500 (server): too short to judge"));
  ProcessResult json_out = Heapwatch({"check", "--format=json", few});
  EXPECT_THAT(json_out.err, HasSubstr("too short to judge"));
}

TEST_F(CliTrendCheckTest, WarmUpOption) {
  ProcessResult seconds = Heapwatch({"check", "--format=json", "--warmup=30s", tidy_});
  EXPECT_TRUE(seconds.Exited(0));
  EXPECT_EQ(json::parse(seconds.out)["settings"]["warmup_seconds"], 30);
  ProcessResult percent = Heapwatch({"trend", "--format=json", "--warmup=35%", tidy_});
  EXPECT_TRUE(percent.Exited(0));
  EXPECT_DOUBLE_EQ(json::parse(percent.out)["settings"]["warmup_fraction"].get<double>(), 0.35);
  for (const char* bad : {"--warmup=100%", "--warmup=soon", "--warmup=-1s"}) {
    ProcessResult r = Heapwatch({"check", bad, tidy_});
    EXPECT_TRUE(r.Exited(2)) << bad;
    EXPECT_THAT(r.err, HasSubstr("heapwatch check: --warmup: expected N%")) << bad;
  }
}

TEST_F(CliTrendCheckTest, UsageErrors) {
  for (const char* verb : {"trend", "check"}) {
    SCOPED_TRACE(verb);
    ProcessResult help = Heapwatch({verb, "--help"});
    EXPECT_TRUE(help.Exited(0));
    EXPECT_TRUE(help.out.starts_with(absl::StrFormat("usage: heapwatch %s [options] SERIES...", verb)));
    ProcessResult none = Heapwatch({verb});
    EXPECT_TRUE(none.Exited(2));
    EXPECT_THAT(none.err, HasSubstr(absl::StrFormat("heapwatch %s: no SERIES given", verb)));
    ProcessResult unknown = Heapwatch({verb, "--frobnicate", leaky_});
    EXPECT_TRUE(unknown.Exited(2));
    EXPECT_THAT(unknown.err, HasSubstr("unknown or incomplete option '--frobnicate'"));
    ProcessResult format = Heapwatch({verb, "--format=yaml", leaky_});
    EXPECT_TRUE(format.Exited(2));
    ProcessResult top = Heapwatch({verb, "--top=-1", leaky_});
    EXPECT_TRUE(top.Exited(2));
  }
  ProcessResult junit = Heapwatch({"trend", "--format=junit", leaky_});
  EXPECT_TRUE(junit.Exited(2));
  EXPECT_THAT(junit.err, HasSubstr("use heapwatch check --format=junit"));
  for (const char* bad : {"--max-site-growth=lots", "--max-total-growth=-1", "--max-growth-rate=1KiB/week"}) {
    ProcessResult r = Heapwatch({"check", bad, leaky_});
    EXPECT_TRUE(r.Exited(2)) << bad;
  }
}

TEST_F(CliTrendCheckTest, BadInputIsExitTwoNamingTheFile) {
  std::string empty = dir_ + "/empty";
  fs::create_directories(empty);
  for (const char* verb : {"trend", "check"}) {
    SCOPED_TRACE(verb);
    ProcessResult missing = Heapwatch({verb, dir_ + "/missing"});
    EXPECT_TRUE(missing.Exited(2));
    EXPECT_THAT(missing.err, HasSubstr(dir_ + "/missing"));
    ProcessResult nothing = Heapwatch({verb, empty});
    EXPECT_TRUE(nothing.Exited(2));
    EXPECT_THAT(nothing.err, HasSubstr("no profiles"));
    size_t files = 0;
    for (const fs::directory_entry& entry : fs::directory_iterator(kCorpus + "/malformed")) {
      if (entry.path().filename() == "README.md") continue;
      ++files;
      std::string file = entry.path().string();
      ProcessResult r = Heapwatch({verb, file});
      EXPECT_EQ(r.signal, 0) << file;
      EXPECT_TRUE(r.Exited(2)) << file << r.err;
      EXPECT_THAT(r.err, HasSubstr(file + ": ")) << file;
      EXPECT_EQ(r.out, "") << file;
    }
    EXPECT_GE(files, 20u);
  }
}

// A series written by Go's own runtime/pprof: a leak beside a bounded cache
// and a batch buffer (tests/programs/go/leak_series.go, every allocation
// recorded so the verdict does not depend on sampling luck).
TEST(CliGoSeriesTest, CheckFindsTheGoLeakOnly) {
  std::string dir = testing::FreshTestDir("go_leak_series");
  ProcessResult go =
      testing::RunGo({"run", std::string(HEAPWATCH_SOURCE_DIR) + "/tests/programs/go/leak_series.go", dir});
  ASSERT_TRUE(go.Exited(0)) << go.err;
  ProcessResult check = Heapwatch({"check", "--format=json", dir});
  EXPECT_TRUE(check.Exited(1)) << check.out << check.err;
  json report = json::parse(check.out);
  ASSERT_EQ(report["processes"].size(), 1u);
  const json& sites = report["processes"][0]["sites"];
  ASSERT_EQ(sites.size(), 1u) << sites.dump(2);
  EXPECT_EQ(sites[0]["site"], "main.leak");
  EXPECT_EQ(sites[0]["status"], "fail");
  // 1 MiB a snapshot after the warm-up (the first 20% of the run's time:
  // more snapshots when the machine stalled the program late in the run).
  const size_t warmup = report["processes"][0]["warmup_snapshots"];
  ASSERT_LE(warmup, 11u);
  EXPECT_NEAR(sites[0]["growth_bytes"].get<double>(), (15.0 - warmup) * (1 << 20), 64 << 10);

  ProcessResult trend = Heapwatch({"trend", "--format=json", dir});
  ASSERT_TRUE(trend.Exited(0)) << trend.err;
  std::map<std::string, std::string> kinds;
  json described = json::parse(trend.out);
  for (const json& s : described["processes"][0]["sites"]) {
    kinds[s["site"].get<std::string>()] = s["classification"].get<std::string>();
  }
  EXPECT_EQ(kinds["main.leak"], "leak");
  EXPECT_EQ(kinds["main.fillCache"], "plateau");
  EXPECT_EQ(kinds["main.runBatch"], "sawtooth");
  fs::remove_all(dir);
}

}  // namespace
}  // namespace heapwatch
