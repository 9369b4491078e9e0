// The CI gate: trend on every process, and a verdict from limits on what the
// leaking sites grew by.
//
// A process fails when one of its leaks (trend.h: leaking functions, and
// leaking stacks of other functions) grew by more than the per-site limit or
// faster than the rate limit, or when its leaks together grew by more than
// the total limit. Suppressed stacks (suppressions.h) are left out of the
// verdict, and so are the leaks a baseline (leak_baseline.h) already knew.
// Only sites the classifier calls `leak` count: a plateau or a sawtooth
// never fails, however large. A process with no exit profile is judged all
// the same; its exit profile is reported, never judged. A series too short
// to judge passes with a warning.
//
// Choosing limits. The classifier already demands evidence: a leak is only
// confirmed once its growth after the warm-up stands ~10 sigma above its
// site's sampling noise, at least 8 sampled blocks (4 MiB at the default
// 512 KiB rate). So at the default rate the default per-site limit (1 MiB)
// means "fail on any confirmed leak"; it matters with exact profiles
// (rate 1), where it keeps lazily grown tables and logs of a few KiB from
// failing a build. The total limit (4 MiB) catches many small leaks that
// each stay under it. Soak tests of different lengths are best judged by
// rate: what the service may lose between restarts, divided by that time
// (1 GiB a day is --max-growth-rate 12KiB/s). To catch smaller leaks, lower
// the sampling rate or run longer rather than lowering limits.

#ifndef HEAPWATCH_ANALYZER_CHECK_H_
#define HEAPWATCH_ANALYZER_CHECK_H_

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "analyzer/leak_baseline.h"
#include "analyzer/series.h"
#include "analyzer/suppressions.h"
#include "analyzer/trend.h"

namespace heapwatch {

inline constexpr double kDefaultSiteGrowthLimit = 1024 * 1024;
inline constexpr double kDefaultTotalGrowthLimit = 4 * 1024 * 1024;

struct CheckLimits {
  // A leaking site may grow by this many bytes after the warm-up.
  std::optional<double> site_growth_bytes = kDefaultSiteGrowthLimit;
  // A process's leaking sites together.
  std::optional<double> total_growth_bytes = kDefaultTotalGrowthLimit;
  // A leaking site may grow this fast (bytes per second).
  std::optional<double> growth_bytes_per_sec;
};

struct CheckOptions {
  TrendOptions trend;  // warm-up; ignore_stack is set from `suppressions`
  CheckLimits limits;
  Suppressions suppressions;
  std::optional<LeakBaseline> baseline;
};

enum class LeakStatus {
  kOverLimit,     // fails the check
  kWithinLimits,  // a leak, but within the per-site limits
  kSuppressed,    // matched a suppression
  kInBaseline,    // the baseline knew it
};

// "fail", "within_limits", "suppressed", "baseline": the reports' names.
std::string_view LeakStatusName(LeakStatus status);

struct CheckedLeak {
  const SiteTrend* site = nullptr;  // into the ProcessCheck's trend
  LeakStatus status = LeakStatus::kWithinLimits;
  std::string note;  // which limit it broke, which suppression matched
};

struct ProcessCheck {
  ProcessTrend trend;
  // Largest growth first: leaks that count, then suppressed ones.
  std::vector<CheckedLeak> leaks;
  // What the counted leaks (not suppressed, not in the baseline) grew by.
  double counted_growth_bytes = 0;
  bool failed = false;
  // Why it failed, one line each: the leaks over a per-site limit, then
  // the total limit if it was crossed (also in total_failure).
  std::vector<std::string> failures;
  std::optional<std::string> total_failure;

  // Leaks point into `trend`: moving keeps them valid, copying would not.
  ProcessCheck() = default;
  ProcessCheck(ProcessCheck&&) = default;
  ProcessCheck& operator=(ProcessCheck&&) = default;
  ProcessCheck(const ProcessCheck&) = delete;
  ProcessCheck& operator=(const ProcessCheck&) = delete;
};

struct CheckResult {
  std::vector<ProcessCheck> processes;
  bool failed() const;
  // 1 when the check failed, else 0 (2 is for errors, before any result).
  int exit_status() const { return failed() ? 1 : 0; }
};

// Runs trend on each series and judges it. Fails only on input errors.
absl::StatusOr<CheckResult> RunCheck(const std::vector<ProcessSeries>& series, const CheckOptions& options);

// Judges one analyzed process (its trend must have been computed with the
// options' suppressions as ignore_stack).
ProcessCheck JudgeProcess(ProcessTrend trend, const CheckOptions& options);

}  // namespace heapwatch

#endif  // HEAPWATCH_ANALYZER_CHECK_H_
