// Writes one pprof heap profile from the collector's tables.
//
// The layout Go's runtime/pprof uses for heap profiles, which pprof users
// know: sample types alloc_objects/count, alloc_space/bytes,
// inuse_objects/count, inuse_space/bytes (pprof shows the last by default;
// default_sample_type says so too), period_type space/bytes, period = the
// sampling rate. Values are un-sampled estimates (see ScaleHeapSample).
//
// Every location, function and mapping the process has seen is written, so
// ids are the same in every profile of a process; samples are written for
// every stack (alloc totals are cumulative, so every stack has some).

#ifndef HEAPWATCH_PRELOAD_HEAP_PROFILE_WRITER_H_
#define HEAPWATCH_PRELOAD_HEAP_PROFILE_WRITER_H_

#include <cstddef>
#include <cstdint>

#include "preload/loaded_objects.h"
#include "preload/location_table.h"
#include "preload/protobuf_writer.h"
#include "preload/stack_table.h"
#include "preload/string_table.h"

namespace heapwatch {

struct HeapProfileInput {
  StringTable* strings;
  const StackTable* stacks;
  const LocationTable* locations;
  const LoadedObjects* objects;
  // Sampled blocks in use and their bytes, per stack (index = stack id - 1).
  const uint64_t* inuse_count;
  const uint64_t* inuse_bytes;
  int64_t sample_rate;
  int64_t time_nanos;
  int64_t duration_nanos;
  // Comment lines for this profile only (added as temporary strings).
  const char* const* comments;
  size_t comment_count;
};

// Writes the profile; false if the writer failed (sink error, out of memory).
bool WriteHeapProfile(const HeapProfileInput& input, ProtobufWriter& writer);

// Un-samples `count` sampled blocks of `bytes` total: each site's values are
// multiplied by 1 / (1 - exp(-average / rate)).
//
// Derivation: a block of S bytes is sampled with probability
// p = 1 - exp(-S / rate) (byte_sampler.h), so each sampled block stands for
// 1 / p blocks. Using the site's average size for S is what Go does
// (scaleHeapSample); it is exact when a site's blocks are all one size, the
// common case. No scaling when rate <= 1: every block was recorded.
void ScaleHeapSample(uint64_t count, uint64_t bytes, int64_t rate, int64_t* scaled_count,
                     int64_t* scaled_bytes);

}  // namespace heapwatch

#endif  // HEAPWATCH_PRELOAD_HEAP_PROFILE_WRITER_H_
