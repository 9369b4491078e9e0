// `heapwatch diff`: what changed between two heap profiles of one program.
//
// Samples are matched by their stack as frames.h names it (function name, or
// object + offset in the file), never by address or id, so two runs with
// different ASLR, or two profiles written by different tools, line up. The
// quantities compared ("columns") are the heap values both profiles have:
// inuse_space and inuse_objects, plus alloc_space and alloc_objects on
// request; a profile pair with none in common is an error, as in pprof's
// Compatible().
//
// Labels are not part of the match (pprof's -diff_base does match them): Go
// labels each heap sample with its block size, so a stack that allocates a
// different mix of sizes would not line up with itself.
//
// Per function there are two views: `site`, the samples whose allocation site
// (frames.h FirstUserFrame: the first frame outside the allocator, what a user
// would fix) is the function, and `cum`, the samples with the function
// anywhere on the stack.
//
// For a series of snapshots, judge growth with trend; diff answers "what is
// different between these two".

#ifndef HEAPWATCH_ANALYZER_DIFF_H_
#define HEAPWATCH_ANALYZER_DIFF_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "absl/status/statusor.h"
#include "analyzer/frames.h"
#include "analyzer/profile.h"

namespace heapwatch {

struct DiffOptions {
  bool include_alloc = false;  // also compare alloc_space / alloc_objects
};

// Values of one thing in both profiles, one entry per ProfileDiff::columns.
struct Change {
  std::vector<int64_t> base;
  std::vector<int64_t> current;
  std::vector<int64_t> delta;  // current - base
  bool IsZero() const;
};

struct StackDiff {
  std::vector<Frame> frames;  // leaf first
  Change change;
};

struct FunctionDiff {
  std::string name;
  Change site;
  Change cum;
};

struct ProfileDiff {
  std::vector<ValueType> columns;  // e.g. inuse_space/bytes, inuse_objects/count
  Change total;
  // Only what changed, largest |delta| of the first column first (then the
  // next columns, then by name).
  std::vector<StackDiff> stacks;
  // Functions whose site or cum changed: by |site delta|, then |cum delta|.
  std::vector<FunctionDiff> functions;
  bool empty() const { return stacks.empty(); }
};

// The columns `base` and `current` have in common, or why there are none.
absl::StatusOr<std::vector<ValueType>> DiffColumns(const Profile& base, const Profile& current,
                                                   const DiffOptions& options);

absl::StatusOr<ProfileDiff> DiffProfiles(const Profile& base, const Profile& current, const DiffOptions& options);

// Text for people: totals, then the first `nodecount` functions and stacks
// (0: all), each stack with its frames.
std::string FormatDiffText(const ProfileDiff& diff, size_t nodecount);

// The same as JSON: raw integers keyed by column type; lists cut to
// `nodecount` entries (0: all), with their full lengths alongside.
nlohmann::json DiffToJson(const ProfileDiff& diff, size_t nodecount);

// A profile that pprof shows like `pprof -diff_base=BASE NEW`: one location
// and function per frame name, the base's samples aggregated per stack (labels dropped),
// negated and labelled pprof::base=true, the new samples as they are. Every
// stack of either profile is kept, changed or not, because pprof takes its
// percentages from the base's total.
absl::StatusOr<Profile> DiffBaseProfile(const Profile& base, const Profile& current, const DiffOptions& options);

}  // namespace heapwatch

#endif  // HEAPWATCH_ANALYZER_DIFF_H_
