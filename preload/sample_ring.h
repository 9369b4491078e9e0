// A bounded multi-producer, single-consumer queue of sampled allocations,
// from the allocating threads to the collector thread.
//
// An allocating thread never blocks on it and never takes a lock: a push
// claims a slot with one compare-and-swap, copies the record in, and
// publishes it; when the ring is full the push fails at once and the caller
// counts a dropped sample. (Frees never travel through the ring; see
// sampled_blocks.h.) Slots have a fixed size: a header plus room for the
// configured stack depth.
//
// Algorithm: Dmitry Vyukov's bounded queue with a sequence number per slot.
// Slot i starts with sequence i. For position p (slot p & mask):
//   - a producer may fill the slot when sequence == p; it claims p by moving
//     `tail_` from p to p + 1 with a CAS, writes the record, then stores
//     sequence = p + 1 (release);
//   - the consumer may read the slot when sequence == p + 1 (acquire), and
//     frees it for the next lap by storing sequence = p + capacity (release).
//   - sequence < p means the slot still holds a record from the previous lap
//     that the consumer has not taken: the ring is full.
//
// Memory ordering: the producer's writes to the record happen before its
// release store of p + 1, which the consumer's acquire load observes, so the
// consumer sees the whole record. The consumer's reads happen before its
// release store of p + capacity, which the next lap's producer observes with
// an acquire load before writing, so a record is never overwritten while
// being read. The CAS on tail_ only hands out positions; it needs no ordering
// of its own because every access to a slot's contents is ordered by that
// slot's sequence.
//
// Representation: each slot stores its sequence number minus its own index,
// so the zero pages mmap returns are already a valid empty ring (sequence i
// in slot i) and Init touches nothing: slots cost memory only once used, and
// a ring that never receives a sample (the shared ring of a single-threaded
// process) costs none. The first claim populates the first stretches for
// writing (PopulateForWrite says why); during the first lap, producers then
// populate the stretch ahead of the tail, a syscall per kPopulateSlots
// samples. The consumer reads no slot of an empty ring.
//
// Progress: producers are lock-free. The consumer can be held up by a
// producer that claimed a slot and has not published it yet; the claim-to-
// publish window holds nothing but a copy of the record, so that is a few
// hundred nanoseconds. After fork() the child repairs slots that a vanished
// thread had claimed (RepairAfterFork).

#ifndef HEAPWATCH_PRELOAD_SAMPLE_RING_H_
#define HEAPWATCH_PRELOAD_SAMPLE_RING_H_

#include <atomic>
#include <cstddef>
#include <cstdint>

namespace heapwatch {

struct SampleRecord {
  uintptr_t address;   // the block
  uint64_t size;       // bytes requested
  uint64_t position;   // ring position: unique per sample, the block's token
  uint32_t depth;      // frames used
  uint32_t abandoned;  // set by RepairAfterFork: no record was written
  uintptr_t frames[];  // leaf first, `depth` entries
};

class SampleRing {
 public:
  // Slots of room for `max_depth` frames; `capacity` is rounded up to a power
  // of two. Memory from MapPages. False when the mapping fails.
  bool Init(size_t capacity, int max_depth);

  size_t capacity() const { return mask_ + 1; }
  // The slots' memory (for tests of what is resident).
  const char* slot_memory() const { return slots_; }
  size_t slot_memory_bytes() const { return capacity() * slot_bytes_; }

  // Producer side, any thread.
  //
  // Claims the next slot; false when the ring is full. On success the caller
  // fills *record (its position is already set) and must call Publish with
  // the same position promptly, without calling anything that may block.
  bool TryClaim(SampleRecord** record, uint64_t* position);
  void Publish(uint64_t position);

  // Consumer side, one thread at a time.
  //
  // The oldest published record, or nullptr when there is none (empty, or
  // the oldest claimed slot is not published yet).
  const SampleRecord* Front();
  void PopFront();

  // Records published but not yet consumed, approximately (for wake-ups).
  uint64_t ApproximateBacklog() const {
    return tail_.load(std::memory_order_relaxed) - head_.load(std::memory_order_relaxed);
  }

  // In a forked child, where the thread that claimed a slot may not exist:
  // marks every claimed-but-unpublished slot abandoned and publishes it, so
  // the consumer skips it instead of waiting forever. Single-threaded use.
  void RepairAfterFork();

 private:
  struct alignas(64) SlotHeader {
    std::atomic<uint64_t> sequence;  // minus the slot's index (see above)
  };

  SlotHeader* SlotAt(uint64_t position) const {
    return reinterpret_cast<SlotHeader*>(slots_ + (position & mask_) * slot_bytes_);
  }
  // The sequence number of the slot holding `position` (stored minus the
  // slot's index; unsigned arithmetic wraps consistently).
  uint64_t LoadSequence(uint64_t position, std::memory_order order) const {
    return SlotAt(position)->sequence.load(order) + (position & mask_);
  }
  void StoreSequence(uint64_t position, uint64_t sequence, std::memory_order order) {
    SlotAt(position)->sequence.store(sequence - (position & mask_), order);
  }
  static SampleRecord* RecordOf(SlotHeader* slot) {
    return reinterpret_cast<SampleRecord*>(reinterpret_cast<char*>(slot) + sizeof(SlotHeader));
  }

  // Slots populated at a time, ahead of the tail, during the first lap.
  static constexpr uint64_t kPopulateSlots = 64;
  void PopulateAhead(uint64_t position);
  // The first claim's work: the stretches the first lap's claims do not
  // populate themselves.
  void PopulateStart();

  char* slots_ = nullptr;
  size_t slot_bytes_ = 0;
  uint64_t mask_ = 0;
  std::atomic<bool> started_{false};  // PopulateStart has been called (written once)
  // Producers and the consumer write different lines.
  alignas(64) std::atomic<uint64_t> tail_{0};  // next position to claim
  alignas(64) std::atomic<uint64_t> head_{0};  // next position to consume (consumer-owned)
};

}  // namespace heapwatch

#endif  // HEAPWATCH_PRELOAD_SAMPLE_RING_H_
