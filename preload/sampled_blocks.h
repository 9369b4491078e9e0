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
//  - a filter of one bit per bucket: bit b is set while some live record
//    hashes to bucket b. A free whose bit is clear returns at once: one
//    multiply, two shifts, two loads. Every free reads it, so it is kept as
//    small as the number of live records allows: 2^15 bits (4 KiB, which
//    stays in the L1 cache of a thread that frees often) while there are at
//    most 256 live records, doubling whenever there are more than one per
//    128 bits, up to 2^22 bits (512 KiB). With N live records a non-sampled
//    free sees a set bit with probability at most N / 2^bits: below 1% until
//    32,768 live records (a 16 GiB heap at the default rate);
//  - the filter only grows. Each size is a level of its own in one array
//    (level b holds bits [2^b - 2^15, 2^(b+1) - 2^15)), built in full from
//    the records, with every shard locked, before `filter_view_` switches to
//    it; a level left behind is never written again. A free that read the
//    old size still tests a complete filter for every record inserted
//    before the switch, and a record inserted after it was inserted after
//    the switch, so any free of its block reads the new size;
//  - per-bucket record counts of the current level decide when a bit may be
//    cleared; rebuilt with the level;
//  - 64 shards, each a spin lock and an open-addressing table that grows by
//    doubling (a first table of 16 records inside the shard, then memory
//    from MapPages). Shards are chosen by the hash bits of the smallest
//    level's bucket, which every larger level refines, so all records of a
//    bucket of any level are in one shard, and that shard's lock guards the
//    bucket's count and bit.

// Ordering: a record is inserted (and its bit set) before the allocation
// returns to the program, and removed before the block reaches the real
// free. Any free of the block happens after the program received the pointer,
// so it observes the bit (the program's own synchronization orders the two);
// and an address cannot be handed out again while its old record exists.
//
// Locks are held for a few dozen instructions and never across a call into
// anything but our own code and, when a table grows, mmap; all of them at
// once only while the filter grows (a pass over the records, at most seven
// times in a process's life). A thread that
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
  static constexpr int kMinFilterBits = 15;
  static constexpr int kMaxFilterBits = 22;
  // The filter grows when live records exceed 2^bits / this.
  static constexpr int kBitsPerRecord = 128;
  static constexpr int kShardCount = 64;  // at most 64: the fork handler keeps a bit mask

  // The hot path: false means `address` is certainly not a sampled block.
  __attribute__((always_inline)) bool MayContain(uintptr_t address) const {
    uint64_t view = filter_view_.load(std::memory_order_acquire);
    uint64_t index = (view >> 8) + (Hash(address) >> ViewShift(view));
    const std::atomic<uint64_t>* words = filter_;
    return (words[index >> 6].load(std::memory_order_relaxed) >> (index & 63)) & 1;
  }

  // Adds a record; the address must not be present. False when a table
  // cannot grow (out of memory): the caller then drops the sample.
  bool Insert(const SampledBlock& block);

  // Makes MayContain(address) true for the rest of the process's life,
  // through every growth, without a record: for blocks that must never
  // reach the real free by its fast path (the bootstrap pool's, which free
  // then recognises by address). At most kMaxPinned addresses; false when
  // they are used up.
  static constexpr uint32_t kMaxPinned = 256;
  bool Pin(uintptr_t address);

  // Moves to a larger filter if the live records call for one. Call after
  // inserting, once nothing else waits on the caller (it may take every
  // shard's lock and pass over all the records).
  void GrowFilterIfCrowded();

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

  // Makes the smallest filter's page real and writable. Called once at
  // start-up, while the process is (usually) single-threaded: every free
  // reads the filter, so its page would otherwise sit on the zero page and
  // the first insert would cost a TLB shootdown. (A larger level is written
  // in full before any free reads it.)
  void PopulateFilter();

  // Live records; the filter's current size in bits (log2); bytes of memory
  // the structure uses (self-report: the filter levels and counts in use,
  // the tables).
  size_t Count();
  int filter_bits() const { return CurrentBits(std::memory_order_acquire); }
  size_t BytesMapped();

  // fork(): the parent holds the growth lock and every shard lock across the
  // fork, so the child inherits consistent tables (and no growth half done
  // by a thread it does not have); each side then releases them. Except
  // the locks the forking thread itself holds: fork is async-signal-safe,
  // and a handler that interrupted this thread inside our code may fork. It
  // cannot wait for those; the interrupted code, which goes on in both
  // processes, finishes its update and releases them (SpinLock knows its
  // holder).
  void LockAllForFork();
  void UnlockAllAfterFork();

 private:
  static constexpr uint32_t kInlineSlots = 16;
  struct alignas(64) Shard {
    SpinLock lock;
    SampledBlock* slots = nullptr;  // `capacity` entries, power of two
    uint32_t capacity = 0;
    uint32_t count = 0;
    SampledBlock inline_slots[kInlineSlots] = {};  // the first table
  };

  static uint64_t Hash(uintptr_t address) {
    // Fibonacci hashing; the high bits of the product are well mixed. Blocks
    // are at least 16-byte aligned, so this is (address / 16) times the
    // constant modulo 2^60, shifted up by 4: the same hash on 60 bits, one
    // instruction shorter than dividing first.
    return address * 0x9e3779b97f4a7c15ull;
  }
  // The current level, as the free path reads it: one word, so that a
  // level's start and its hash shift are always seen together. Bits 8 and
  // up: LevelStart(bits); bits 0-7: (64 - bits) ^ (64 - kMinFilterBits), so
  // that the smallest level's view is 0 (see below).
  static uint64_t View(int bits) {
    return LevelStart(bits) << 8 | static_cast<uint64_t>((64 - bits) ^ (64 - kMinFilterBits));
  }
  static int ViewShift(uint64_t view) { return static_cast<int>(view & 0xff) ^ (64 - kMinFilterBits); }
  int CurrentBits(std::memory_order order) const { return 64 - ViewShift(filter_view_.load(order)); }
  // Where level `bits` starts in filter_, in bits.
  static uint64_t LevelStart(int bits) { return (uint64_t{1} << bits) - (uint64_t{1} << kMinFilterBits); }
  Shard& ShardOf(uint64_t hash) { return shards_[(hash >> (64 - kMinFilterBits)) % kShardCount]; }

  // All below: the shard's lock is held (CountIn/CountOut: the lock of the
  // hash's shard).
  SampledBlock* Find(Shard& shard, uintptr_t address);
  bool Grow(Shard& shard);
  void EraseSlot(Shard& shard, uint32_t index);
  // Removes the record at `slot` (of `hash`) into *removed.
  void TakeSlot(Shard& shard, uint64_t hash, SampledBlock* slot, SampledBlock* removed);
  void CountIn(uint64_t hash, int bits);
  void CountOut(uint64_t hash, int bits);
  // Every shard's lock, in index order (the only order in which more than
  // one is ever held).
  void LockAll();
  void UnlockAll();

  // Arrays, not mappings: the process-wide instance is constant-initialized
  // (zero pages until touched), so the free hook never tests for "not yet
  // set up". Resident: the levels used so far (each twice the last) and
  // the current level's counts, 4 KiB + 32 KiB at the smallest, 1 MiB +
  // 4 MiB at the largest (beyond 32,768 live sampled blocks).
  // Read by every free: nothing written on the sampled paths shares its
  // cache line. Zero at first, like every member: a non-zero initializer
  // would move the whole object from .bss into the library's file-backed
  // .data, whose pages the kernel maps in (and counts as resident) by the
  // dozen.
  alignas(64) std::atomic<uint64_t> filter_view_{0};  // View(current bits)
  alignas(64) std::atomic<uint64_t> filter_[(size_t{2} << kMaxFilterBits) / 64 - (size_t{1} << kMinFilterBits) / 64] = {};
  uint8_t bucket_counts_[size_t{1} << kMaxFilterBits] = {};  // live records per bucket; saturates
  alignas(64) std::atomic<int64_t> live_{0};  // records, for the growth decision
  // Pin's addresses: slots are claimed by pinned_claimed_ (which may run
  // past kMaxPinned) and filled before the address is counted in.
  std::atomic<uint32_t> pinned_claimed_{0};
  std::atomic<uintptr_t> pinned_[kMaxPinned] = {};
  SpinLock filter_growth_;                    // one grower at a time
  Shard shards_[kShardCount];
};

}  // namespace heapwatch

#endif  // HEAPWATCH_PRELOAD_SAMPLED_BLOCKS_H_
