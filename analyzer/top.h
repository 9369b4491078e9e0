// `heapwatch top`: the functions of one profile ranked like `pprof -top`.
//
// flat is the value of the samples whose leaf frame is the function; cum the
// value of the samples that have the function anywhere on their stack (once
// per sample, even under recursion). Functions are keyed by the names of
// frames.h, so an unsymbolized frame shows as "object+0xoffset" and inlined
// frames count as their own functions. Percentages are of the total which,
// as in pprof, is the sum of absolute values, or of the base samples' for a
// diff profile (samples labelled pprof::base=true).
//
// A quick view of one profile; to compare two use diff.h, to follow a series
// use trend.

#ifndef HEAPWATCH_ANALYZER_TOP_H_
#define HEAPWATCH_ANALYZER_TOP_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "analyzer/profile.h"

namespace heapwatch {

struct TopEntry {
  std::string name;
  int64_t flat = 0;
  int64_t cum = 0;
};

struct TopReport {
  ValueType sample_type;
  int64_t total = 0;
  std::vector<TopEntry> entries;  // every function, in display order
};

// The index of the sample type `requested` names: a type ("inuse_space") or
// a 0-based number. An empty request picks default_sample_type, else the last
// type, as pprof does.
absl::StatusOr<size_t> ResolveSampleIndex(const Profile& profile, std::string_view requested);

// Ranks the functions of `profile` by the values at `sample_index` (which
// must be in range): by |flat| (then |cum|), or by |cum| (then |flat|) with
// `sort_by_cum`; ties by name.
TopReport BuildTop(const Profile& profile, size_t sample_index, bool sort_by_cum);

// The text table: a summary line, then flat, flat%, sum%, cum, cum% and the
// name for the first `nodecount` entries (0: all).
std::string FormatTop(const TopReport& report, size_t nodecount);

}  // namespace heapwatch

#endif  // HEAPWATCH_ANALYZER_TOP_H_
