#include "analyzer/diff.h"

#include <algorithm>
#include <optional>
#include <tuple>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "analyzer/heap_values.h"
#include "analyzer/saturating.h"
#include "analyzer/value_format.h"

namespace heapwatch {
namespace {

struct Column {
  ValueType type;
  size_t base_index;
  size_t current_index;
};

std::string TypesText(const Profile& profile) {
  std::vector<std::string> names;
  for (const ValueType& type : profile.sample_types) names.push_back(type.type + "/" + type.unit);
  return names.empty() ? "none" : absl::StrJoin(names, ", ");
}

absl::StatusOr<std::vector<Column>> ResolveColumns(const Profile& base, const Profile& current,
                                                   const DiffOptions& options) {
  HeapValueIndices b = FindHeapValues(base), c = FindHeapValues(current);
  struct Candidate {
    std::optional<size_t> HeapValueIndices::*member;
    const char* name;
  };
  std::vector<Candidate> candidates = {{&HeapValueIndices::inuse_space, "inuse_space"},
                                       {&HeapValueIndices::inuse_objects, "inuse_objects"}};
  if (options.include_alloc) {
    if (!(b.alloc_space && c.alloc_space)) {
      return absl::InvalidArgumentError(
          absl::StrFormat("cannot compare allocations: %s has no alloc_space (base: %s; new: %s)",
                          b.alloc_space ? "the new profile" : "the base profile", TypesText(base), TypesText(current)));
    }
    candidates.push_back({&HeapValueIndices::alloc_space, "alloc_space"});
    candidates.push_back({&HeapValueIndices::alloc_objects, "alloc_objects"});
  }
  std::vector<Column> columns;
  for (const Candidate& candidate : candidates) {
    const std::optional<size_t>& in_base = b.*candidate.member;
    const std::optional<size_t>& in_current = c.*candidate.member;
    if (!in_base || !in_current) continue;
    const ValueType& base_type = base.sample_types[*in_base];
    const ValueType& current_type = current.sample_types[*in_current];
    if (base_type.unit != current_type.unit) {
      return absl::InvalidArgumentError(absl::StrFormat("incompatible profiles: %s is in %s in the base, in %s in the new",
                                                        candidate.name, base_type.unit, current_type.unit));
    }
    columns.push_back({.type = {candidate.name, current_type.unit}, .base_index = *in_base,
                       .current_index = *in_current});
  }
  if (columns.empty()) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "incompatible profiles: no common heap sample type (base has %s; new has %s)", TypesText(base),
        TypesText(current)));
  }
  return columns;
}

// The values of one stack, summed over the samples of each profile.
struct StackTotals {
  std::vector<Frame> frames;
  std::vector<int64_t> base;
  std::vector<int64_t> current;
};

// Every stack of either profile (base's first, in sample order), keyed by
// frame names.
std::vector<StackTotals> AggregateStacks(const Profile& base, const Profile& current,
                                         const std::vector<Column>& columns) {
  std::vector<StackTotals> stacks;
  absl::flat_hash_map<std::vector<std::string>, size_t> index_of;
  auto add = [&](const Profile& profile, bool is_base) {
    for (const Sample& sample : profile.samples) {
      std::vector<Frame> frames = StackFrames(profile, sample);
      std::vector<std::string> key;
      key.reserve(frames.size());
      for (const Frame& frame : frames) key.push_back(frame.name);
      auto [it, inserted] = index_of.emplace(std::move(key), stacks.size());
      if (inserted) {
        stacks.push_back({.frames = std::move(frames),
                          .base = std::vector<int64_t>(columns.size()),
                          .current = std::vector<int64_t>(columns.size())});
      }
      StackTotals& totals = stacks[it->second];
      for (size_t c = 0; c < columns.size(); ++c) {
        size_t index = is_base ? columns[c].base_index : columns[c].current_index;
        int64_t& sum = is_base ? totals.base[c] : totals.current[c];
        sum = SaturatingAdd(sum, sample.values[index]);
      }
    }
  };
  add(base, true);
  add(current, false);
  return stacks;
}

Change MakeChange(std::vector<int64_t> base, std::vector<int64_t> current) {
  Change change{.base = std::move(base), .current = std::move(current)};
  for (size_t i = 0; i < change.base.size(); ++i) change.delta.push_back(SaturatingSub(change.current[i], change.base[i]));
  return change;
}

void AddInto(std::vector<int64_t>* sum, const std::vector<int64_t>& values) {
  if (sum->empty()) sum->resize(values.size());
  for (size_t i = 0; i < values.size(); ++i) (*sum)[i] = SaturatingAdd((*sum)[i], values[i]);
}

int64_t Abs(int64_t v) { return v < 0 ? -v : v; }

// Orders by |delta| column by column, largest first; 0 when equal.
int CompareDeltas(const Change& a, const Change& b) {
  for (size_t i = 0; i < a.delta.size(); ++i) {
    if (Abs(a.delta[i]) != Abs(b.delta[i])) return Abs(a.delta[i]) > Abs(b.delta[i]) ? -1 : 1;
  }
  return 0;
}

std::string Join(const std::vector<Frame>& frames) {
  return absl::StrJoin(frames, "\n", [](std::string* out, const Frame& f) { out->append(f.name); });
}

nlohmann::json ValuesJson(const std::vector<ValueType>& columns, const std::vector<int64_t>& values) {
  nlohmann::json out = nlohmann::json::object();
  for (size_t i = 0; i < columns.size(); ++i) out[columns[i].type] = values[i];
  return out;
}

nlohmann::json ChangeJson(const std::vector<ValueType>& columns, const Change& change) {
  return {{"base", ValuesJson(columns, change.base)},
          {"new", ValuesJson(columns, change.current)},
          {"delta", ValuesJson(columns, change.delta)}};
}

// "+40 inuse_objects, +2.00 KiB alloc_space" for the columns after the first.
std::string OtherDeltas(const std::vector<ValueType>& columns, const Change& change) {
  std::vector<std::string> parts;
  for (size_t i = 1; i < columns.size(); ++i) {
    parts.push_back(absl::StrCat(FormatDelta(change.delta[i], columns[i].unit), " ", columns[i].type));
  }
  return absl::StrJoin(parts, ", ");
}

}  // namespace

bool Change::IsZero() const {
  return std::all_of(delta.begin(), delta.end(), [](int64_t d) { return d == 0; });
}

absl::StatusOr<std::vector<ValueType>> DiffColumns(const Profile& base, const Profile& current,
                                                   const DiffOptions& options) {
  absl::StatusOr<std::vector<Column>> columns = ResolveColumns(base, current, options);
  if (!columns.ok()) return columns.status();
  std::vector<ValueType> types;
  for (const Column& column : *columns) types.push_back(column.type);
  return types;
}

absl::StatusOr<ProfileDiff> DiffProfiles(const Profile& base, const Profile& current, const DiffOptions& options) {
  absl::StatusOr<std::vector<Column>> columns = ResolveColumns(base, current, options);
  if (!columns.ok()) return columns.status();
  ProfileDiff diff;
  for (const Column& column : *columns) diff.columns.push_back(column.type);

  std::vector<StackTotals> stacks = AggregateStacks(base, current, *columns);
  std::vector<int64_t> base_total(columns->size()), current_total(columns->size());
  struct FunctionTotals {
    std::vector<int64_t> site_base, site_current, cum_base, cum_current;
  };
  std::vector<std::string> function_order;
  absl::flat_hash_map<std::string, FunctionTotals> functions;
  for (StackTotals& stack : stacks) {
    AddInto(&base_total, stack.base);
    AddInto(&current_total, stack.current);
    if (!stack.frames.empty()) {
      absl::flat_hash_set<std::string> seen;
      for (size_t i = 0; i < stack.frames.size(); ++i) {
        const std::string& name = stack.frames[i].name;
        if (!seen.insert(name).second) continue;  // recursion counts once
        auto [it, inserted] = functions.try_emplace(name);
        if (inserted) function_order.push_back(name);
        AddInto(&it->second.cum_base, stack.base);
        AddInto(&it->second.cum_current, stack.current);
      }
      FunctionTotals& site = functions[stack.frames[FirstUserFrame(stack.frames)].name];
      AddInto(&site.site_base, stack.base);
      AddInto(&site.site_current, stack.current);
    }
    Change change = MakeChange(std::move(stack.base), std::move(stack.current));
    if (!change.IsZero()) diff.stacks.push_back({.frames = std::move(stack.frames), .change = std::move(change)});
  }
  diff.total = MakeChange(std::move(base_total), std::move(current_total));

  std::vector<int64_t> zeros(columns->size());
  for (const std::string& name : function_order) {
    FunctionTotals& totals = functions[name];
    auto or_zeros = [&](std::vector<int64_t>& v) { return v.empty() ? zeros : std::move(v); };
    FunctionDiff function{.name = name,
                          .site = MakeChange(or_zeros(totals.site_base), or_zeros(totals.site_current)),
                          .cum = MakeChange(or_zeros(totals.cum_base), or_zeros(totals.cum_current))};
    if (!function.site.IsZero() || !function.cum.IsZero()) diff.functions.push_back(std::move(function));
  }

  std::sort(diff.stacks.begin(), diff.stacks.end(), [](const StackDiff& a, const StackDiff& b) {
    if (int c = CompareDeltas(a.change, b.change); c != 0) return c < 0;
    return Join(a.frames) < Join(b.frames);
  });
  std::sort(diff.functions.begin(), diff.functions.end(), [](const FunctionDiff& a, const FunctionDiff& b) {
    if (int c = CompareDeltas(a.site, b.site); c != 0) return c < 0;
    if (int c = CompareDeltas(a.cum, b.cum); c != 0) return c < 0;
    return a.name < b.name;
  });
  return diff;
}

std::string FormatDiffText(const ProfileDiff& diff, size_t nodecount) {
  const std::vector<ValueType>& columns = diff.columns;
  std::string out;
  for (size_t i = 0; i < columns.size(); ++i) {
    absl::StrAppendFormat(&out, "%-14s %12s -> %-12s %12s\n", columns[i].type,
                          FormatValue(diff.total.base[i], columns[i].unit),
                          FormatValue(diff.total.current[i], columns[i].unit),
                          FormatDelta(diff.total.delta[i], columns[i].unit));
  }
  if (diff.empty()) {
    out += "\nNo differences.\n";
    return out;
  }
  auto limit = [nodecount](size_t size) { return nodecount == 0 ? size : std::min(nodecount, size); };

  size_t shown = limit(diff.functions.size());
  absl::StrAppendFormat(&out,
                        "\nFunctions, largest change first (%d of %d; site: the allocation site is in the "
                        "function; cum: the function is on the stack):\n",
                        shown, diff.functions.size());
  std::string header;
  for (const ValueType& column : columns) absl::StrAppendFormat(&header, " %18s", "site " + column.type);
  absl::StrAppendFormat(&header, " %18s  %s\n", "cum " + columns[0].type, "function");
  out += header;
  for (size_t i = 0; i < shown; ++i) {
    const FunctionDiff& function = diff.functions[i];
    for (size_t c = 0; c < columns.size(); ++c) {
      absl::StrAppendFormat(&out, " %18s", FormatDelta(function.site.delta[c], columns[c].unit));
    }
    absl::StrAppendFormat(&out, " %18s  %s\n", FormatDelta(function.cum.delta[0], columns[0].unit), function.name);
  }

  shown = limit(diff.stacks.size());
  absl::StrAppendFormat(&out, "\nStacks, largest change first (%d of %d):\n", shown, diff.stacks.size());
  for (size_t i = 0; i < shown; ++i) {
    const StackDiff& stack = diff.stacks[i];
    const Change& change = stack.change;
    std::string others = OtherDeltas(columns, change);
    absl::StrAppendFormat(&out, "%s %s%s  (%s -> %s)\n", FormatDelta(change.delta[0], columns[0].unit),
                          columns[0].type, others.empty() ? "" : ", " + others,
                          FormatValue(change.base[0], columns[0].unit),
                          FormatValue(change.current[0], columns[0].unit));
    if (stack.frames.empty()) out += "      (no stack)\n";
    for (const Frame& frame : stack.frames) absl::StrAppendFormat(&out, "      %s\n", frame.name);
  }
  return out;
}

nlohmann::json DiffToJson(const ProfileDiff& diff, size_t nodecount) {
  auto limit = [nodecount](size_t size) { return nodecount == 0 ? size : std::min(nodecount, size); };
  nlohmann::json columns = nlohmann::json::array();
  for (const ValueType& column : diff.columns) columns.push_back({{"type", column.type}, {"unit", column.unit}});
  nlohmann::json functions = nlohmann::json::array();
  for (size_t i = 0; i < limit(diff.functions.size()); ++i) {
    const FunctionDiff& function = diff.functions[i];
    functions.push_back({{"name", function.name},
                         {"site", ChangeJson(diff.columns, function.site)},
                         {"cum", ChangeJson(diff.columns, function.cum)}});
  }
  nlohmann::json stacks = nlohmann::json::array();
  for (size_t i = 0; i < limit(diff.stacks.size()); ++i) {
    const StackDiff& stack = diff.stacks[i];
    nlohmann::json frames = nlohmann::json::array();
    for (const Frame& frame : stack.frames) frames.push_back({{"name", frame.name}, {"object", frame.object}});
    nlohmann::json entry = ChangeJson(diff.columns, stack.change);
    entry["frames"] = std::move(frames);
    stacks.push_back(std::move(entry));
  }
  return {{"columns", std::move(columns)},
          {"total", ChangeJson(diff.columns, diff.total)},
          {"functions", std::move(functions)},
          {"functions_total", diff.functions.size()},
          {"stacks", std::move(stacks)},
          {"stacks_total", diff.stacks.size()}};
}

absl::StatusOr<Profile> DiffBaseProfile(const Profile& base, const Profile& current, const DiffOptions& options) {
  absl::StatusOr<std::vector<Column>> columns = ResolveColumns(base, current, options);
  if (!columns.ok()) return columns.status();
  Profile out;
  for (const Column& column : *columns) out.sample_types.push_back(column.type);
  out.default_sample_type = out.sample_types[0].type;
  out.period_type = current.period_type;
  out.period = current.period;
  out.time_nanos = current.time_nanos;
  if (base.time_nanos > 0 && current.time_nanos > base.time_nanos) {
    out.duration_nanos = current.time_nanos - base.time_nanos;
  }
  out.comments.push_back("heapwatch diff: new minus base; base samples are negated and labelled pprof::base=true");

  // Frame names are all that matched, so they are all the output keeps: one
  // function per name, one location per (name, object), one mapping per
  // object, flagged as symbolized so pprof does not look for binaries.
  absl::flat_hash_map<std::string, size_t> function_of, mapping_of;
  absl::flat_hash_map<std::pair<std::string, std::string>, size_t> location_of;
  auto location_for = [&](const Frame& frame) {
    auto [it, inserted] = location_of.try_emplace({frame.name, frame.object}, out.locations.size());
    if (!inserted) return it->second;
    auto [fit, new_function] = function_of.try_emplace(frame.name, out.functions.size());
    if (new_function) out.functions.push_back({.id = out.functions.size() + 1, .name = frame.name,
                                               .system_name = frame.name});
    Location location{.id = out.locations.size() + 1, .lines = {{.function = fit->second}}};
    if (!frame.object.empty()) {
      auto [mit, new_mapping] = mapping_of.try_emplace(frame.object, out.mappings.size());
      if (new_mapping) {
        out.mappings.push_back({.id = out.mappings.size() + 1, .filename = frame.object, .has_functions = true,
                                .has_filenames = true, .has_line_numbers = true, .has_inline_frames = true});
      }
      location.mapping = mit->second;
    }
    out.locations.push_back(std::move(location));
    return it->second;
  };

  for (const StackTotals& stack : AggregateStacks(base, current, *columns)) {
    std::vector<size_t> locations;
    for (const Frame& frame : stack.frames) locations.push_back(location_for(frame));
    auto nonzero = [](const std::vector<int64_t>& v) {
      return std::any_of(v.begin(), v.end(), [](int64_t x) { return x != 0; });
    };
    if (nonzero(stack.base)) {
      Sample sample{.locations = locations, .labels = {{.key = "pprof::base", .str = "true"}}};
      for (int64_t v : stack.base) sample.values.push_back(-v);  // saturated sums are never INT64_MIN
      out.samples.push_back(std::move(sample));
    }
    if (nonzero(stack.current)) out.samples.push_back({.locations = locations, .values = stack.current});
  }
  return out;
}

}  // namespace heapwatch
