// Finding the heap quantities in a profile, whoever wrote it.
//
// heapwatch and Go's runtime/pprof write alloc_objects, alloc_space,
// inuse_objects, inuse_space; tcmalloc-style and other profiles use other
// names ("objects"/"space" for in-use, "alloc_*"...). This file maps them to
// one vocabulary, and recovers the number of sampled blocks behind an
// un-sampled estimate, which tells signal from sampling noise.

#ifndef HEAPWATCH_ANALYZER_HEAP_VALUES_H_
#define HEAPWATCH_ANALYZER_HEAP_VALUES_H_

#include <cstddef>
#include <cstdint>
#include <optional>

#include "analyzer/profile.h"

namespace heapwatch {

struct HeapValueIndices {
  std::optional<size_t> inuse_space;
  std::optional<size_t> inuse_objects;
  std::optional<size_t> alloc_space;
  std::optional<size_t> alloc_objects;
};

// Indices of the heap sample types in `profile`; a profile with no in-use
// bytes has no inuse_space.
HeapValueIndices FindHeapValues(const Profile& profile);

// The expected number of sampled blocks behind `objects` un-sampled objects
// of `bytes` total bytes, for a byte-sampling profile with mean period
// `period` (Go and heapwatch: objects * (1 - exp(-(bytes/objects)/period))).
// With period <= 1 every block was recorded and this returns `objects`.
double SampledBlockCount(double objects, double bytes, int64_t period);

}  // namespace heapwatch

#endif  // HEAPWATCH_ANALYZER_HEAP_VALUES_H_
