// The process-wide state the hooks share with the collector.
//
// Constant-initialized (constinit): it exists, zeroed and inactive, before
// any code of ours runs, so a hook called during the dynamic loader's
// start-up (before our constructor) finds a valid, inactive profiler.

#ifndef HEAPWATCH_PRELOAD_PROFILER_STATE_H_
#define HEAPWATCH_PRELOAD_PROFILER_STATE_H_

#include <sys/single_threaded.h>
#include <sys/types.h>

#include <atomic>
#include <cstdint>

#include "preload/config.h"
#include "preload/sample_ring.h"
#include "preload/sampled_blocks.h"

namespace heapwatch {

struct ProfilerStats {
  std::atomic<uint64_t> samples{0};            // sampled allocations recorded
  std::atomic<uint64_t> dropped_samples{0};    // ring full: allocation not recorded
  std::atomic<uint64_t> untracked_samples{0};  // no room for the block's record
  std::atomic<uint64_t> deferred_frees{0};     // re-entrant frees finished later
};

// Where the profiler is in its life. Before start-up every allocation goes
// to the sampler's slow path, which only checks this (start-up is short);
// once stopped, samplers are parked with a huge countdown.
enum class Phase : int {
  kStarting,  // before our constructor (or in a secure-execution process, for good)
  kActive,    // sampling
  kStopped,   // after the exit profile, or switched off after an error
};

struct ProfilerState {
  std::atomic<Phase> phase{Phase::kStarting};
  Config config;
  // Samples go to `ring` from a process with threads, whose collector
  // thread must be bridged over its scheduling delays, and to the small
  // `solo_ring` while the process is single-threaded: there the sampling
  // thread drains it itself every kSoloDrainStride samples, so it never
  // holds more, and `ring`, never used, costs no memory.
  SampleRing ring;
  SampleRing solo_ring;
  ProfilerStats stats;
  // Producers wake the collector after this many published samples.
  uint64_t wake_stride = 0;
};

// solo_ring's size, and how many samples its thread lets it hold.
inline constexpr size_t kSoloRingSlots = 64;
inline constexpr uint64_t kSoloDrainStride = 32;

// The ring a sample taken now goes to.
inline SampleRing& CurrentRing(ProfilerState& state) {
  return __libc_single_threaded ? state.solo_ring : state.ring;
}

extern constinit ProfilerState g_profiler __attribute__((visibility("hidden")));

// The live sampled blocks: a global of its own, all zero, so its 1.1 MiB
// sit in .bss (pages appear only when touched). Inside ProfilerState, whose
// defaults are not zero, they would be file-backed .data.
extern constinit SampledBlocks g_sampled_blocks __attribute__((visibility("hidden")));

}  // namespace heapwatch

#endif  // HEAPWATCH_PRELOAD_PROFILER_STATE_H_
