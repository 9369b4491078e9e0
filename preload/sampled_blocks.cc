#include "preload/sampled_blocks.h"

#include <cstring>

#include "preload/internal_arena.h"

namespace heapwatch {
namespace {

constexpr uint8_t kCountSaturated = UINT8_MAX;

// Slot index within a shard's table: a different mix from the bucket hash,
// so that records of one shard (same low bucket bits) still spread out.
uint32_t SlotHash(uintptr_t address) {
  uint64_t x = address >> 4;
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdull;
  x ^= x >> 33;
  return static_cast<uint32_t>(x);
}

// What LockAllForFork took, for UnlockAllAfterFork on the same thread, in
// parent and child. Initial-exec TLS: plain loads and stores.
__thread uint64_t t_fork_shards_taken __attribute__((tls_model("initial-exec"))) = 0;
__thread bool t_fork_growth_taken __attribute__((tls_model("initial-exec"))) = false;

}  // namespace

// The counts are changed with a read-modify-write instruction (the shard's
// lock already orders them): a page touched first by a write never goes
// through the zero page (see PopulateForWrite).
void SampledBlocks::CountIn(uint64_t hash, int bits) {
  uint64_t bucket = hash >> (64 - bits);
  uint8_t old = __atomic_fetch_add(&bucket_counts_[bucket], 1, __ATOMIC_RELAXED);
  if (old == kCountSaturated) {
    bucket_counts_[bucket] = kCountSaturated;  // stays "maybe" until the next level: correct, only slower
  } else if (old == 0) {
    uint64_t index = LevelStart(bits) + bucket;
    filter_[index >> 6].fetch_or(uint64_t{1} << (index & 63), std::memory_order_relaxed);
  }
}

void SampledBlocks::CountOut(uint64_t hash, int bits) {
  uint64_t bucket = hash >> (64 - bits);
  uint8_t old = __atomic_fetch_sub(&bucket_counts_[bucket], 1, __ATOMIC_RELAXED);
  if (old == kCountSaturated) {
    bucket_counts_[bucket] = kCountSaturated;
  } else if (old == 1) {
    uint64_t index = LevelStart(bits) + bucket;
    filter_[index >> 6].fetch_and(~(uint64_t{1} << (index & 63)), std::memory_order_relaxed);
  }
}

void SampledBlocks::PopulateFilter() {
  PopulateForWrite(filter_, (size_t{1} << kMinFilterBits) / 8);
}

void SampledBlocks::GrowFilterIfCrowded() {
  auto crowded = [this](int bits) {
    return bits < kMaxFilterBits &&
           live_.load(std::memory_order_relaxed) * kBitsPerRecord > (int64_t{1} << bits);
  };
  if (!crowded(CurrentBits(std::memory_order_relaxed)) || !filter_growth_.TryLock()) return;
  LockAll();
  int old_bits = CurrentBits(std::memory_order_relaxed);
  if (crowded(old_bits)) {
    int bits = old_bits;
    while (crowded(bits)) ++bits;
    // The new level has never been written (levels only grow): its bits are
    // zero. Its counts reuse the array from the start, of which only the
    // old level's part was ever written.
    std::memset(bucket_counts_, 0, sizeof(bucket_counts_[0]) << old_bits);
    for (Shard& shard : shards_) {
      for (uint32_t i = 0; i < shard.capacity; ++i) {
        if (shard.slots[i].address != 0) CountIn(Hash(shard.slots[i].address), bits);
      }
    }
    // A pin whose address is not visible yet has not counted itself in
    // either (it stores the address before it takes its shard's lock, which
    // we hold): it will, at the new size. Counting a pin twice is harmless,
    // since it is never counted out.
    uint32_t pinned = pinned_claimed_.load(std::memory_order_acquire);
    for (uint32_t i = 0; i < pinned && i < kMaxPinned; ++i) {
      if (uintptr_t address = pinned_[i].load(std::memory_order_acquire)) CountIn(Hash(address), bits);
    }
    filter_view_.store(View(bits), std::memory_order_release);
  }
  UnlockAll();
  filter_growth_.Unlock();
}

SampledBlock* SampledBlocks::Find(Shard& shard, uintptr_t address) {
  if (shard.capacity == 0) return nullptr;
  uint32_t mask = shard.capacity - 1;
  for (uint32_t i = SlotHash(address) & mask;; i = (i + 1) & mask) {
    SampledBlock& slot = shard.slots[i];
    if (slot.address == address) return &slot;
    if (slot.address == 0) return nullptr;
  }
}

bool SampledBlocks::Grow(Shard& shard) {
  if (shard.capacity == 0) {
    shard.slots = shard.inline_slots;
    shard.capacity = kInlineSlots;
    return true;
  }
  uint32_t capacity = shard.capacity * 2;
  auto* slots = static_cast<SampledBlock*>(MapPages(sizeof(SampledBlock) * capacity));
  if (slots == nullptr) return false;
  // Probing reads before it writes: make the pages real first.
  PopulateForWrite(slots, sizeof(SampledBlock) * capacity);
  uint32_t mask = capacity - 1;
  for (uint32_t i = 0; i < shard.capacity; ++i) {
    const SampledBlock& old = shard.slots[i];
    if (old.address == 0) continue;
    uint32_t j = SlotHash(old.address) & mask;
    while (slots[j].address != 0) j = (j + 1) & mask;
    slots[j] = old;
  }
  if (shard.slots != shard.inline_slots) UnmapPages(shard.slots, sizeof(SampledBlock) * shard.capacity);
  shard.slots = slots;
  shard.capacity = capacity;
  return true;
}

void SampledBlocks::EraseSlot(Shard& shard, uint32_t index) {
  // Backward-shift deletion: pull later members of the probe run into the
  // hole so that lookups never need tombstones.
  uint32_t mask = shard.capacity - 1;
  uint32_t hole = index;
  for (uint32_t i = (index + 1) & mask; shard.slots[i].address != 0; i = (i + 1) & mask) {
    uint32_t home = SlotHash(shard.slots[i].address) & mask;
    // Move slot i into the hole unless its home lies cyclically in (hole, i].
    bool home_after_hole = hole <= i ? (home > hole && home <= i) : (home > hole || home <= i);
    if (!home_after_hole) {
      shard.slots[hole] = shard.slots[i];
      hole = i;
    }
  }
  shard.slots[hole] = SampledBlock();
  --shard.count;
}

void SampledBlocks::TakeSlot(Shard& shard, uint64_t hash, SampledBlock* slot, SampledBlock* removed) {
  *removed = *slot;
  EraseSlot(shard, static_cast<uint32_t>(slot - shard.slots));
  CountOut(hash, CurrentBits(std::memory_order_relaxed));
  live_.fetch_sub(1, std::memory_order_relaxed);
}

bool SampledBlocks::Insert(const SampledBlock& block) {
  uint64_t hash = Hash(block.address);
  Shard& shard = ShardOf(hash);
  SpinLockHolder hold(shard.lock);
  // Keep the load factor at most 1/2: probe runs stay short.
  if ((shard.count + 1) * 2 > shard.capacity && !Grow(shard)) return false;
  uint32_t mask = shard.capacity - 1;
  uint32_t i = SlotHash(block.address) & mask;
  while (shard.slots[i].address != 0) i = (i + 1) & mask;
  shard.slots[i] = block;
  ++shard.count;
  CountIn(hash, CurrentBits(std::memory_order_relaxed));
  live_.fetch_add(1, std::memory_order_relaxed);
  return true;
}

bool SampledBlocks::Pin(uintptr_t address) {
  uint32_t slot = pinned_claimed_.fetch_add(1, std::memory_order_acq_rel);
  if (slot >= kMaxPinned) return false;
  pinned_[slot].store(address, std::memory_order_release);
  uint64_t hash = Hash(address);
  SpinLockHolder hold(ShardOf(hash).lock);
  CountIn(hash, CurrentBits(std::memory_order_relaxed));
  return true;
}

bool SampledBlocks::Remove(uintptr_t address, SampledBlock* removed) {
  uint64_t hash = Hash(address);
  Shard& shard = ShardOf(hash);
  SpinLockHolder hold(shard.lock);
  SampledBlock* slot = Find(shard, address);
  if (slot == nullptr) return false;
  TakeSlot(shard, hash, slot, removed);
  return true;
}

SampledBlocks::TryResult SampledBlocks::TryRemove(uintptr_t address, SampledBlock* removed) {
  uint64_t hash = Hash(address);
  Shard& shard = ShardOf(hash);
  if (!shard.lock.TryLock()) return TryResult::kBusy;
  TryResult result = TryResult::kAbsent;
  if (SampledBlock* slot = Find(shard, address)) {
    TakeSlot(shard, hash, slot, removed);
    result = TryResult::kRemoved;
  }
  shard.lock.Unlock();
  return result;
}

size_t SampledBlocks::Count() {
  size_t total = 0;
  for (Shard& shard : shards_) {
    SpinLockHolder hold(shard.lock);
    total += shard.count;
  }
  return total;
}

size_t SampledBlocks::BytesMapped() {
  int bits = filter_bits();
  // The levels up to the current one (those a growth skipped were never
  // touched, but are counted), and the current level's counts.
  size_t total = (LevelStart(bits) + (size_t{1} << bits)) / 8 + (size_t{1} << bits) * sizeof(bucket_counts_[0]);
  for (Shard& shard : shards_) {
    SpinLockHolder hold(shard.lock);
    if (shard.slots != shard.inline_slots) total += sizeof(SampledBlock) * shard.capacity;
  }
  return total;
}

void SampledBlocks::LockAll() {
  for (Shard& shard : shards_) shard.lock.Lock();
}

void SampledBlocks::UnlockAll() {
  for (Shard& shard : shards_) shard.lock.Unlock();
}

// Growers only ever try the growth lock, so waiting for it here cannot
// deadlock: a grower that holds it finishes first.
void SampledBlocks::LockAllForFork() {
  t_fork_growth_taken = !filter_growth_.HeldByThisThread();
  if (t_fork_growth_taken) filter_growth_.Lock();
  t_fork_shards_taken = 0;
  for (int i = 0; i < kShardCount; ++i) {
    if (shards_[i].lock.HeldByThisThread()) continue;
    shards_[i].lock.Lock();
    t_fork_shards_taken |= uint64_t{1} << i;
  }
}

void SampledBlocks::UnlockAllAfterFork() {
  for (int i = 0; i < kShardCount; ++i) {
    if ((t_fork_shards_taken >> i) & 1) shards_[i].lock.Unlock();
  }
  if (t_fork_growth_taken) filter_growth_.Unlock();
}

}  // namespace heapwatch
