// The output options trend and check share: the format on stdout (or in a
// file), extra report files for CI (JUnit for the test tab, Markdown for the
// job summary, JSON for a later --baseline), verbosity and how many sites.

#ifndef HEAPWATCH_ANALYZER_REPORT_OUTPUT_H_
#define HEAPWATCH_ANALYZER_REPORT_OUTPUT_H_

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "analyzer/growth_classifier.h"
#include "analyzer/report.h"

namespace heapwatch {

enum class ReportFormat { kText, kJson, kJUnit, kMarkdown };

// "text", "json", "junit", "markdown" (also "md").
std::optional<ReportFormat> ParseReportFormat(std::string_view name);

struct ReportOutput {
  ReportFormat format = ReportFormat::kText;
  std::string path;  // empty: stdout
  std::vector<std::pair<ReportFormat, std::string>> extra_files;
  int verbosity = 0;                // -1 quiet, 1 verbose
  std::optional<size_t> max_sites;  // unset: 10 in text and Markdown, all in JSON
};

// Renders `report` in `format` as `output` asks.
std::string RenderReport(const Report& report, ReportFormat format, const ReportOutput& output);

// Writes the main report and the extra files. A file that cannot be written
// is an error naming it.
absl::Status WriteReports(const Report& report, const ReportOutput& output);

// "--warmup" values: "25%" (of each series' duration) or a duration ("30s",
// "2m", a bare number of seconds). Sets one of the two fields.
bool ParseWarmup(std::string_view text, GrowthOptions* options);

}  // namespace heapwatch

#endif  // HEAPWATCH_ANALYZER_REPORT_OUTPUT_H_
