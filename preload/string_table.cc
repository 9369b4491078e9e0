#include "preload/string_table.h"

namespace heapwatch {

bool StringTable::Init() {
  if (!entries_.PushBack({"", 0})) return false;
  permanent_count_ = 1;
  return true;
}

uint32_t StringTable::Add(InternalArena& arena, const char* text, size_t length) {
  char* copy = arena.CopyString(text, length);
  if (copy == nullptr || length > UINT32_MAX) return 0;
  if (!entries_.PushBack({copy, static_cast<uint32_t>(length)})) return 0;
  return static_cast<uint32_t>(entries_.size() - 1);
}

uint32_t StringTable::Intern(const char* text, size_t length) {
  if (length == 0) return 0;
  // Permanent strings are added only while no temporaries exist (the
  // profile writer interns everything before adding its comments).
  uint64_t hash = HashBytes(text, length);
  uint32_t found = index_.Find(hash, [&](uint32_t id) {
    return entries_[id].length == length && std::memcmp(entries_[id].data, text, length) == 0;
  });
  if (found != 0) return found;
  uint32_t index = Add(chars_, text, length);
  if (index == 0 || !index_.Insert(hash, index)) return 0;
  permanent_count_ = entries_.size();
  return index;
}

uint32_t StringTable::AddTemporary(const char* text, size_t length) {
  if (length == 0) return 0;
  return Add(temporary_chars_, text, length);
}

void StringTable::DropTemporaries() {
  entries_.Resize(permanent_count_);
  temporary_chars_.ReleaseAll();
}

}  // namespace heapwatch
