// Implementation of trend.h.

#include "analyzer/trend.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_format.h"
#include "analyzer/frames.h"
#include "analyzer/heap_values.h"
#include "analyzer/quantities.h"

namespace heapwatch {
namespace {

// A roll-up keeps this many of its stacks' noise apart (the largest) and
// merges the rest into one part: the bound of a merged part is looser, never
// wrong, and the classifier's cost grows with the number of parts.
constexpr size_t kMaxNoiseParts = 32;

// Cumulative allocated bytes may dip a little from one snapshot to the next
// without a reset: each record is un-sampled with its own mean block size,
// which moves as blocks of other sizes join it. A larger dip means the
// profiles do not carry cumulative totals (a delta profile, a restart).
constexpr double kCumulativeSlack = 0.01;

// A leaking stack of a function that does not leak is reported when the
// function still grew by at least this fraction of the stack's growth (see
// ProcessTrend::Leaks).
constexpr double kMovedFraction = 0.5;

// Bytes per unit of a memory sample type, as pprof reads them (powers of 1024).
double BytesPerUnit(std::string_view unit) {
  if (unit == "kilobytes" || unit == "kilobyte" || unit == "kb") return 1024.0;
  if (unit == "megabytes" || unit == "megabyte" || unit == "mb") return 1024.0 * 1024;
  if (unit == "gigabytes" || unit == "gigabyte" || unit == "gb") return 1024.0 * 1024 * 1024;
  return 1;
}

// Variance per un-sampled byte of blocks of mean size `size` sampled with mean
// period `period` (see growth_classifier.h): s (1 - p) / p.
double NoisePerByte(double size, int64_t period) {
  if (period <= 1) return 0;
  double rate = static_cast<double>(period);
  // Unknown sizes are taken as small blocks, the noisiest.
  if (!(size > 0)) return rate;
  double p = -std::expm1(-size / rate);
  return size * (1 - p) / p;
}

// Per stack, per snapshot.
struct StackSeries {
  std::vector<Frame> frames;
  std::vector<double> bytes, objects, blocks, inuse_variance, allocated_variance;
  explicit StackSeries(size_t n)
      : bytes(n, 0), objects(n, 0), blocks(n, 0), inuse_variance(n, 0), allocated_variance(n, 0) {}
};

bool IsCumulative(const std::vector<double>& values) {
  double highest = 0;
  for (double v : values) {
    if (v < highest * (1 - kCumulativeSlack)) return false;
    highest = std::max(highest, v);
  }
  return true;
}

std::vector<std::string> Names(const std::vector<Frame>& frames) {
  std::vector<std::string> names;
  for (const Frame& f : frames) names.push_back(f.name);
  return names;
}

// Merges all but the largest kMaxNoiseParts - 1 parts into one.
std::vector<SamplingNoise> BoundedParts(std::vector<SamplingNoise> parts) {
  if (parts.size() <= kMaxNoiseParts) return parts;
  auto weight = [](const SamplingNoise& p) {
    double sum = 0;
    for (double v : p.inuse_variance) sum += v;
    return sum;
  };
  std::sort(parts.begin(), parts.end(),
            [&](const SamplingNoise& a, const SamplingNoise& b) { return weight(a) > weight(b); });
  SamplingNoise rest = parts[kMaxNoiseParts - 1];
  bool allocated_known = !rest.allocated_variance.empty();
  for (size_t i = kMaxNoiseParts; i < parts.size(); ++i) {
    for (size_t j = 0; j < rest.inuse_variance.size(); ++j) rest.inuse_variance[j] += parts[i].inuse_variance[j];
    if (parts[i].allocated_variance.empty()) allocated_known = false;
    if (allocated_known) {
      for (size_t j = 0; j < rest.allocated_variance.size(); ++j) {
        rest.allocated_variance[j] += parts[i].allocated_variance[j];
      }
    }
  }
  if (!allocated_known) rest.allocated_variance.clear();
  parts.resize(kMaxNoiseParts - 1);
  parts.push_back(std::move(rest));
  return parts;
}

bool GrowsMore(const SiteTrend& a, const SiteTrend& b) {
  if (a.verdict.growth_bytes != b.verdict.growth_bytes) return a.verdict.growth_bytes > b.verdict.growth_bytes;
  double last_a = a.inuse_bytes.empty() ? 0 : a.inuse_bytes.back();
  double last_b = b.inuse_bytes.empty() ? 0 : b.inuse_bytes.back();
  if (last_a != last_b) return last_a > last_b;
  return a.stack < b.stack;
}

}  // namespace

std::vector<const SiteTrend*> ProcessTrend::Leaks() const {
  std::vector<const SiteTrend*> leaks;
  absl::flat_hash_map<std::string, const SiteTrend*> function_of;
  for (const SiteTrend& f : functions) {
    function_of[f.site] = &f;
    if (f.verdict.kind == GrowthKind::kLeak) leaks.push_back(&f);
  }
  for (const SiteTrend& s : stacks) {
    if (s.verdict.kind != GrowthKind::kLeak || s.ignored) continue;
    auto it = function_of.find(s.site);
    if (it == function_of.end() || it->second->verdict.kind == GrowthKind::kLeak) continue;
    // The function does not leak as a whole. Either the stack's growth is
    // lost in its siblings' noise (the function still grew by at least half
    // as much: report the stack), or the siblings gave the memory back
    // (entries inserted on one path replacing those of another, the total
    // bounded: memory moving, not leaking).
    if (it->second->verdict.growth_bytes >= kMovedFraction * s.verdict.growth_bytes) leaks.push_back(&s);
  }
  std::stable_sort(leaks.begin(), leaks.end(), [](const SiteTrend* a, const SiteTrend* b) { return GrowsMore(*a, *b); });
  return leaks;
}

std::vector<const SiteTrend*> ProcessTrend::IgnoredLeaks() const {
  std::vector<const SiteTrend*> leaks;
  for (const SiteTrend& s : stacks) {  // already largest growth first
    if (s.ignored && s.verdict.kind == GrowthKind::kLeak) leaks.push_back(&s);
  }
  return leaks;
}

std::string ShortStack(const SiteTrend& site, size_t max_frames) {
  std::string out;
  size_t shown = 0;
  for (size_t i = site.user_frame; i < site.stack.size(); ++i) {
    if (shown == max_frames) {
      out += " <- ...";
      break;
    }
    if (shown++ > 0) out += " <- ";
    out += site.stack[i];
  }
  return out;
}

namespace {

// A program whose memory grows outside malloc (its own allocator, mmap'd
// pools, a statically linked allocator) shows little in heap profiles while
// its resident set grows: say so, with both numbers, rather than pass in
// silence. heapwatch records rss_bytes= in every profile's comments.
std::optional<std::string> UnseenMemoryWarning(const ProcessSeries& series, const SiteTrend& heap) {
  std::vector<double> rss;
  for (const Snapshot& snapshot : series.snapshots) {
    std::optional<std::string_view> value = snapshot.profile.CommentValue("rss_bytes");
    double bytes = 0;
    if (!value || !absl::SimpleAtod(std::string(*value), &bytes)) return std::nullopt;
    rss.push_back(bytes);
  }
  if (rss.size() < 2) return std::nullopt;
  double rss_growth = rss.back() - rss.front();
  // No site at all in the profiles: the heap did not grow.
  double heap_growth =
      heap.inuse_bytes.size() < 2 ? 0.0 : std::max(0.0, heap.inuse_bytes.back() - heap.inuse_bytes.front());
  // Worth a word when RSS grew a lot and far beyond what the profiles show
  // (allocator slack and fragmentation stay well under these).
  constexpr double kMinimum = 32.0 * 1024 * 1024, kSlack = 16.0 * 1024 * 1024;
  if (rss_growth < kMinimum || rss_growth < 4 * heap_growth + kSlack) return std::nullopt;
  return absl::StrFormat(
      "resident memory grew by %s while the heap profiles account for %s of growth: the program may "
      "allocate outside malloc (its own allocator, mmap'd pools, a statically linked allocator), "
      "which heapwatch does not see",
      FormatBytes(rss_growth), FormatBytes(heap_growth));
}

}  // namespace

absl::StatusOr<ProcessTrend> AnalyzeTrend(const ProcessSeries& series, const TrendOptions& options) {
  ProcessTrend trend;
  trend.pid = series.pid;
  trend.name = series.name;
  const size_t n = series.snapshots.size();
  trend.snapshots = n;

  // Times.
  bool timed = n > 0;
  for (size_t i = 0; i < n; ++i) {
    int64_t t = series.snapshots[i].profile.time_nanos;
    // Equal times would make rates meaningless: only strictly later ones count.
    if (t <= 0 || (i > 0 && t <= series.snapshots[i - 1].profile.time_nanos)) timed = false;
  }
  trend.timed = timed;
  for (size_t i = 0; i < n; ++i) {
    trend.seconds.push_back(timed ? static_cast<double>(series.snapshots[i].profile.time_nanos -
                                                        series.snapshots[0].profile.time_nanos) /
                                        1e9
                                  : static_cast<double>(i));
  }
  if (n > 1 && !timed) {
    trend.warnings.push_back("the snapshots carry no usable time (time_nanos): they are taken as 1 s apart, "
                             "and rates are per snapshot");
  }

  // Every stack's values at every snapshot.
  absl::flat_hash_map<std::vector<std::string>, size_t> stack_index;
  std::vector<StackSeries> stacks;
  bool allocated_known = n > 0;
  for (size_t i = 0; i < n; ++i) {
    const Snapshot& snapshot = series.snapshots[i];
    const Profile& profile = snapshot.profile;
    HeapValueIndices values = FindHeapValues(profile);
    if (!values.inuse_space) {
      return absl::InvalidArgumentError(
          absl::StrFormat("%s: no in-use space among the sample types (is it a heap profile?)", snapshot.path));
    }
    if (!values.alloc_space) allocated_known = false;
    const double scale = BytesPerUnit(profile.sample_types[*values.inuse_space].unit);
    const double alloc_scale = values.alloc_space ? BytesPerUnit(profile.sample_types[*values.alloc_space].unit) : 1;
    for (const Sample& sample : profile.samples) {
      std::vector<Frame> frames = StackFrames(profile, sample);
      auto [it, inserted] = stack_index.try_emplace(Names(frames), stacks.size());
      if (inserted) {
        stacks.emplace_back(n);
        stacks.back().frames = std::move(frames);
      }
      StackSeries& s = stacks[it->second];
      double bytes = static_cast<double>(sample.values[*values.inuse_space]) * scale;
      double objects = values.inuse_objects ? static_cast<double>(sample.values[*values.inuse_objects]) : 0;
      s.bytes[i] += bytes;
      s.objects[i] += objects;
      s.blocks[i] += values.inuse_objects ? SampledBlockCount(objects, bytes, profile.period) : 0;
      // Negative values (a diff profile given as a snapshot) carry no noise
      // of their own; the variance must stay non-negative.
      s.inuse_variance[i] += std::max(0.0, bytes) * NoisePerByte(objects > 0 ? bytes / objects : 0, profile.period);
      if (values.alloc_space) {
        double allocated = static_cast<double>(sample.values[*values.alloc_space]) * alloc_scale;
        double allocated_objects =
            values.alloc_objects ? static_cast<double>(sample.values[*values.alloc_objects]) : 0;
        s.allocated_variance[i] += std::max(0.0, allocated) *
                                   NoisePerByte(allocated_objects > 0 ? allocated / allocated_objects : 0,
                                                profile.period);
      }
    }
  }

  // Stacks.
  auto history_of = [&](const std::vector<double>& bytes) {
    SiteHistory h;
    h.seconds = trend.seconds;
    h.inuse_bytes = bytes;
    return h;
  };
  std::vector<SamplingNoise> stack_noise;
  for (size_t k = 0; k < stacks.size(); ++k) {
    StackSeries& s = stacks[k];
    if (std::all_of(s.bytes.begin(), s.bytes.end(), [](double b) { return b == 0; })) continue;
    SamplingNoise noise;
    noise.inuse_variance = s.inuse_variance;
    if (allocated_known && IsCumulative(s.allocated_variance)) noise.allocated_variance = s.allocated_variance;
    SiteHistory h = history_of(s.bytes);
    h.noise.push_back(noise);
    SiteTrend site;
    site.stack = Names(s.frames);
    site.user_frame = FirstUserFrame(s.frames);
    site.site = site.stack.empty() ? "(no frames)" : site.stack[site.user_frame];
    site.inuse_bytes = std::move(s.bytes);
    site.inuse_objects = std::move(s.objects);
    site.sampled_blocks = std::move(s.blocks);
    site.verdict = ClassifyGrowth(h, options.growth);
    site.ignored = options.ignore_stack && options.ignore_stack(site.stack);
    trend.stacks.push_back(std::move(site));
    stack_noise.push_back(std::move(noise));
  }

  // Functions, and the total.
  absl::flat_hash_map<std::string, size_t> function_index;
  std::vector<std::vector<size_t>> members;
  for (size_t k = 0; k < trend.stacks.size(); ++k) {
    if (trend.stacks[k].ignored) continue;
    auto [it, inserted] = function_index.try_emplace(trend.stacks[k].site, members.size());
    if (inserted) members.emplace_back();
    members[it->second].push_back(k);
  }
  auto roll_up = [&](const std::vector<size_t>& parts) {
    SiteTrend site;
    site.is_function = true;
    site.inuse_bytes.assign(n, 0);
    site.inuse_objects.assign(n, 0);
    site.sampled_blocks.assign(n, 0);
    std::vector<SamplingNoise> noise;
    for (size_t k : parts) {
      const SiteTrend& s = trend.stacks[k];
      for (size_t i = 0; i < n; ++i) {
        site.inuse_bytes[i] += s.inuse_bytes[i];
        site.inuse_objects[i] += s.inuse_objects[i];
        site.sampled_blocks[i] += s.sampled_blocks[i];
      }
      noise.push_back(stack_noise[k]);
    }
    SiteHistory h = history_of(site.inuse_bytes);
    h.noise = BoundedParts(std::move(noise));
    site.verdict = ClassifyGrowth(h, options.growth);
    return site;
  };
  for (std::vector<size_t>& parts : members) {
    SiteTrend function = roll_up(parts);
    const SiteTrend* representative = &trend.stacks[parts[0]];
    for (size_t k : parts) {
      if (GrowsMore(trend.stacks[k], *representative)) representative = &trend.stacks[k];
    }
    function.site = representative->site;
    function.stack = representative->stack;
    function.user_frame = representative->user_frame;
    function.stacks = std::move(parts);
    trend.functions.push_back(std::move(function));
  }
  std::vector<size_t> everything(trend.stacks.size());
  for (size_t k = 0; k < everything.size(); ++k) everything[k] = k;
  trend.total = roll_up(everything);
  trend.total.site = "(all sites)";
  trend.total.is_function = false;
  if (n == 0) trend.total.verdict.judged = false;

  // Largest growth first. Functions refer to stacks by index: re-map.
  std::vector<size_t> order(trend.stacks.size());
  for (size_t k = 0; k < order.size(); ++k) order[k] = k;
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return GrowsMore(trend.stacks[a], trend.stacks[b]); });
  std::vector<size_t> new_index(order.size());
  std::vector<SiteTrend> sorted;
  for (size_t k = 0; k < order.size(); ++k) {
    new_index[order[k]] = k;
    sorted.push_back(std::move(trend.stacks[order[k]]));
  }
  trend.stacks = std::move(sorted);
  for (SiteTrend& f : trend.functions) {
    for (size_t& k : f.stacks) k = new_index[k];
    std::sort(f.stacks.begin(), f.stacks.end());
  }
  std::stable_sort(trend.functions.begin(), trend.functions.end(), GrowsMore);

  if (n == 0) {
    trend.warnings.push_back("no periodic snapshots (only an exit profile): nothing to judge");
  } else if (!trend.judged()) {
    size_t after = n - trend.total.verdict.window_begin;
    trend.warnings.push_back(absl::StrFormat(
        "too short to judge: %d snapshot%s, %d after the warm-up; a leak needs at least %d after it "
        "(snapshot more often, run longer, or shorten the warm-up)",
        n, n == 1 ? "" : "s", after, kMinJudgedSnapshots));
  }

  if (std::optional<std::string> warning = UnseenMemoryWarning(series, trend.total)) {
    trend.warnings.push_back(*warning);
  }

  // The exit profile: what was never freed, for information.
  if (series.exit) {
    const Profile& profile = series.exit->profile;
    HeapValueIndices values = FindHeapValues(profile);
    if (!values.inuse_space) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "%s: no in-use space among the sample types (is it a heap profile?)", series.exit->path));
    }
    const double scale = BytesPerUnit(profile.sample_types[*values.inuse_space].unit);
    ExitSummary exit;
    exit.path = series.exit->path;
    absl::flat_hash_map<std::vector<std::string>, size_t> index;
    for (const Sample& sample : profile.samples) {
      double bytes = static_cast<double>(sample.values[*values.inuse_space]) * scale;
      double objects = values.inuse_objects ? static_cast<double>(sample.values[*values.inuse_objects]) : 0;
      exit.inuse_bytes += bytes;
      exit.inuse_objects += objects;
      if (bytes <= 0) continue;
      std::vector<Frame> frames = StackFrames(profile, sample);
      auto [it, inserted] = index.try_emplace(Names(frames), exit.sites.size());
      if (inserted) {
        ExitSite site;
        site.stack = Names(frames);
        site.site = site.stack.empty() ? "(no frames)" : site.stack[FirstUserFrame(frames)];
        exit.sites.push_back(std::move(site));
      }
      exit.sites[it->second].inuse_bytes += bytes;
      exit.sites[it->second].inuse_objects += objects;
    }
    std::stable_sort(exit.sites.begin(), exit.sites.end(),
                     [](const ExitSite& a, const ExitSite& b) { return a.inuse_bytes > b.inuse_bytes; });
    if (exit.sites.size() > options.exit_sites) exit.sites.resize(options.exit_sites);
    trend.exit = std::move(exit);
  }
  return trend;
}

}  // namespace heapwatch
