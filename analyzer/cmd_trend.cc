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
  enum { kWarmup = 1, kFormat, kTop };
  static const option kOptions[] = {{"warmup", required_argument, nullptr, kWarmup},
                                    {"format", required_argument, nullptr, kFormat},
                                    {"output", required_argument, nullptr, 'o'},
                                    {"top", required_argument, nullptr, kTop},
                                    {"verbose", no_argument, nullptr, 'v'},
                                    {"quiet", no_argument, nullptr, 'q'},
                                    {"help", no_argument, nullptr, 'h'},
                                    {nullptr, 0, nullptr, 0}};
  TrendOptions options;
  ReportOutput output;
  optind = 0;  // getopt_long state is global: start over for this verb
  opterr = 0;
  while (true) {
    int c = getopt_long(argc, argv, "o:vqh", kOptions, nullptr);
    if (c == -1) break;
    switch (c) {
      case kWarmup:
        if (!ParseWarmup(optarg, &options.growth)) {
          return Fail("trend", absl::StrCat("--warmup: expected N% (below 100) or a duration, got '", optarg, "'"));
        }
        break;
      case kFormat: {
        std::optional<ReportFormat> format = ParseReportFormat(optarg);
        if (format == ReportFormat::kJUnit) {
          return Fail("trend", "--format: junit reports a verdict: use heapwatch check --format=junit");
        }
        if (!format) return Fail("trend", absl::StrCat("--format: expected text, json or markdown, got '", optarg, "'"));
        output.format = *format;
        break;
      }
      case 'o':
        output.path = optarg;
        break;
      case kTop: {
        std::optional<size_t> n = ParseCount(optarg);
        if (!n) return Fail("trend", absl::StrCat("--top: not a count: '", optarg, "'"));
        output.max_sites = *n;
        break;
      }
      case 'v':
        output.verbosity = 1;
        break;
      case 'q':
        output.verbosity = -1;
        break;
      case 'h':
        std::fputs(kUsage, stdout);
        return 0;
      default:
        std::fputs(kUsage, stderr);
        return Fail("trend", absl::StrCat("unknown or incomplete option '", argv[optind - 1], "'"));
    }
  }
  std::vector<std::string> paths(argv + optind, argv + argc);
  if (paths.empty()) {
    std::fputs(kUsage, stderr);
    return Fail("trend", "no SERIES given");
  }
  absl::StatusOr<std::vector<ProcessSeries>> series = LoadSeries(paths);
  if (!series.ok()) return Fail("trend", series.status());
  if (series->empty()) return Fail("trend", "no heap profiles found");
  std::vector<ProcessTrend> trends;
  for (const ProcessSeries& s : *series) {
    absl::StatusOr<ProcessTrend> trend = AnalyzeTrend(s, options);
    if (!trend.ok()) return Fail("trend", trend.status());
    trends.push_back(*std::move(trend));
  }
  Report report = MakeTrendReport(trends, options);
  if (absl::Status written = WriteReports(report, output); !written.ok()) return Fail("trend", written);
  if (output.format != ReportFormat::kText || !output.path.empty() || output.verbosity < 0) {
    for (const ProcessTrend& t : trends) {
      for (const std::string& w : t.warnings) {
        std::fprintf(stderr, "heapwatch trend: warning: %s: %s\n", t.name.c_str(), w.c_str());
      }
    }
  }
  return 0;
}

}  // namespace heapwatch
