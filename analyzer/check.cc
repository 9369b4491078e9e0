// Implementation of check.h.

#include "analyzer/check.h"

#include <utility>

#include "absl/strings/str_format.h"
#include "analyzer/quantities.h"

namespace heapwatch {

std::string_view LeakStatusName(LeakStatus status) {
  switch (status) {
    case LeakStatus::kOverLimit: return "fail";
    case LeakStatus::kWithinLimits: return "within_limits";
    case LeakStatus::kSuppressed: return "suppressed";
    case LeakStatus::kInBaseline: return "baseline";
  }
  return "fail";
}

bool CheckResult::failed() const {
  for (const ProcessCheck& p : processes) {
    if (p.failed) return true;
  }
  return false;
}

ProcessCheck JudgeProcess(ProcessTrend trend, const CheckOptions& options) {
  ProcessCheck check;
  check.trend = std::move(trend);
  const ProcessTrend& t = check.trend;
  const CheckLimits& limits = options.limits;
  for (const SiteTrend* leak : t.Leaks()) {
    CheckedLeak checked{.site = leak};
    const GrowthVerdict& v = leak->verdict;
    if (options.baseline && options.baseline->Contains(*leak)) {
      checked.status = LeakStatus::kInBaseline;
      checked.note = "already in the baseline";
    } else {
      std::vector<std::string> over;
      if (limits.site_growth_bytes && v.growth_bytes > *limits.site_growth_bytes) {
        over.push_back(absl::StrFormat("grew %s, over the %s per-site limit", FormatSignedBytes(v.growth_bytes),
                                       FormatBytes(*limits.site_growth_bytes)));
      }
      if (limits.growth_bytes_per_sec && t.timed && v.growth_bytes_per_sec > *limits.growth_bytes_per_sec) {
        over.push_back(absl::StrFormat("grows %s, over the %s rate limit", FormatBytesPerSecond(v.growth_bytes_per_sec),
                                       FormatBytesPerSecond(*limits.growth_bytes_per_sec)));
      }
      checked.status = over.empty() ? LeakStatus::kWithinLimits : LeakStatus::kOverLimit;
      checked.note = over.empty() ? "within the per-site limits" : over[0];
      for (size_t i = 1; i < over.size(); ++i) checked.note += "; " + over[i];
      check.counted_growth_bytes += v.growth_bytes;
      if (!over.empty()) {
        check.failed = true;
        check.failures.push_back(absl::StrFormat("%s %s", leak->site, checked.note));
      }
    }
    check.leaks.push_back(std::move(checked));
  }
  if (limits.total_growth_bytes && check.counted_growth_bytes > *limits.total_growth_bytes) {
    check.failed = true;
    check.total_failure = absl::StrFormat("the leaking sites grew %s in all, over the %s total limit",
                                          FormatSignedBytes(check.counted_growth_bytes),
                                          FormatBytes(*limits.total_growth_bytes));
    check.failures.push_back(*check.total_failure);
  }
  for (const SiteTrend* leak : t.IgnoredLeaks()) {
    std::optional<std::string> pattern = options.suppressions.Match(leak->stack);
    check.leaks.push_back({.site = leak,
                           .status = LeakStatus::kSuppressed,
                           .note = "suppressed by leak:" + pattern.value_or("?")});
  }
  if (limits.growth_bytes_per_sec && !t.timed && t.snapshots > 1) {
    check.trend.warnings.push_back("the rate limit was not applied: the snapshots carry no time");
  }
  return check;
}

absl::StatusOr<CheckResult> RunCheck(const std::vector<ProcessSeries>& series, const CheckOptions& options) {
  TrendOptions trend_options = options.trend;
  if (!options.suppressions.empty()) {
    const Suppressions& suppressions = options.suppressions;
    trend_options.ignore_stack = [&suppressions](const std::vector<std::string>& stack) {
      return suppressions.Match(stack).has_value();
    };
  }
  CheckResult result;
  for (const ProcessSeries& s : series) {
    absl::StatusOr<ProcessTrend> trend = AnalyzeTrend(s, trend_options);
    if (!trend.ok()) return trend.status();
    result.processes.push_back(JudgeProcess(*std::move(trend), options));
  }
  return result;
}

}  // namespace heapwatch
