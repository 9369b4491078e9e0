#include "preload/environment.h"

#include <unistd.h>

#include <cstring>

#include "preload/internal_arena.h"

namespace heapwatch {

bool SetEnvironmentVariable(const char* name, const char* value) {
  size_t name_length = std::strlen(name);
  size_t value_length = std::strlen(value);
  auto kept = [&](const char* entry) {  // not `name`'s entry
    return std::strncmp(entry, name, name_length) != 0 || entry[name_length] != '=';
  };
  size_t count = 0;
  for (char** entry = environ; entry != nullptr && *entry != nullptr; ++entry) count += kept(*entry);
  // One mapping: the array (those entries, ours, the null), then our string.
  size_t array_bytes = (count + 2) * sizeof(char*);
  size_t bytes = array_bytes + name_length + 1 + value_length + 1;
  char* memory = static_cast<char*>(MapPages(bytes));
  if (memory == nullptr) return false;
  char** array = reinterpret_cast<char**>(memory);
  char* text = memory + array_bytes;
  std::memcpy(text, name, name_length);
  text[name_length] = '=';
  std::memcpy(text + name_length + 1, value, value_length + 1);
  size_t n = 0;
  for (char** entry = environ; entry != nullptr && *entry != nullptr; ++entry) {
    if (kept(*entry)) array[n++] = *entry;
  }
  array[n++] = text;
  array[n] = nullptr;
  // Complete before it is published; the old array stays valid for a reader
  // that has it.
  __atomic_store_n(&environ, array, __ATOMIC_RELEASE);
  return true;
}

}  // namespace heapwatch
