// The distinct stacks seen in sampled allocations, with their cumulative
// allocation totals. Collector-owned.
//
// A stack is interned by its raw frame addresses; on first sight each frame
// is also turned into a location id, so writing a profile never looks a
// frame up again. Ids count from 1 and never change. Totals are of sampled
// allocations (raw); the profile writer un-samples them.

#ifndef HEAPWATCH_PRELOAD_STACK_TABLE_H_
#define HEAPWATCH_PRELOAD_STACK_TABLE_H_

#include <cstdint>
#include <cstring>

#include "preload/hash_index.h"
#include "preload/page_vector.h"

namespace heapwatch {

struct StackEntry {
  uint32_t first;  // index of its frames in the frame and location arrays
  uint32_t depth;
  uint64_t alloc_count;  // sampled allocations
  uint64_t alloc_bytes;  // their bytes
};

class StackTable {
 public:
  // The id of the stack `frames[0..depth)`, interning it if new, in which
  // case location_of(frame) gives each frame's location id. 0 when out of
  // memory.
  // The key stacks are interned under; allocating threads compute it too.
  static uint64_t Hash(const uintptr_t* frames, uint32_t depth) {
    return HashWords(reinterpret_cast<const uint64_t*>(frames), depth);
  }

  template <typename LocationOf>
  uint32_t Intern(const uintptr_t* frames, uint32_t depth, LocationOf&& location_of) {
    uint64_t hash = Hash(frames, depth);
    uint32_t found = index_.Find(hash, [&](uint32_t id) {
      const StackEntry& e = entries_[id - 1];
      return e.depth == depth && (depth == 0 || std::memcmp(&frames_[e.first], frames, depth * sizeof(uintptr_t)) == 0);
    });
    if (found != 0) return found;
    uint32_t first = static_cast<uint32_t>(frames_.size());
    if (!frames_.Append(frames, depth) || !locations_.Resize(first + depth)) return 0;
    for (uint32_t i = 0; i < depth; ++i) locations_[first + i] = location_of(frames[i]);
    if (!entries_.PushBack({first, depth, 0, 0})) return 0;
    uint32_t id = static_cast<uint32_t>(entries_.size());
    if (!index_.Insert(hash, id)) {
      entries_.Resize(id - 1);
      return 0;
    }
    return id;
  }

  // The id of the interned stack whose hash is `hash`, or 0 if none is (yet).
  // Two different stacks with one 64-bit hash would be confused here; with
  // n stacks that happens with probability ~n^2 / 2^65.
  uint32_t FindByHash(uint64_t hash) const {
    return index_.Find(hash, [](uint32_t) { return true; });
  }

  size_t size() const { return entries_.size(); }
  StackEntry& at(uint32_t id) { return entries_[id - 1]; }
  const StackEntry& at(uint32_t id) const { return entries_[id - 1]; }
  const uint32_t* locations(const StackEntry& entry) const { return &locations_[entry.first]; }

  size_t bytes_mapped() const {
    return entries_.bytes_mapped() + frames_.bytes_mapped() + locations_.bytes_mapped() + index_.bytes_mapped();
  }

 private:
  PageVector<StackEntry> entries_;
  PageVector<uintptr_t> frames_;
  PageVector<uint32_t> locations_;
  HashIndex index_;
};

}  // namespace heapwatch

#endif  // HEAPWATCH_PRELOAD_STACK_TABLE_H_
