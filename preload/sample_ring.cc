#include "preload/sample_ring.h"

#include "preload/internal_arena.h"

namespace heapwatch {

bool SampleRing::Init(size_t capacity, int max_depth) {
  size_t rounded = 1;
  while (rounded < capacity) rounded <<= 1;
  size_t record_bytes = sizeof(SampleRecord) + sizeof(uintptr_t) * static_cast<size_t>(max_depth);
  // Whole cache lines per slot, so neighbouring slots never share one.
  slot_bytes_ = (sizeof(SlotHeader) + record_bytes + 63) / 64 * 64;
  // Zero pages: every slot's stored value is 0, i.e. sequence == index.
  slots_ = static_cast<char*>(MapPages(rounded * slot_bytes_));
  if (slots_ == nullptr) return false;
  mask_ = rounded - 1;
  started_.store(false, std::memory_order_relaxed);
  tail_.store(0, std::memory_order_relaxed);
  head_.store(0, std::memory_order_release);
  return true;
}

bool SampleRing::TryClaim(SampleRecord** record, uint64_t* position) {
  // Before any slot is read: a read would map the zero page, which the
  // first write then replaces.
  if (__builtin_expect(!started_.load(std::memory_order_relaxed), 0)) PopulateStart();
  uint64_t pos = tail_.load(std::memory_order_relaxed);
  for (;;) {
    uint64_t sequence = LoadSequence(pos, std::memory_order_acquire);
    int64_t lag = static_cast<int64_t>(sequence - pos);
    if (lag == 0) {
      if (tail_.compare_exchange_weak(pos, pos + 1, std::memory_order_relaxed)) {
        if (pos % kPopulateSlots == 0 && pos <= mask_) PopulateAhead(pos + 2 * kPopulateSlots);
        SampleRecord* r = RecordOf(SlotAt(pos));
        r->position = pos;
        r->abandoned = 0;
        *record = r;
        *position = pos;
        return true;
      }
      // pos now holds the current tail: retry there.
    } else if (lag < 0) {
      return false;  // the slot still holds last lap's record: full
    } else {
      pos = tail_.load(std::memory_order_relaxed);  // another producer got here first
    }
  }
}

void SampleRing::PopulateAhead(uint64_t position) {
  if (position > mask_) return;  // past the first lap: every page is in use
  uint64_t count = kPopulateSlots;
  if (position + count > mask_ + 1) count = mask_ + 1 - position;
  PopulateForWrite(slots_ + position * slot_bytes_, count * slot_bytes_);
}

void SampleRing::PopulateStart() {
  // Racing first producers each populate: harmless, populating only faults
  // pages in. Claims at positions 0, kPopulateSlots, ... populate two
  // stretches ahead, so the first two are populated here.
  PopulateAhead(0);
  PopulateAhead(kPopulateSlots);
  started_.store(true, std::memory_order_relaxed);
}

void SampleRing::Publish(uint64_t position) { StoreSequence(position, position + 1, std::memory_order_release); }

const SampleRecord* SampleRing::Front() {
  // Nothing ever claimed: leave the slots unread (an untouched ring stays
  // so). Not tail_, which every claim writes: reading it per record would
  // pull its line away from the producers.
  if (!started_.load(std::memory_order_relaxed)) return nullptr;
  uint64_t pos = head_.load(std::memory_order_relaxed);
  if (LoadSequence(pos, std::memory_order_acquire) != pos + 1) return nullptr;
  return RecordOf(SlotAt(pos));
}

void SampleRing::PopFront() {
  uint64_t pos = head_.load(std::memory_order_relaxed);
  StoreSequence(pos, pos + mask_ + 1, std::memory_order_release);
  head_.store(pos + 1, std::memory_order_relaxed);
}

void SampleRing::RepairAfterFork() {
  uint64_t tail = tail_.load(std::memory_order_relaxed);
  for (uint64_t pos = head_.load(std::memory_order_relaxed); pos != tail; ++pos) {
    if (LoadSequence(pos, std::memory_order_relaxed) == pos) {  // claimed, never published
      SampleRecord* r = RecordOf(SlotAt(pos));
      r->position = pos;
      r->depth = 0;
      r->abandoned = 1;
      StoreSequence(pos, pos + 1, std::memory_order_release);
    }
  }
}

}  // namespace heapwatch
