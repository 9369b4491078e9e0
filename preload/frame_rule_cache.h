// FrameRules by code address, shared by every thread, without locks.
//
// A stack walk looks up one rule per frame, so a hit must cost a few loads:
// 4,096 entries in 2-way sets, 16 bytes each (64 KiB of .bss, touched as
// it fills; libunwind keeps 256 KiB per thread for the same purpose). A
// miss costs one LookUpFrameRule (~1 us); a program's sampled stacks pass
// through a few hundred to a few thousand distinct return addresses, so
// misses stop soon after start-up.
//
// Entries are two words written with relaxed stores and no lock, so a
// reader may see one writer's address with another's value. The value
// carries a 32-bit check of (address, generation), which such a torn pair
// fails unless the two checks collide (2^-32), and a wrong rule can
// only mislead a walk, never make it read outside the stack (the walker
// bounds every read). The generation moves when code is unmapped (dlclose),
// so rules of unloaded code stop matching.

#ifndef HEAPWATCH_PRELOAD_FRAME_RULE_CACHE_H_
#define HEAPWATCH_PRELOAD_FRAME_RULE_CACHE_H_

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "preload/call_frame_info.h"

namespace heapwatch {

class FrameRuleCache {
 public:
  static constexpr int kSetBits = 11;
  static constexpr size_t kSets = size_t{1} << kSetBits;

  // What a walk computes once from the generation it saw. Never 0, so that
  // an empty entry (all zero) never passes for address 0's.
  static uint32_t SaltFor(uint32_t generation) { return (2 * generation + 1) * 0x9e3779b9u; }  // odd

  // The set `pc` belongs to (public for tests).
  static size_t SetOf(uintptr_t pc) { return static_cast<size_t>((pc * 0x9e3779b97f4a7c15ull) >> (64 - kSetBits)); }

  bool Find(uintptr_t pc, uint32_t salt, FrameRule* rule) const {
    const Entry* set = &entries_[2 * SetOf(pc)];
    uint32_t check = Check(pc, salt);
    for (int way = 0; way < 2; ++way) {
      if (set[way].pc.load(std::memory_order_relaxed) != pc) continue;
      uint64_t value = set[way].value.load(std::memory_order_relaxed);
      if (static_cast<uint32_t>(value >> 32) != check) continue;
      *rule = FrameRule::Unpack(static_cast<uint32_t>(value));
      return true;
    }
    return false;
  }

  // Into the way holding `pc` already, else into one whose entry is empty
  // or of an older generation, else into either, alternately (a fixed
  // choice would let two hot addresses of one set evict each other on
  // every walk). Only misses insert, so the shared counter is cold.
  void Insert(uintptr_t pc, uint32_t salt, FrameRule rule) {
    Entry* set = &entries_[2 * SetOf(pc)];
    int way = -1;
    for (int w = 0; w < 2 && way < 0; ++w) {
      if (set[w].pc.load(std::memory_order_relaxed) == pc) way = w;
    }
    for (int w = 0; w < 2 && way < 0; ++w) {
      uintptr_t held = set[w].pc.load(std::memory_order_relaxed);
      if (static_cast<uint32_t>(set[w].value.load(std::memory_order_relaxed) >> 32) != Check(held, salt)) way = w;
    }
    if (way < 0) way = static_cast<int>(replacements_.fetch_add(1, std::memory_order_relaxed) & 1);
    set[way].value.store(uint64_t{Check(pc, salt)} << 32 | rule.Pack(), std::memory_order_relaxed);
    set[way].pc.store(pc, std::memory_order_relaxed);
  }

 private:
  struct Entry {
    std::atomic<uintptr_t> pc{0};
    std::atomic<uint64_t> value{0};  // Check() << 32 | FrameRule::Pack()
  };

  // Ties a value to its address (against torn pairs) and to the
  // generation: a multiplicative hash, so two addresses share a check by
  // chance (2^-32), not by a pattern in their bits.
  static uint32_t Check(uintptr_t pc, uint32_t salt) {
    return static_cast<uint32_t>((pc * 0xc4ceb9fe1a85ec53ull) >> 32) ^ salt;
  }

  Entry entries_[2 * kSets];
  std::atomic<uint32_t> replacements_{0};
};

}  // namespace heapwatch

#endif  // HEAPWATCH_PRELOAD_FRAME_RULE_CACHE_H_
