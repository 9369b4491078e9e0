// Building reports (report.h) from trends and checks, and the verdict line.

#include "analyzer/report.h"

#include <algorithm>

#include "absl/strings/str_format.h"
#include "analyzer/quantities.h"

namespace heapwatch {
namespace {

nlohmann::json GrowthSettings(const GrowthOptions& growth) {
  nlohmann::json settings;
  if (growth.warmup_seconds) {
    settings["warmup_seconds"] = *growth.warmup_seconds;
  } else {
    settings["warmup_fraction"] = growth.warmup_fraction;
  }
  return settings;
}

std::string Plural(size_t n, const char* one, const char* many) {
  return absl::StrFormat("%d %s", n, n == 1 ? one : many);
}

std::string LeakSummary(const SiteTrend& site) {
  return absl::StrFormat("%s %s (%s)", site.site, FormatSignedBytes(site.verdict.growth_bytes),
                         FormatBytesPerSecond(site.verdict.growth_bytes_per_sec));
}

}  // namespace

Report MakeTrendReport(const std::vector<ProcessTrend>& trends, const TrendOptions& options) {
  Report report;
  report.verb = "trend";
  report.settings = GrowthSettings(options.growth);
  for (const ProcessTrend& trend : trends) {
    ReportProcess process{.trend = &trend};
    for (const SiteTrend* leak : trend.Leaks()) process.sites.push_back({.site = leak});
    for (const SiteTrend& function : trend.functions) {
      if (function.verdict.kind != GrowthKind::kLeak) process.sites.push_back({.site = &function});
    }
    report.processes.push_back(std::move(process));
  }
  return report;
}

Report MakeCheckReport(const CheckResult& result, const CheckOptions& options) {
  Report report;
  report.verb = "check";
  report.failed = result.failed();
  report.settings = GrowthSettings(options.trend.growth);
  const CheckLimits& limits = options.limits;
  auto limit = [](const std::optional<double>& value) { return value ? nlohmann::json(*value) : nlohmann::json(); };
  report.settings["max_site_growth_bytes"] = limit(limits.site_growth_bytes);
  report.settings["max_total_growth_bytes"] = limit(limits.total_growth_bytes);
  report.settings["max_growth_bytes_per_sec"] = limit(limits.growth_bytes_per_sec);
  report.settings["suppressions"] = options.suppressions.patterns();
  report.settings["baseline_leaks"] = options.baseline ? nlohmann::json(options.baseline->size()) : nlohmann::json();
  for (const ProcessCheck& check : result.processes) {
    ReportProcess process{.trend = &check.trend,
                          .failed = check.failed,
                          .failures = check.failures,
                          .total_failure = check.total_failure,
                          .counted_growth_bytes = check.counted_growth_bytes};
    for (const CheckedLeak& leak : check.leaks) {
      process.sites.push_back({.site = leak.site, .status = leak.status, .note = leak.note});
    }
    report.processes.push_back(std::move(process));
  }
  return report;
}

std::string VerdictLine(const Report& report) {
  size_t processes = report.processes.size(), unjudged = 0;
  for (const ReportProcess& p : report.processes) unjudged += !p.trend->judged();
  std::string unjudged_note =
      unjudged == 0 ? "" : absl::StrFormat("; %d too short to judge", unjudged);
  if (!report.failed) {
    std::vector<const SiteTrend*> leaks;
    for (const ReportProcess& p : report.processes) {
      for (const ReportSite& s : p.sites) {
        if (s.site->verdict.kind == GrowthKind::kLeak) leaks.push_back(s.site);
      }
    }
    if (leaks.empty()) {
      return absl::StrFormat("%s, no leaking site%s", Plural(processes, "process", "processes"), unjudged_note);
    }
    const SiteTrend* top = *std::max_element(leaks.begin(), leaks.end(), [](const SiteTrend* a, const SiteTrend* b) {
      return a->verdict.growth_bytes < b->verdict.growth_bytes;
    });
    return absl::StrFormat("%s, %s; largest %s%s", Plural(processes, "process", "processes"),
                           Plural(leaks.size(), "leaking site", "leaking sites"), LeakSummary(*top), unjudged_note);
  }

  size_t failing = 0, over = 0, within = 0, suppressed = 0, known = 0;
  const SiteTrend* top = nullptr;
  bool top_over = false;
  for (const ReportProcess& p : report.processes) {
    failing += p.failed.value_or(false);
    for (const ReportSite& s : p.sites) {
      switch (*s.status) {
        case LeakStatus::kOverLimit: ++over; break;
        case LeakStatus::kWithinLimits: ++within; break;
        case LeakStatus::kSuppressed: ++suppressed; continue;
        case LeakStatus::kInBaseline: ++known; continue;
      }
      // The largest counted leak, preferring those over a limit.
      bool is_over = s.status == LeakStatus::kOverLimit;
      if (top == nullptr || is_over > top_over ||
          (is_over == top_over && s.site->verdict.growth_bytes > top->verdict.growth_bytes)) {
        top = s.site;
        top_over = is_over;
      }
    }
  }
  std::string extra;
  if (suppressed > 0) extra += absl::StrFormat("; %d suppressed", suppressed);
  if (known > 0) extra += absl::StrFormat("; %d in the baseline", known);
  extra += unjudged_note;
  if (!*report.failed) {
    std::string leaks = within == 0 ? "no leak over the limits"
                                    : absl::StrFormat("%s within the limits, largest %s",
                                                      Plural(within, "leak", "leaks"), LeakSummary(*top));
    return absl::StrFormat("PASS: %s in %s%s", leaks, Plural(processes, "process", "processes"), extra);
  }
  std::string what = over > 0 ? absl::StrFormat("%s over the limits", Plural(over, "leak", "leaks"))
                              : std::string("leaks over the total limit");
  return absl::StrFormat("FAIL: %s in %d of %s; largest %s%s", what, failing,
                         Plural(processes, "process", "processes"), LeakSummary(*top), extra);
}

}  // namespace heapwatch
