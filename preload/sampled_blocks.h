// The live sampled blocks, keyed by address.
//
// Two questions run through here. Every free asks "was this block sampled?",
// and almost always the answer is no: that must cost a few nanoseconds. The
// collector asks "what sampled memory is in use, and from which stack?",
// rarely and off the hot path.
//
// A free never travels anywhere: removing the block's record is the free.
// The collector computes in-use totals by scanning the records, so a sampled
// free cannot be lost or reordered against its allocation, whatever happens
// to the ring (full, or an allocation event still in flight). Each record
// carries the hash of its stack, computed by the allocating thread, which
// the scan maps to the collector's interned stack: the collector never has
// to come back here per sample.
//
// Layout:
//  - a filter of 2^19 bits (64 KiB): bit b is set while some live record
//    hashes to bucket b. A free whose bit is clear returns at once: one
//    multiply, one shift, one load. With N live sampled blocks a non-sampled
//    free sees a set bit with probability ~N / 2^19 (a 2 GiB heap at the
//    default rate is ~4000 blocks: 0.8%);
//  - 64 shards, each a spin lock and an open-addressing table that grows by
//    doubling (memory from MapPages). Bucket b belongs to shard b % 64, and
//    the per-bucket record counts that decide when a bit may be cleared are
//    only touched under that shard's lock.
//
// Ordering: a record is inserted (and its bit set) before the allocation
// returns to the program, and removed before the block reaches the real
// free. Any free of the block happens after the program received the pointer,
// so it observes the bit (the program's own synchronization orders the two);
// and an address cannot be handed out again while its old record exists.
//
// Locks are held for a few dozen instructions and never across a call into
// anything but our own code and, when a table grows, mmap. A thread that
// re-enters while holding one (a signal handler that frees) must use
// TryRemove and defer the free if the shard is busy.

#ifndef HEAPWATCH_PRELOAD_SAMPLED_BLOCKS_H_
#define HEAPWATCH_PRELOAD_SAMPLED_BLOCKS_H_

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "preload/spin_lock.h"

namespace heapwatch {

struct SampledBlock {
  uintptr_t address = 0;    // 0 marks an empty table slot
  uint64_t size = 0;        // bytes requested
  uint64_t stack_hash = 0;  // HashWords of the sample's frames (StackTable's key)
};

class SampledBlocks {
 public:
  static constexpr int kFilterBits = 19;
  static constexpr int kShardCount = 64;

  // The hot path: false means `address` is certainly not a sampled block.
  __attribute__((always_inline)) bool MayContain(uintptr_t address) const {
    uint64_t bucket = Bucket(address);
    return (filter_[bucket >> 6].load(std::memory_order_relaxed) >> (bucket & 63)) & 1;
  }

  // Adds a record; the address must not be present. False when a table
  // cannot grow (out of memory): the caller then drops the sample.
  bool Insert(const SampledBlock& block);

  // Removes the record for `address` into *removed. False when there is none.
  bool Remove(uintptr_t address, SampledBlock* removed);

  // As Remove, but never waits: kBusy when the shard's lock is held (possibly
  // by this very thread, interrupted by a signal).
  enum class TryResult { kRemoved, kAbsent, kBusy };
  TryResult TryRemove(uintptr_t address, SampledBlock* removed);

  // Collector: calls fn(const SampledBlock&) for every live record, one shard
  // at a time under its lock. fn must not allocate or free.
  template <typename Fn>
  void ForEach(Fn&& fn) {
    for (Shard& shard : shards_) {
      SpinLockHolder hold(shard.lock);
      for (uint32_t i = 0; i < shard.capacity; ++i) {
        if (shard.slots[i].address != 0) fn(static_cast<const SampledBlock&>(shard.slots[i]));
      }
    }
  }

  // Makes the filter's pages real and writable. Called once at start-up,
  // while the process is (usually) single-threaded: every free reads the
  // filter, so its pages would otherwise sit on the zero page and each first
  // insert would cost a TLB shootdown.
  void PopulateFilter();

  // Live records, and bytes of memory the structure holds (self-report).
  size_t Count();
  size_t BytesMapped();

  // fork(): the parent holds every shard lock across the fork, so the child
  // inherits consistent tables; each side then releases them.
  void LockAllForFork();
  void UnlockAllAfterFork();

 private:
  struct alignas(64) Shard {
    SpinLock lock;
    SampledBlock* slots = nullptr;  // `capacity` entries, power of two
    uint32_t capacity = 0;
    uint32_t count = 0;
  };

  static uint64_t Bucket(uintptr_t address) {
    // Blocks are at least 16-byte aligned: the low 4 bits carry nothing.
    // Fibonacci hashing; the high bits of the product are well mixed.
    return ((address >> 4) * 0x9e3779b97f4a7c15ull) >> (64 - kFilterBits);
  }
  Shard& ShardOf(uint64_t bucket) { return shards_[bucket % kShardCount]; }

  // All below: the shard's lock is held.
  SampledBlock* Find(Shard& shard, uintptr_t address);
  bool Grow(Shard& shard);
  void EraseSlot(Shard& shard, uint32_t index);
  void CountIn(uint64_t bucket);
  void CountOut(uint64_t bucket);

  // Arrays, not mappings: the process-wide instance is constant-initialized
  // (zero pages until touched), so the free hook never tests for "not yet
  // set up". 64 KiB of filter, 1 MiB of counts touched only on sampled paths.
  std::atomic<uint64_t> filter_[(size_t{1} << kFilterBits) / 64] = {};  // one bit per bucket
  uint16_t bucket_counts_[size_t{1} << kFilterBits] = {};               // live records; saturates
  Shard shards_[kShardCount];
};

}  // namespace heapwatch

#endif  // HEAPWATCH_PRELOAD_SAMPLED_BLOCKS_H_
