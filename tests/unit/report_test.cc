// The reports of trend and check: the JSON shape users rely on (parsed back,
// every fixed key checked), JUnit well-formed for a real XML parser
// (libxml2), Markdown tables that hold together, text verbosity; all with
// hostile names from the profiles.

#include "analyzer/report.h"

#include <libxml/parser.h>
#include <libxml/tree.h>

#include <memory>
#include <set>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "analyzer/check.h"
#include "tests/unit/heap_profile_builder.h"

namespace heapwatch {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using testing::HeapProfileBuilder;
using testing::MakeSeries;
using nlohmann::json;

constexpr int64_t kRate = 512 * 1024;
constexpr size_t kSnapshots = 12;

// A name with every character the formats treat specially, a control
// character and bytes that are not UTF-8. Not C++-like (no "::"), so frame
// naming keeps it whole.
const std::string kHostile = "Evil<&>\"'|`*_\x01\xff\xfe.Leak\nnext";

// pid 1 leaks at Cache::Insert and at the hostile function; pid 2 is tidy
// but leaves memory at exit; pid 3 is too short to judge.
struct Fixture {
  std::vector<ProcessSeries> series;
  CheckOptions options;
  CheckResult result;
  std::vector<ProcessTrend> trends;

  Fixture() {
    series.push_back(MakeSeries(1, kSnapshots, 5, kRate, [](HeapProfileBuilder& b, size_t i) {
      double x = static_cast<double>(i) / (kSnapshots - 1);
      b.Add({"malloc", "Cache::Insert()", "Server::Serve()", "main"}, 60 * x, 60 * x);
      b.Add({"malloc", kHostile, "main"}, 40 * x, 40 * x);
      b.Add({"malloc", "Loader::Load()", "main"}, 100, 100);
    }));
    series.push_back(MakeSeries(2, kSnapshots, 5, kRate, [](HeapProfileBuilder& b, size_t) {
      b.Add({"malloc", "Loader::Load()", "main"}, 100, 100);
    }));
    HeapProfileBuilder exit(kRate, 1'800'000'000'000'000'000);
    exit.Add({"malloc", "Globals::Init()", "main"}, 4, 4);
    series.back().exit = Snapshot{.path = "heap.2.exit.pb.gz", .profile = exit.Build()};
    series.push_back(MakeSeries(3, 3, 5, kRate, [](HeapProfileBuilder& b, size_t i) {
      b.Add({"malloc", "Cache::Insert()", "main"}, 10.0 * i, 10.0 * i);
    }));
    absl::StatusOr<CheckResult> checked = RunCheck(series, options);
    EXPECT_TRUE(checked.ok()) << checked.status();
    result = *std::move(checked);
    for (const ProcessSeries& s : series) trends.push_back(*AnalyzeTrend(s));
  }
  Report Check() const { return MakeCheckReport(result, options); }
  Report Trend() const { return MakeTrendReport(trends, options.trend); }
};

void ExpectFixedShape(const json& report, bool with_verdict) {
  ASSERT_TRUE(report.is_object());
  if (with_verdict) {
    ASSERT_TRUE(report.contains("verdict"));
    EXPECT_TRUE(report["verdict"] == "pass" || report["verdict"] == "fail");
  } else {
    EXPECT_FALSE(report.contains("verdict"));
  }
  ASSERT_TRUE(report["processes"].is_array());
  const std::set<std::string> kinds = {"leak", "plateau", "sawtooth", "stable", "shrinking"};
  for (const json& p : report["processes"]) {
    ASSERT_TRUE(p["pid"].is_number_integer());
    ASSERT_TRUE(p["snapshots"].is_number_integer());
    ASSERT_TRUE(p["sites"].is_array());
    for (const json& s : p["sites"]) {
      ASSERT_TRUE(s["classification"].is_string());
      EXPECT_TRUE(kinds.contains(s["classification"].get<std::string>()));
      ASSERT_TRUE(s["site"].is_string());
      ASSERT_TRUE(s["stack"].is_array());
      ASSERT_FALSE(s["stack"].empty());
      for (const json& frame : s["stack"]) EXPECT_TRUE(frame.is_string());
      EXPECT_EQ(s["stack"].front(), "malloc") << "leaf first";
      EXPECT_EQ(s["stack"].back(), "main");
      ASSERT_TRUE(s["inuse_bytes"].is_array());
      EXPECT_EQ(s["inuse_bytes"].size(), p["snapshots"].get<size_t>());
      for (const json& b : s["inuse_bytes"]) EXPECT_TRUE(b.is_number_integer());
      EXPECT_TRUE(s["growth_bytes"].is_number_integer());
      EXPECT_TRUE(s["growth_bytes_per_sec"].is_number());
    }
  }
}

TEST(JsonReportTest, CheckHasTheFixedShape) {
  Fixture f;
  json report = json::parse(JsonReport(f.Check(), 0));
  ExpectFixedShape(report, true);
  EXPECT_EQ(report["verdict"], "fail");
  ASSERT_EQ(report["processes"].size(), 3u);
  const json& leaky = report["processes"][0];
  EXPECT_EQ(leaky["pid"], 1);
  EXPECT_EQ(leaky["snapshots"], kSnapshots);
  EXPECT_EQ(leaky["verdict"], "fail");
  ASSERT_EQ(leaky["sites"].size(), 2u);
  const json& cache = leaky["sites"][0];
  EXPECT_EQ(cache["classification"], "leak");
  EXPECT_EQ(cache["site"], "Cache::Insert");
  EXPECT_EQ(cache["stack"], json({"malloc", "Cache::Insert", "Server::Serve", "main"}));
  EXPECT_EQ(cache["status"], "fail");
  EXPECT_EQ(cache["level"], "function");
  EXPECT_EQ(cache["stack_count"], 1);
  ASSERT_EQ(cache["stacks"].size(), 1u);
  EXPECT_EQ(cache["stacks"][0]["stack"], cache["stack"]);
  EXPECT_EQ(cache["stacks"][0]["classification"], "leak");
  // The numbers are the trend's.
  const SiteTrend& trend_site = *f.result.processes[0].leaks[0].site;
  EXPECT_EQ(cache["growth_bytes"], std::llround(trend_site.verdict.growth_bytes));
  EXPECT_DOUBLE_EQ(cache["growth_bytes_per_sec"].get<double>(), trend_site.verdict.growth_bytes_per_sec);
  EXPECT_EQ(cache["inuse_bytes"][5], std::llround(trend_site.inuse_bytes[5]));
  EXPECT_EQ(leaky["warmup_snapshots"], f.result.processes[0].trend.total.verdict.window_begin);
  EXPECT_GT(leaky["warmup_snapshots"].get<size_t>(), 0u);
  // The hostile name survives as valid UTF-8 (bad bytes replaced).
  std::string hostile = leaky["sites"][1]["site"];
  EXPECT_THAT(hostile, HasSubstr("Evil<&>\"'|`*_\x01"));
  EXPECT_THAT(hostile, HasSubstr("\xEF\xBF\xBD"));

  const json& tidy = report["processes"][1];
  EXPECT_EQ(tidy["verdict"], "pass");
  EXPECT_TRUE(tidy["sites"].empty());
  EXPECT_EQ(tidy["exit"]["sites"][0]["site"], "Globals::Init");
  EXPECT_TRUE(report["processes"][0]["exit"].is_null());
  const json& short_one = report["processes"][2];
  EXPECT_EQ(short_one["judged"], false);
  EXPECT_THAT(short_one["warnings"][0].get<std::string>(), HasSubstr("too short"));
  EXPECT_EQ(report["settings"]["max_site_growth_bytes"], kDefaultSiteGrowthLimit);
}

TEST(JsonReportTest, TrendHasTheShapeWithoutAVerdict) {
  Fixture f;
  json report = json::parse(JsonReport(f.Trend(), 0));
  ExpectFixedShape(report, false);
  // Every function is there, leaks first.
  const json& sites = report["processes"][0]["sites"];
  ASSERT_EQ(sites.size(), 3u);
  EXPECT_EQ(sites[0]["classification"], "leak");
  EXPECT_EQ(sites[1]["classification"], "leak");
  EXPECT_EQ(sites[2]["site"], "Loader::Load");
  EXPECT_EQ(sites[2]["classification"], "stable");
  EXPECT_FALSE(sites[0].contains("status"));
  // --top limits the sites per process.
  EXPECT_EQ(json::parse(JsonReport(f.Trend(), 1))["processes"][0]["sites"].size(), 1u);
}

struct XmlDocDeleter {
  void operator()(xmlDoc* doc) const { xmlFreeDoc(doc); }
};

std::vector<xmlNode*> Children(xmlNode* node, const char* name) {
  std::vector<xmlNode*> out;
  for (xmlNode* child = node->children; child; child = child->next) {
    if (child->type == XML_ELEMENT_NODE && std::string(reinterpret_cast<const char*>(child->name)) == name) {
      out.push_back(child);
    }
  }
  return out;
}

std::string Attribute(xmlNode* node, const char* name) {
  xmlChar* value = xmlGetProp(node, reinterpret_cast<const xmlChar*>(name));
  std::string out = value ? reinterpret_cast<const char*>(value) : "";
  xmlFree(value);
  return out;
}

std::string Text(xmlNode* node) {
  xmlChar* value = xmlNodeGetContent(node);
  std::string out = value ? reinterpret_cast<const char*>(value) : "";
  xmlFree(value);
  return out;
}

TEST(JUnitReportTest, WellFormedOneTestcasePerProcess) {
  Fixture f;
  std::string xml = JUnitReport(f.Check(), 5);
  std::unique_ptr<xmlDoc, XmlDocDeleter> doc(
      xmlReadMemory(xml.data(), static_cast<int>(xml.size()), "junit.xml", nullptr,
                    XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING));
  ASSERT_NE(doc, nullptr) << "not well-formed:\n" << xml;
  xmlNode* root = xmlDocGetRootElement(doc.get());
  ASSERT_STREQ(reinterpret_cast<const char*>(root->name), "testsuites");
  EXPECT_EQ(Attribute(root, "tests"), "3");
  EXPECT_EQ(Attribute(root, "failures"), "1");
  EXPECT_EQ(Attribute(root, "skipped"), "1");
  std::vector<xmlNode*> suites = Children(root, "testsuite");
  ASSERT_EQ(suites.size(), 1u);
  std::vector<xmlNode*> cases = Children(suites[0], "testcase");
  ASSERT_EQ(cases.size(), 3u);
  EXPECT_EQ(Attribute(cases[0], "name"), "pid 1 (server)");
  EXPECT_EQ(Attribute(cases[0], "classname"), "heapwatch.check");

  std::vector<xmlNode*> failures = Children(cases[0], "failure");
  ASSERT_EQ(failures.size(), 1u);
  EXPECT_THAT(Attribute(failures[0], "message"), HasSubstr("Cache::Insert grew"));
  std::string body = Text(failures[0]);
  EXPECT_THAT(body, HasSubstr("at Cache::Insert\n    at Server::Serve\n    at main"));
  EXPECT_THAT(body, HasSubstr("Evil<&>\"'|`*_?"));  // parsed back: escaped, the control made '?'

  EXPECT_TRUE(Children(cases[1], "failure").empty());
  EXPECT_THAT(Text(Children(cases[1], "system-out").at(0)), HasSubstr("not freed at exit"));
  std::vector<xmlNode*> skipped = Children(cases[2], "skipped");
  ASSERT_EQ(skipped.size(), 1u);
  EXPECT_THAT(Attribute(skipped[0], "message"), HasSubstr("too short to judge"));
}

// Splits a Markdown table row on the pipes that are not escaped.
size_t Cells(const std::string& row) {
  size_t pipes = 0;
  for (size_t i = 0; i < row.size(); ++i) pipes += row[i] == '|' && (i == 0 || row[i - 1] != '\\');
  return pipes - 1;
}

void ExpectTablesHold(const std::string& markdown) {
  std::vector<std::string> lines;
  for (size_t start = 0; start < markdown.size();) {
    size_t end = markdown.find('\n', start);
    lines.push_back(markdown.substr(start, end - start));
    start = end == std::string::npos ? markdown.size() : end + 1;
  }
  size_t tables = 0;
  for (size_t i = 0; i < lines.size(); ++i) {
    if (!lines[i].starts_with("|") || (i > 0 && lines[i - 1].starts_with("|"))) continue;
    ++tables;
    ASSERT_LT(i + 1, lines.size());
    size_t columns = Cells(lines[i]);
    EXPECT_THAT(lines[i + 1], ::testing::MatchesRegex("\\|(---\\|)+"));
    EXPECT_EQ(Cells(lines[i + 1]), columns);
    for (size_t j = i + 2; j < lines.size() && lines[j].starts_with("|"); ++j) {
      EXPECT_EQ(Cells(lines[j]), columns) << lines[j];
      EXPECT_TRUE(lines[j].ends_with("|")) << lines[j];
    }
  }
  EXPECT_GE(tables, 2u);
}

TEST(MarkdownReportTest, TablesHoldWhateverTheNames) {
  Fixture f;
  std::string markdown = MarkdownReport(f.Check(), 10);
  EXPECT_TRUE(markdown.starts_with("### heapwatch check: FAIL\n")) << markdown;
  ExpectTablesHold(markdown);
  EXPECT_THAT(markdown, HasSubstr("| fail | leak |"));
  EXPECT_THAT(markdown, HasSubstr("`Cache::Insert`"));
  EXPECT_THAT(markdown, HasSubstr("too short to judge"));
  EXPECT_THAT(markdown, HasSubstr("Not freed at exit"));
  // The hostile name: pipe escaped, the backtick inside a longer fence.
  EXPECT_THAT(markdown, HasSubstr("``Evil<&>\"'\\|`*_"));
  ExpectTablesHold(MarkdownReport(f.Trend(), 10));
}

TEST(TextReportTest, VerdictFirstAndVerbosity) {
  Fixture f;
  Report report = f.Check();
  std::string quiet = TextReport(report, -1, 10);
  EXPECT_TRUE(quiet.starts_with("heapwatch check: FAIL: 2 leaks over the limits in 1 of 3 processes")) << quiet;
  EXPECT_EQ(std::count(quiet.begin(), quiet.end(), '\n'), 1);
  std::string normal = TextReport(report, 0, 10);
  EXPECT_TRUE(normal.starts_with(quiet));
  EXPECT_THAT(normal, HasSubstr("at Cache::Insert <- Server::Serve <- main"));
  EXPECT_THAT(normal, HasSubstr("over the 1.00 MiB per-site limit"));
  EXPECT_THAT(normal, HasSubstr("not freed at exit (information, not a verdict)"));
  EXPECT_THAT(normal, Not(HasSubstr("in use:")));
  std::string verbose = TextReport(report, 1, 10);
  EXPECT_THAT(verbose, HasSubstr("leak: grows through the run"));
  EXPECT_THAT(verbose, HasSubstr("in use: "));
  // trend names what changed, and no verdict.
  std::string trend = TextReport(f.Trend(), 0, 10);
  EXPECT_TRUE(trend.starts_with("heapwatch trend: 3 processes, 2 leaking sites; largest Cache::Insert +")) << trend;
  EXPECT_THAT(trend, Not(HasSubstr("Loader::Load")));  // stable
  EXPECT_THAT(TextReport(f.Trend(), 1, 10), HasSubstr("Loader::Load"));
}

TEST(VerdictLineTest, PassSaysWhatItSaw) {
  Fixture f;
  CheckOptions lenient;
  lenient.limits = {.site_growth_bytes = 1e12, .total_growth_bytes = 1e12};
  absl::StatusOr<CheckResult> result = RunCheck(f.series, lenient);
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result->exit_status(), 0);
  std::string line = VerdictLine(MakeCheckReport(*result, lenient));
  EXPECT_TRUE(line.starts_with("PASS: 2 leaks within the limits, largest Cache::Insert +")) << line;
  EXPECT_THAT(line, HasSubstr("in 3 processes; 1 too short to judge"));
}

}  // namespace
}  // namespace heapwatch
