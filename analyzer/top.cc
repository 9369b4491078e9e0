#include "analyzer/top.h"

#include <algorithm>
#include <cstdlib>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "analyzer/frames.h"
#include "analyzer/saturating.h"
#include "analyzer/value_format.h"

namespace heapwatch {
namespace {

bool IsDiffBase(const Sample& sample) {
  for (const Label& label : sample.labels) {
    if (label.key == "pprof::base" && label.str == "true") return true;
  }
  return false;
}

// |v| for a value the codec bounded (or a saturated sum, never INT64_MIN).
int64_t Abs(int64_t v) { return v < 0 ? -v : v; }

}  // namespace

absl::StatusOr<size_t> ResolveSampleIndex(const Profile& profile, std::string_view requested) {
  if (profile.sample_types.empty()) return absl::InvalidArgumentError("the profile has no sample types");
  if (requested.empty()) {
    if (auto index = profile.SampleTypeIndex(profile.default_sample_type)) return *index;
    return profile.sample_types.size() - 1;
  }
  if (auto index = profile.SampleTypeIndex(requested)) return *index;
  if (std::all_of(requested.begin(), requested.end(), [](char c) { return c >= '0' && c <= '9'; }) &&
      requested.size() < 10) {
    size_t index = std::stoul(std::string(requested));
    if (index < profile.sample_types.size()) return index;
  }
  std::vector<std::string> names;
  for (const ValueType& type : profile.sample_types) names.push_back(type.type);
  return absl::InvalidArgumentError(absl::StrFormat("no sample type '%s' (the profile has %s, or 0..%d)", requested,
                                                    absl::StrJoin(names, ", "), names.size() - 1));
}

TopReport BuildTop(const Profile& profile, size_t sample_index, bool sort_by_cum) {
  TopReport report{.sample_type = profile.sample_types[sample_index]};
  absl::flat_hash_map<std::string, size_t> index_of;
  int64_t total = 0, base_total = 0;
  bool has_base = false;
  for (const Sample& sample : profile.samples) {
    int64_t value = sample.values[sample_index];
    total = SaturatingAdd(total, Abs(value));
    if (IsDiffBase(sample)) {
      has_base = true;
      base_total = SaturatingAdd(base_total, Abs(value));
    }
    std::vector<Frame> frames = StackFrames(profile, sample);
    absl::flat_hash_set<std::string_view> counted;
    for (size_t i = 0; i < frames.size(); ++i) {
      auto [it, inserted] = index_of.emplace(frames[i].name, report.entries.size());
      if (inserted) report.entries.push_back({.name = frames[i].name});
      TopEntry& entry = report.entries[it->second];
      if (i == 0) entry.flat = SaturatingAdd(entry.flat, value);
      if (counted.insert(frames[i].name).second) entry.cum = SaturatingAdd(entry.cum, value);
    }
  }
  // pprof: percentages of a diff are relative to the base.
  report.total = has_base && base_total > 0 ? base_total : total;
  std::sort(report.entries.begin(), report.entries.end(), [sort_by_cum](const TopEntry& a, const TopEntry& b) {
    auto primary = [sort_by_cum](const TopEntry& e) { return Abs(sort_by_cum ? e.cum : e.flat); };
    auto secondary = [sort_by_cum](const TopEntry& e) { return Abs(sort_by_cum ? e.flat : e.cum); };
    if (primary(a) != primary(b)) return primary(a) > primary(b);
    if (secondary(a) != secondary(b)) return secondary(a) > secondary(b);
    return a.name < b.name;
  });
  return report;
}

std::string FormatTop(const TopReport& report, size_t nodecount) {
  const std::string& unit = report.sample_type.unit;
  size_t shown = nodecount == 0 ? report.entries.size() : std::min(nodecount, report.entries.size());
  int64_t shown_flat = 0;
  for (size_t i = 0; i < shown; ++i) shown_flat = SaturatingAdd(shown_flat, report.entries[i].flat);

  std::string out = absl::StrFormat("Type: %s (%s)\n", report.sample_type.type, unit);
  absl::StrAppendFormat(&out, "Showing %d of %d functions, accounting for %s (%s) of %s total\n", shown,
                        report.entries.size(), FormatValue(shown_flat, unit),
                        FormatPercent(shown_flat, report.total), FormatValue(report.total, unit));
  absl::StrAppendFormat(&out, "%12s %8s %8s %12s %8s  %s\n", "flat", "flat%", "sum%", "cum", "cum%", "function");
  int64_t running = 0;
  for (size_t i = 0; i < shown; ++i) {
    const TopEntry& entry = report.entries[i];
    running = SaturatingAdd(running, entry.flat);
    absl::StrAppendFormat(&out, "%12s %8s %8s %12s %8s  %s\n", FormatValue(entry.flat, unit),
                          FormatPercent(entry.flat, report.total), FormatPercent(running, report.total),
                          FormatValue(entry.cum, unit), FormatPercent(entry.cum, report.total), entry.name);
  }
  return out;
}

}  // namespace heapwatch
