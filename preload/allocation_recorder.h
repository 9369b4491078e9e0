// What the hooks do around the real allocator: the sampling decision on
// every allocation, the sampled-block check on every free, and the slow
// paths behind them.
//
// The fast paths are inline and touch only thread-local state (allocation)
// or one bit of a shared, read-mostly filter (free): no shared cache line is
// written unless an allocation is sampled.

#ifndef HEAPWATCH_PRELOAD_ALLOCATION_RECORDER_H_
#define HEAPWATCH_PRELOAD_ALLOCATION_RECORDER_H_

#include <cstddef>
#include <cstdint>

#include "preload/profiler_state.h"
#include "preload/thread_state.h"

namespace heapwatch {

void* RecordAllocationSlow(void* block, size_t size);
bool ForgetBlockSlow(void* block);

// Called with every block the real allocator returned (or null); returns it.
__attribute__((always_inline)) inline void* RecordAllocation(void* block, size_t size) {
  if (CurrentThread().sampler.TryRecordAllocationFast(size)) return block;
  return RecordAllocationSlow(block, size);
}

// Called before a block goes back to the real allocator (free, or the old
// block of a realloc). True when the caller should release it now; false
// when its release was deferred (a re-entrant free that met a busy lock).
__attribute__((always_inline)) inline bool ForgetBlock(void* block) {
  if (!g_sampled_blocks.MayContain(reinterpret_cast<uintptr_t>(block))) return true;
  return ForgetBlockSlow(block);
}

// For realloc: removes the record of `block`, if sampled, into *saved so it
// can be put back if the real realloc fails. Returns whether there was one.
bool TakeBlockRecord(void* block, SampledBlock* saved);
void RestoreBlockRecord(const SampledBlock& saved);

// Frees deferred by ForgetBlock, finished by the collector (its thread, or
// the thread doing its work). Returns how many.
size_t FinishDeferredFrees();

}  // namespace heapwatch

#endif  // HEAPWATCH_PRELOAD_ALLOCATION_RECORDER_H_
