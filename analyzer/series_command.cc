#include "analyzer/series_command.h"

#include <cstdio>
#include <string>

#include "absl/strings/str_cat.h"
#include "analyzer/cli_args.h"

namespace heapwatch {

std::vector<option> SeriesOptions(bool report_files) {
  std::vector<option> options = {{"warmup", required_argument, nullptr, kWarmupOption},
                                 {"format", required_argument, nullptr, kFormatOption},
                                 {"output", required_argument, nullptr, 'o'},
                                 {"top", required_argument, nullptr, kTopOption},
                                 {"verbose", no_argument, nullptr, 'v'},
                                 {"quiet", no_argument, nullptr, 'q'}};
  if (report_files) {
    options.push_back({"json", required_argument, nullptr, kJsonOption});
    options.push_back({"junit", required_argument, nullptr, kJUnitOption});
    options.push_back({"markdown", required_argument, nullptr, kMarkdownOption});
  }
  return options;
}

std::optional<absl::Status> HandleSeriesOption(int c, const char* argument, bool verdicts, GrowthOptions* growth,
                                               ReportOutput* output) {
  switch (c) {
    case kWarmupOption:
      if (!ParseWarmup(argument, growth)) {
        return absl::InvalidArgumentError(
            absl::StrCat("--warmup: expected N% (below 100) or a duration, got '", argument, "'"));
      }
      return absl::OkStatus();
    case kFormatOption: {
      std::optional<ReportFormat> format = ParseReportFormat(argument);
      if (format == ReportFormat::kJUnit && !verdicts) {
        return absl::InvalidArgumentError("--format: junit reports a verdict: use heapwatch check --format=junit");
      }
      if (!format) {
        return absl::InvalidArgumentError(absl::StrCat("--format: expected text, json", verdicts ? ", junit" : "",
                                                       " or markdown, got '", argument, "'"));
      }
      output->format = *format;
      return absl::OkStatus();
    }
    case 'o':
      output->path = argument;
      return absl::OkStatus();
    case kJsonOption:
      output->extra_files.emplace_back(ReportFormat::kJson, argument);
      return absl::OkStatus();
    case kJUnitOption:
      output->extra_files.emplace_back(ReportFormat::kJUnit, argument);
      return absl::OkStatus();
    case kMarkdownOption:
      output->extra_files.emplace_back(ReportFormat::kMarkdown, argument);
      return absl::OkStatus();
    case kTopOption: {
      std::optional<size_t> n = ParseCount(argument);
      if (!n) return absl::InvalidArgumentError(absl::StrCat("--top: not a count: '", argument, "'"));
      output->max_sites = *n;
      return absl::OkStatus();
    }
    case 'v':
      output->verbosity = 1;
      return absl::OkStatus();
    case 'q':
      output->verbosity = -1;
      return absl::OkStatus();
  }
  return std::nullopt;
}

absl::StatusOr<std::vector<ProcessSeries>> LoadSeriesOperands(int argc, char** argv) {
  std::vector<std::string> paths(argv + optind, argv + argc);
  if (paths.empty()) return absl::InvalidArgumentError("no SERIES given");
  absl::StatusOr<std::vector<ProcessSeries>> series = LoadSeries(paths);
  if (series.ok() && series->empty()) return absl::InvalidArgumentError("no heap profiles found");
  return series;
}

void EchoWarnings(std::string_view verb, const ReportOutput& output, const std::vector<const ProcessTrend*>& trends) {
  if (output.format == ReportFormat::kText && output.path.empty() && output.verbosity >= 0) return;
  for (const ProcessTrend* trend : trends) {
    for (const std::string& warning : trend->warnings) {
      std::fprintf(stderr, "heapwatch %.*s: warning: %s: %s\n", static_cast<int>(verb.size()), verb.data(),
                   trend->name.c_str(), warning.c_str());
    }
  }
}

}  // namespace heapwatch
