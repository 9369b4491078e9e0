// What grew in one process: the in-use history of every call site over a
// series of snapshots, and each site's classification (growth_classifier.h).
//
// A call site is a stack (frame names from frames.h, leaf first, so that
// stacks match across snapshots whatever their ids or addresses), and every
// stack is also rolled up to its first user frame (FirstUserFrame): many
// stacks into one leaking function add up, so a leak spread over call paths
// is seen as one. The periodic snapshots are judged; the exit profile is
// summarized apart, as what was not freed at exit, and never decides
// anything (design.md: exit profiles are taken after static destructors, and
// a killed process has none).
//
// Not for two snapshots (diff) nor for a single profile (top).

#ifndef HEAPWATCH_ANALYZER_TREND_H_
#define HEAPWATCH_ANALYZER_TREND_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "analyzer/growth_classifier.h"
#include "analyzer/series.h"

namespace heapwatch {

struct TrendOptions {
  GrowthOptions growth;
  // How many of the largest sites of the exit profile to keep.
  size_t exit_sites = 10;
  // Stacks (frame names, leaf first) to leave out of the functions they
  // roll up to, e.g. suppressed ones. They are still classified and listed.
  std::function<bool(const std::vector<std::string>& stack)> ignore_stack;
};

struct SiteTrend {
  // The first user frame's name: the function a user would fix.
  std::string site;
  // Frame names, leaf first. For a function, the stack that grew most.
  std::vector<std::string> stack;
  // Index of `site` in `stack`.
  size_t user_frame = 0;
  // A function (every stack whose first user frame is `site`) rather than
  // one stack.
  bool is_function = false;
  // For a function: indices of its stacks in ProcessTrend::stacks.
  std::vector<size_t> stacks;
  // A stack that TrendOptions::ignore_stack left out of its function.
  bool ignored = false;
  // Per snapshot: un-sampled in-use bytes and objects, and the number of
  // sampled blocks behind them (equal to objects in exact profiles).
  std::vector<double> inuse_bytes;
  std::vector<double> inuse_objects;
  std::vector<double> sampled_blocks;
  GrowthVerdict verdict;
};

// The largest sites still in use in the exit profile.
struct ExitSite {
  std::string site;
  std::vector<std::string> stack;
  double inuse_bytes = 0;
  double inuse_objects = 0;
};

struct ExitSummary {
  std::string path;
  double inuse_bytes = 0;
  double inuse_objects = 0;
  std::vector<ExitSite> sites;  // largest first, at most TrendOptions::exit_sites
};

struct ProcessTrend {
  std::optional<int64_t> pid;
  std::string name;
  size_t snapshots = 0;
  // Seconds since the first snapshot. When the profiles carry no usable
  // time (time_nanos missing, repeated or going back), snapshots are placed
  // 1 s apart and `timed` is false: rates are then per snapshot.
  std::vector<double> seconds;
  bool timed = true;
  // The whole in-use heap of the process, classified like a site.
  SiteTrend total;
  // Functions (rolled-up sites), largest growth first.
  std::vector<SiteTrend> functions;
  // Every stack, largest growth first.
  std::vector<SiteTrend> stacks;
  std::optional<ExitSummary> exit;
  // Things a reader must know: too few snapshots to judge, no timestamps.
  std::vector<std::string> warnings;

  // False when too few snapshots follow the warm-up for any leak verdict.
  bool judged() const { return total.verdict.judged; }
  // The leaks to report, each once: leaking functions, and leaking stacks
  // of functions that do not leak as a whole, unless the function's other
  // stacks gave back at least half of what the stack grew (memory moving
  // from one path to another, the total bounded). Largest growth first;
  // ignored stacks are not among them.
  std::vector<const SiteTrend*> Leaks() const;
  // The ignored stacks that leak, largest growth first.
  std::vector<const SiteTrend*> IgnoredLeaks() const;
};

// Analyzes one process's series. Fails (with the snapshot's path) on a
// profile that has no in-use bytes (not a heap profile).
absl::StatusOr<ProcessTrend> AnalyzeTrend(const ProcessSeries& series, const TrendOptions& options = {});

// The frames of `stack` from its first user frame on, joined with " <- "
// and cut after `max_frames`: how reports show a stack in one line.
std::string ShortStack(const SiteTrend& site, size_t max_frames = 4);

}  // namespace heapwatch

#endif  // HEAPWATCH_ANALYZER_TREND_H_
