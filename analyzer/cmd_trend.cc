// `heapwatch trend [options] SERIES...`: what grew in each process, call site
// by call site, classified (trend.h). Describes; `heapwatch check` judges.

#include <getopt.h>

#include <cstdio>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "analyzer/cli_args.h"
#include "analyzer/commands.h"
#include "analyzer/report.h"
#include "analyzer/report_output.h"
#include "analyzer/series.h"
#include "analyzer/series_command.h"
#include "analyzer/trend.h"

namespace heapwatch {
namespace {

constexpr char kUsage[] =
    "usage: heapwatch trend [options] SERIES...\n"
    "\n"
    "Follows every process's series of heap profiles and classifies each call site\n"
    "(each stack, rolled up to its first function outside the allocator) by how\n"
    "its in-use memory moved after the warm-up:\n"
    "  leak       grows steadily through the run\n"
    "  plateau    grew, then stopped (warm-up, a bounded cache)\n"
    "  sawtooth   rises and falls back repeatedly (batches)\n"
    "  shrinking  declines\n"
    "  stable     no change beyond sampling noise\n"
    "SERIES are profiles or directories of them: heap.<pid>.<seq>.pb.gz from\n"
    "heapwatch, or any pprof heap profiles. The exit profile is shown as \"not freed\n"
    "at exit\", apart. trend never fails on a leak: use heapwatch check for that.\n"
    "\n"
    "options:\n"
    "  --warmup=N%|DURATION  do not judge the first N% of each series, or the first\n"
    "                        DURATION (30s, 2m) (default 20%)\n"
    "  --format=FORMAT       text (default), json or markdown\n"
    "  -o, --output=FILE     write the report to FILE instead of stdout\n"
    "  --top=N               sites shown per process (default 10; json: all)\n"
    "  -v, --verbose         every site, with its reason and in-use history\n"
    "  -q, --quiet           the summary line only\n"
    "  -h, --help            show this help\n"
    "\n"
    "The JSON report has the shape of check's without \"verdict\"; its sites are\n"
    "every function, leaks first.\n"
    "\n"
    "exit status: 0 success, 2 usage or input error.\n";

}  // namespace

int TrendCommand(int argc, char** argv) {
  std::vector<option> options = SeriesOptions(/*report_files=*/false);
  options.push_back({"help", no_argument, nullptr, 'h'});
  options.push_back({nullptr, 0, nullptr, 0});
  TrendOptions trend_options;
  ReportOutput output;
  // Every option trend has is shared with check.
  std::optional<int> stop = ParseVerbOptions(
      "trend", argc, argv, kSeriesShortOptions, options.data(), kUsage,
      [&](int c, const char* arg) -> std::optional<int> {
        absl::Status handled =
            HandleSeriesOption(c, arg, /*verdicts=*/false, &trend_options.growth, &output).value_or(absl::OkStatus());
        if (!handled.ok()) return Fail("trend", handled);
        return std::nullopt;
      });
  if (stop) return *stop;
  absl::StatusOr<std::vector<ProcessSeries>> series = LoadSeriesOperands(argc, argv);
  if (!series.ok()) {
    if (optind >= argc) std::fputs(kUsage, stderr);
    return Fail("trend", series.status());
  }
  std::vector<ProcessTrend> trends;
  for (const ProcessSeries& s : *series) {
    absl::StatusOr<ProcessTrend> trend = AnalyzeTrend(s, trend_options);
    if (!trend.ok()) return Fail("trend", trend.status());
    trends.push_back(*std::move(trend));
  }
  Report report = MakeTrendReport(trends, trend_options);
  if (absl::Status written = WriteReports(report, output); !written.ok()) return Fail("trend", written);
  std::vector<const ProcessTrend*> judged;
  for (const ProcessTrend& t : trends) judged.push_back(&t);
  EchoWarnings("trend", output, judged);
  return 0;
}

}  // namespace heapwatch
