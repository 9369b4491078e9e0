#include "preload/allocation_recorder.h"

#include <errno.h>

#include <atomic>
#include <cstring>

#include "preload/collector.h"
#include "preload/real_allocator.h"
#include "preload/stack_capture.h"
#include "preload/stack_table.h"

namespace heapwatch {

constinit ProfilerState g_profiler;
constinit SampledBlocks g_sampled_blocks;
__thread ThreadState t_thread_state __attribute__((tls_model("initial-exec")));

namespace {

// Frees deferred because a re-entrant free met a busy shard lock. The list
// is threaded through the freed blocks themselves (every block has room for
// a pointer), so deferring never needs memory and the list is never full.
// Pushes use CAS; the only pop takes the whole list at once, so there is no
// ABA hazard.
struct DeferredFree {
  DeferredFree* next;
};
std::atomic<DeferredFree*> g_deferred_frees{nullptr};

void DeferFree(void* block) {
  auto* node = static_cast<DeferredFree*>(block);
  DeferredFree* head = g_deferred_frees.load(std::memory_order_relaxed);
  do {
    node->next = head;
  } while (!g_deferred_frees.compare_exchange_weak(head, node, std::memory_order_release,
                                                   std::memory_order_relaxed));
  g_profiler.stats.deferred_frees.fetch_add(1, std::memory_order_relaxed);
}

void RecordSample(void* block, size_t size) {
  uintptr_t frames[kMaxStackDepth];
  int depth = CaptureStack(frames, g_profiler.config.stack_depth);
  SampleRecord* record;
  uint64_t position;
  SampleRing& ring = CurrentRing(g_profiler);
  if (!ring.TryClaim(&record, &position)) {
    // Full: the collector is behind. Nudge it now and then, not on every
    // drop (a wake-up is a system call).
    if (g_profiler.stats.dropped_samples.fetch_add(1, std::memory_order_relaxed) % 256 == 0) WakeCollector();
    return;
  }
  uintptr_t address = reinterpret_cast<uintptr_t>(block);
  record->address = address;
  record->size = size;
  record->depth = static_cast<uint32_t>(depth);
  std::memcpy(record->frames, frames, sizeof(uintptr_t) * static_cast<size_t>(depth));
  if (!g_sampled_blocks.Insert(
          {.address = address, .size = size, .stack_hash = StackTable::Hash(frames, static_cast<uint32_t>(depth))})) {
    g_profiler.stats.untracked_samples.fetch_add(1, std::memory_order_relaxed);
  }
  ring.Publish(position);
  g_profiler.stats.samples.fetch_add(1, std::memory_order_relaxed);
  // Not between claiming and publishing: the collector waits on that slot.
  g_sampled_blocks.GrowFilterIfCrowded();
  RunCollectorIfDue();
  if (&ring == &g_profiler.ring && (position + 1) % g_profiler.wake_stride == 0) WakeCollector();
}

}  // namespace

void* RecordAllocationSlow(void* block, size_t size) {
  ThreadState& thread = CurrentThread();
  if (block == nullptr) return block;  // failed allocations are not counted
  switch (g_profiler.phase.load(std::memory_order_acquire)) {
    case Phase::kStarting:
      thread.sampler.Disarm();
      return block;
    case Phase::kStopped:
      thread.sampler.Park();
      return block;
    case Phase::kActive:
      break;
  }
  if (!thread.sampler.RecordAllocationSlow(size)) {
    // A check-in (byte_sampler.h): is collector work due?
    if (ByteSampler::check_in_interval() != 0 && thread.busy == 0) {
      int saved_errno = errno;
      BusyScope busy;
      RunCollectorIfDue();
      errno = saved_errno;
    }
    return block;
  }
  if (thread.busy != 0) return block;  // our own allocation, or a handler interrupting us
  int saved_errno = errno;
  BusyScope busy;
  RecordSample(block, size);
  errno = saved_errno;
  return block;
}

// Every path below that takes a shard lock on a program thread marks the
// thread busy first: a signal handler that interrupts it while it holds the
// lock then neither samples (which would take a shard lock) nor waits on one
// (its frees go through TryRemove and are deferred).

bool ForgetBlockSlow(void* block) {
  uintptr_t address = reinterpret_cast<uintptr_t>(block);
  SampledBlock removed;
  if (CurrentThread().busy == 0) {
    BusyScope busy;
    g_sampled_blocks.Remove(address, &removed);
    return true;
  }
  // Re-entrant: this thread may hold the shard lock itself.
  if (g_sampled_blocks.TryRemove(address, &removed) != SampledBlocks::TryResult::kBusy) return true;
  DeferFree(block);
  return false;
}

bool TakeBlockRecord(void* block, SampledBlock* saved) {
  uintptr_t address = reinterpret_cast<uintptr_t>(block);
  if (!g_sampled_blocks.MayContain(address)) return false;
  if (CurrentThread().busy == 0) {
    BusyScope busy;
    return g_sampled_blocks.Remove(address, saved);
  }
  // A realloc cannot be deferred. If the lock is busy the record stays, and
  // reads as in use until the address is sampled again: a corner (a signal
  // handler reallocating a sampled block while we hold its shard) we accept.
  return g_sampled_blocks.TryRemove(address, saved) == SampledBlocks::TryResult::kRemoved;
}

void RestoreBlockRecord(const SampledBlock& saved) {
  if (CurrentThread().busy != 0) {
    // A realloc that failed inside a handler interrupting our own code: the
    // shard may be held by this very thread. Losing the record (the block
    // goes untracked) is better than waiting forever.
    g_profiler.stats.untracked_samples.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  BusyScope busy;
  g_sampled_blocks.Insert(saved);
  g_sampled_blocks.GrowFilterIfCrowded();
}

size_t FinishDeferredFrees() {
  DeferredFree* node = g_deferred_frees.exchange(nullptr, std::memory_order_acquire);
  size_t count = 0;
  while (node != nullptr) {
    DeferredFree* next = node->next;
    SampledBlock removed;
    g_sampled_blocks.Remove(reinterpret_cast<uintptr_t>(node), &removed);
    g_real.free(node);
    node = next;
    ++count;
  }
  return count;
}

}  // namespace heapwatch
