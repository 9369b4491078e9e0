// What `heapwatch trend` and `heapwatch check` print, in one shape for every
// format: text (report_text.cc), JSON (report_json.cc), JUnit XML
// (report_junit.cc, check only) and Markdown (report_markdown.cc).
//
// The JSON shape is relied on by users; these keys are fixed (others may be
// added, none removed or renamed):
//   {"verdict": "pass"|"fail",                        (check only)
//    "processes": [{"pid": N,                         (null if unknown)
//                   "snapshots": N,
//                   "sites": [{"classification": "leak"|"plateau"|"sawtooth"|"stable"|"shrinking",
//                              "site": "first user frame",
//                              "stack": ["leaf function", ..., "main"],
//                              "inuse_bytes": [per snapshot],
//                              "growth_bytes": N,
//                              "growth_bytes_per_sec": X}]}]}
// trend's report has no "verdict": trend describes, check judges. Its sites
// are every function (leaks first), plus single leaking stacks of functions
// that do not leak as a whole ("level": "stack"); check's are the leaks,
// each with a "status" (fail, within_limits, suppressed, baseline).

#ifndef HEAPWATCH_ANALYZER_REPORT_H_
#define HEAPWATCH_ANALYZER_REPORT_H_

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "analyzer/check.h"
#include "analyzer/trend.h"

namespace heapwatch {

struct ReportSite {
  const SiteTrend* site = nullptr;
  std::optional<LeakStatus> status;  // check only
  std::string note;
};

struct ReportProcess {
  const ProcessTrend* trend = nullptr;
  std::vector<ReportSite> sites;  // in the order to show
  // Check only.
  std::optional<bool> failed;
  std::vector<std::string> failures;
  std::optional<std::string> total_failure;
  double counted_growth_bytes = 0;
};

struct Report {
  std::string verb;            // "trend" or "check"
  std::optional<bool> failed;  // check's verdict
  std::vector<ReportProcess> processes;
  // The limits and options that produced it, for the record.
  nlohmann::json settings = nlohmann::json::object();
};

// Reports refer to the trends and checks they are made from: keep those alive.
Report MakeTrendReport(const std::vector<ProcessTrend>& trends, const TrendOptions& options);
Report MakeCheckReport(const CheckResult& result, const CheckOptions& options);

// verbosity: -1 the verdict line only, 0 the leaks (check) or the sites that
// changed (trend), top `max_sites` per process, 1 every site with its reason
// and in-use history.
std::string TextReport(const Report& report, int verbosity, size_t max_sites);
// max_sites 0: every site.
std::string JsonReport(const Report& report, size_t max_sites);
std::string JUnitReport(const Report& report, size_t max_sites);
std::string MarkdownReport(const Report& report, size_t max_sites);

// The one-line verdict every format starts from: "FAIL: 1 leak over the
// limits in 1 of 2 processes (LeakyCache::Insert +9.50 MiB, 126.70 KiB/s)".
std::string VerdictLine(const Report& report);

}  // namespace heapwatch

#endif  // HEAPWATCH_ANALYZER_REPORT_H_
