// An index from 64-bit hashes to non-zero 32-bit ids, for the collector's
// interning tables (strings, stacks, locations, functions), which keep their
// entries in PageVectors of their own and use this to find them again.
//
// Open addressing with linear probing, at most half full, grown by doubling.
// Entries are never removed. The caller confirms each candidate, so hash
// collisions cost a comparison, never a wrong answer. Not thread safe.

#ifndef HEAPWATCH_PRELOAD_HASH_INDEX_H_
#define HEAPWATCH_PRELOAD_HASH_INDEX_H_

#include <cstddef>
#include <cstdint>

#include "preload/page_vector.h"

namespace heapwatch {

class HashIndex {
 public:
  // The first id stored under `hash` for which matches(id) is true, or 0.
  template <typename Match>
  uint32_t Find(uint64_t hash, Match&& matches) const {
    if (slots_.empty()) return 0;
    size_t mask = slots_.size() - 1;
    for (size_t i = hash & mask;; i = (i + 1) & mask) {
      const Slot& slot = slots_[i];
      if (slot.id == 0) return 0;
      if (slot.hash == hash && matches(slot.id)) return slot.id;
    }
  }

  // Adds `id` (non-zero) under `hash`. False when out of memory.
  bool Insert(uint64_t hash, uint32_t id);

  size_t bytes_mapped() const { return slots_.bytes_mapped(); }

 private:
  struct Slot {
    uint64_t hash;
    uint32_t id;  // 0: empty
  };
  bool Grow();

  PageVector<Slot> slots_;  // size is the capacity, a power of two
  size_t count_ = 0;
};

// FNV-1a over bytes (strings), or a word at a time (stacks), then a final
// mix: fine for interning keys, not for anything adversarial.
uint64_t HashBytes(const void* data, size_t length, uint64_t seed = 0);
uint64_t HashWords(const uint64_t* words, size_t count, uint64_t seed = 0);

}  // namespace heapwatch

#endif  // HEAPWATCH_PRELOAD_HASH_INDEX_H_
