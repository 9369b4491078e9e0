// `heapwatch check [options] SERIES...`: the CI gate (check.h).

#include <getopt.h>

#include <cstdio>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "analyzer/check.h"
#include "analyzer/cli_args.h"
#include "analyzer/commands.h"
#include "analyzer/quantities.h"
#include "analyzer/report.h"
#include "analyzer/report_output.h"
#include "analyzer/series.h"
#include "analyzer/series_command.h"

namespace heapwatch {
namespace {

constexpr char kUsage[] =
    "usage: heapwatch check [options] SERIES...\n"
    "\n"
    "The CI gate. Follows every process's series of heap profiles and fails when a\n"
    "call site leaks - its in-use memory grows steadily after the warm-up, unlike a\n"
    "plateau (a cache that fills and stops) or a sawtooth (batches) - by more than\n"
    "the limits. SERIES are profiles or directories of them: heap.<pid>.<seq>.pb.gz\n"
    "from heapwatch, or any pprof heap profiles. The exit profile (heap.<pid>.exit)\n"
    "is shown as \"not freed at exit\" and never decides; a killed process is judged\n"
    "all the same.\n"
    "\n"
    "limits (SIZE like 512KiB, 10MiB, 1GB; RATE like 12KiB/s, 1GiB/day; none: off):\n"
    "  --max-site-growth=SIZE   a leaking site may grow by SIZE (default 1MiB)\n"
    "  --max-total-growth=SIZE  a process's leaking sites together (default 4MiB)\n"
    "  --max-growth-rate=RATE   a leaking site may grow at RATE (default none)\n"
    "judging:\n"
    "  --warmup=N%|DURATION     do not judge the first N% of each series, or the\n"
    "                           first DURATION (30s, 2m) (default 20%)\n"
    "  --suppressions=FILE      LeakSanitizer-style file: leak:<pattern> lines,\n"
    "                           * globs, ^ and $ anchors, # comments (repeatable)\n"
    "  --suppress=PATTERN       one suppression (repeatable)\n"
    "  --baseline=FILE          a previous check's JSON report: fail only on leaks\n"
    "                           it did not list\n"
    "output:\n"
    "  --format=FORMAT          text (default), json, junit or markdown\n"
    "  -o, --output=FILE        write the report to FILE instead of stdout\n"
    "  --json=FILE, --junit=FILE, --markdown=FILE\n"
    "                           also write that report to FILE\n"
    "  --top=N                  sites shown per process (default 10; json: all)\n"
    "  -v, --verbose            every site, with its reason and in-use history\n"
    "  -q, --quiet              the verdict line only\n"
    "  -h, --help               show this help\n"
    "\n"
    "A leak is only confirmed once it stands well above its site's sampling noise:\n"
    "at least 8 sampled blocks of growth (4 MiB at the default 512 KiB rate), so\n"
    "with default settings any confirmed leak fails. The per-site limit matters\n"
    "with exact profiles (rate 1). For soak tests, prefer a rate: what the service\n"
    "may lose between restarts over that time (1 GiB a day: 12KiB/s). To catch\n"
    "smaller leaks, lower the sampling rate (heapwatch run --rate) or run longer.\n"
    "A series with fewer than 5 snapshots after the warm-up is not judged: it\n"
    "passes with a warning.\n"
    "\n"
    "exit status: 0 pass, 1 a leak over the limits, 2 usage or input error.\n";

// "none" turns a limit off; otherwise a size (or rate).
bool ParseLimit(const char* text, bool rate, std::optional<double>* limit) {
  if (std::string_view(text) == "none") {
    limit->reset();
    return true;
  }
  std::optional<double> value = rate ? ParseBytesPerSecond(text) : ParseBytes(text);
  if (!value) return false;
  *limit = *value;
  return true;
}

}  // namespace

int CheckCommand(int argc, char** argv) {
  enum { kSiteGrowth = kFirstVerbOption, kTotalGrowth, kGrowthRate, kSuppressions, kSuppress, kBaseline };
  std::vector<option> long_options = SeriesOptions(/*report_files=*/true);
  long_options.insert(long_options.end(), {{"max-site-growth", required_argument, nullptr, kSiteGrowth},
                                           {"max-total-growth", required_argument, nullptr, kTotalGrowth},
                                           {"max-growth-rate", required_argument, nullptr, kGrowthRate},
                                           {"suppressions", required_argument, nullptr, kSuppressions},
                                           {"suppress", required_argument, nullptr, kSuppress},
                                           {"baseline", required_argument, nullptr, kBaseline},
                                           {"help", no_argument, nullptr, 'h'},
                                           {nullptr, 0, nullptr, 0}});
  CheckOptions options;
  ReportOutput output;
  std::optional<int> stop = ParseVerbOptions(
      "check", argc, argv, kSeriesShortOptions, long_options.data(), kUsage,
      [&](int c, const char* arg) -> std::optional<int> {
        if (std::optional<absl::Status> handled =
                HandleSeriesOption(c, arg, /*verdicts=*/true, &options.trend.growth, &output)) {
          if (!handled->ok()) return Fail("check", *handled);
          return std::nullopt;
        }
        switch (c) {
          case kSiteGrowth:
            if (!ParseLimit(arg, false, &options.limits.site_growth_bytes)) {
              return Fail("check", absl::StrCat("--max-site-growth: not a size: '", arg, "'"));
            }
            break;
          case kTotalGrowth:
            if (!ParseLimit(arg, false, &options.limits.total_growth_bytes)) {
              return Fail("check", absl::StrCat("--max-total-growth: not a size: '", arg, "'"));
            }
            break;
          case kGrowthRate:
            if (!ParseLimit(arg, true, &options.limits.growth_bytes_per_sec)) {
              return Fail("check", absl::StrCat("--max-growth-rate: not a rate: '", arg, "'"));
            }
            break;
          case kSuppressions: {
            absl::StatusOr<Suppressions> file = Suppressions::ReadFile(arg);
            if (!file.ok()) return Fail("check", file.status());
            for (const std::string& pattern : file->patterns()) options.suppressions.Add(pattern);
            break;
          }
          case kSuppress:
            if (*arg == '\0') return Fail("check", "--suppress: empty pattern");
            options.suppressions.Add(arg);
            break;
          case kBaseline: {
            absl::StatusOr<LeakBaseline> baseline = LeakBaseline::ReadFile(arg);
            if (!baseline.ok()) return Fail("check", baseline.status());
            options.baseline = *std::move(baseline);
            break;
          }
        }
        return std::nullopt;
      });
  if (stop) return *stop;
  absl::StatusOr<std::vector<ProcessSeries>> series = LoadSeriesOperands(argc, argv);
  if (!series.ok()) {
    if (optind >= argc) std::fputs(kUsage, stderr);
    return Fail("check", series.status());
  }
  absl::StatusOr<CheckResult> result = RunCheck(*series, options);
  if (!result.ok()) return Fail("check", result.status());
  Report report = MakeCheckReport(*result, options);
  if (absl::Status written = WriteReports(report, output); !written.ok()) return Fail("check", written);
  std::vector<const ProcessTrend*> judged;
  for (const ProcessCheck& p : result->processes) judged.push_back(&p.trend);
  EchoWarnings("check", output, judged);
  return result->exit_status();
}

}  // namespace heapwatch
