// The profile's string table, kept by the collector across profiles.
//
// Strings that name things (functions, files, sample types) are interned
// once and stay: every profile writes the whole table, and ids stay stable.
// Strings that belong to one profile only (its comments) are temporaries,
// dropped after that profile is written, so a long run does not grow the
// table by a few strings per snapshot. Index 0 is "", as pprof requires.

#ifndef HEAPWATCH_PRELOAD_STRING_TABLE_H_
#define HEAPWATCH_PRELOAD_STRING_TABLE_H_

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "preload/hash_index.h"
#include "preload/internal_arena.h"
#include "preload/page_vector.h"

namespace heapwatch {

class StringTable {
 public:
  // Sets up index 0. False when out of memory.
  bool Init();

  // The index of `text`, interned; 0 for "" (and when out of memory).
  uint32_t Intern(const char* text, size_t length);
  uint32_t Intern(const char* text) { return Intern(text, std::strlen(text)); }

  // A string for the next profile only. Not interned; 0 when out of memory.
  uint32_t AddTemporary(const char* text, size_t length);
  void DropTemporaries();

  size_t size() const { return entries_.size(); }
  const char* data(uint32_t index) const { return entries_[index].data; }
  uint32_t length(uint32_t index) const { return entries_[index].length; }

  size_t bytes_mapped() const {
    return entries_.bytes_mapped() + chars_.bytes_mapped() + index_.bytes_mapped() + temporary_chars_.bytes_mapped();
  }

 private:
  struct Entry {
    const char* data;
    uint32_t length;
  };
  uint32_t Add(InternalArena& arena, const char* text, size_t length);

  PageVector<Entry> entries_;
  InternalArena chars_;
  InternalArena temporary_chars_;
  HashIndex index_;
  size_t permanent_count_ = 0;
};

}  // namespace heapwatch

#endif  // HEAPWATCH_PRELOAD_STRING_TABLE_H_
