#include "preload/sampled_blocks.h"

#include "preload/internal_arena.h"

namespace heapwatch {
namespace {

constexpr uint32_t kInitialCapacity = 64;
constexpr uint16_t kCountSaturated = UINT16_MAX;

// Slot index within a shard's table: a different mix from the bucket hash,
// so that records of one shard (same low bucket bits) still spread out.
uint32_t SlotHash(uintptr_t address) {
  uint64_t x = address >> 4;
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdull;
  x ^= x >> 33;
  return static_cast<uint32_t>(x);
}

}  // namespace

// The counts are changed with a read-modify-write instruction (the shard's
// lock already orders them): a page touched first by a write never goes
// through the zero page (see PopulateForWrite).
void SampledBlocks::CountIn(uint64_t bucket) {
  uint16_t old = __atomic_fetch_add(&bucket_counts_[bucket], 1, __ATOMIC_RELAXED);
  if (old == kCountSaturated) {
    bucket_counts_[bucket] = kCountSaturated;  // stays "maybe" forever: correct, only slower
  } else if (old == 0) {
    filter_[bucket >> 6].fetch_or(uint64_t{1} << (bucket & 63), std::memory_order_relaxed);
  }
}

void SampledBlocks::CountOut(uint64_t bucket) {
  uint16_t old = __atomic_fetch_sub(&bucket_counts_[bucket], 1, __ATOMIC_RELAXED);
  if (old == kCountSaturated) {
    bucket_counts_[bucket] = kCountSaturated;
  } else if (old == 1) {
    filter_[bucket >> 6].fetch_and(~(uint64_t{1} << (bucket & 63)), std::memory_order_relaxed);
  }
}

void SampledBlocks::PopulateFilter() { PopulateForWrite(filter_, sizeof(filter_)); }

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
  uint32_t capacity = shard.capacity == 0 ? kInitialCapacity : shard.capacity * 2;
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
  UnmapPages(shard.slots, sizeof(SampledBlock) * shard.capacity);
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

bool SampledBlocks::Insert(const SampledBlock& block) {
  uint64_t bucket = Bucket(block.address);
  Shard& shard = ShardOf(bucket);
  SpinLockHolder hold(shard.lock);
  // Keep the load factor at most 1/2: probe runs stay short.
  if ((shard.count + 1) * 2 > shard.capacity && !Grow(shard)) return false;
  uint32_t mask = shard.capacity - 1;
  uint32_t i = SlotHash(block.address) & mask;
  while (shard.slots[i].address != 0) i = (i + 1) & mask;
  shard.slots[i] = block;
  ++shard.count;
  CountIn(bucket);
  return true;
}

bool SampledBlocks::Remove(uintptr_t address, SampledBlock* removed) {
  uint64_t bucket = Bucket(address);
  Shard& shard = ShardOf(bucket);
  SpinLockHolder hold(shard.lock);
  SampledBlock* slot = Find(shard, address);
  if (slot == nullptr) return false;
  *removed = *slot;
  EraseSlot(shard, static_cast<uint32_t>(slot - shard.slots));
  CountOut(bucket);
  return true;
}

SampledBlocks::TryResult SampledBlocks::TryRemove(uintptr_t address, SampledBlock* removed) {
  uint64_t bucket = Bucket(address);
  Shard& shard = ShardOf(bucket);
  if (!shard.lock.TryLock()) return TryResult::kBusy;
  TryResult result = TryResult::kAbsent;
  if (SampledBlock* slot = Find(shard, address)) {
    *removed = *slot;
    EraseSlot(shard, static_cast<uint32_t>(slot - shard.slots));
    CountOut(bucket);
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
  size_t total = sizeof(filter_) + sizeof(bucket_counts_);
  for (Shard& shard : shards_) {
    SpinLockHolder hold(shard.lock);
    total += sizeof(SampledBlock) * shard.capacity;
  }
  return total;
}

void SampledBlocks::LockAllForFork() {
  for (Shard& shard : shards_) shard.lock.Lock();
}

void SampledBlocks::UnlockAllAfterFork() {
  for (Shard& shard : shards_) shard.lock.Unlock();
}

}  // namespace heapwatch
