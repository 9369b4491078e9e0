// What `heapwatch trend` and `heapwatch check` share on the command line:
// the warm-up and report options, loading the SERIES operands, and echoing
// warnings to stderr when the report goes elsewhere.

#ifndef HEAPWATCH_ANALYZER_SERIES_COMMAND_H_
#define HEAPWATCH_ANALYZER_SERIES_COMMAND_H_

#include <getopt.h>

#include <optional>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "analyzer/growth_classifier.h"
#include "analyzer/report_output.h"
#include "analyzer/series.h"
#include "analyzer/trend.h"

namespace heapwatch {

// getopt_long values of the shared long options; a verb numbers its own
// from kFirstVerbOption.
enum SeriesOption : int {
  kWarmupOption = 1000,
  kFormatOption,
  kTopOption,
  kJsonOption,
  kJUnitOption,
  kMarkdownOption,
  kFirstVerbOption,
};

// The getopt_long entries of the shared options: --warmup, --format,
// -o/--output, --top, -v/--verbose, -q/--quiet; with `report_files`, also
// --json, --junit, --markdown. No terminating entry.
std::vector<option> SeriesOptions(bool report_files);

// The short options that go with them.
inline constexpr char kSeriesShortOptions[] = "o:vqh";

// Handles option `c` if it is a shared one: nullopt when it is not (the
// verb's own), else OK or the usage error to report. `verdicts` says whether
// the verb judges (JUnit is a verdict format).
std::optional<absl::Status> HandleSeriesOption(int c, const char* argument, bool verdicts, GrowthOptions* growth,
                                               ReportOutput* output);

// The operands after the options, loaded and grouped: an error when there
// are none or they do not load.
absl::StatusOr<std::vector<ProcessSeries>> LoadSeriesOperands(int argc, char** argv);

// Repeats the processes' warnings on stderr when the report does not go
// to the terminal as text (CI logs show them whatever the format).
void EchoWarnings(std::string_view verb, const ReportOutput& output, const std::vector<const ProcessTrend*>& trends);

}  // namespace heapwatch

#endif  // HEAPWATCH_ANALYZER_SERIES_COMMAND_H_
