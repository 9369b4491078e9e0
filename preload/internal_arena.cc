#include "preload/internal_arena.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cstring>

namespace heapwatch {
namespace {

size_t PageSize() {
  static const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  return page;
}

size_t RoundUp(size_t value, size_t multiple) { return (value + multiple - 1) / multiple * multiple; }

}  // namespace

void* MapPages(size_t bytes) {
  void* p = mmap(nullptr, RoundUp(bytes, PageSize()), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  return p == MAP_FAILED ? nullptr : p;
}

void PopulateForWrite(void* address, size_t bytes) {
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif
  uintptr_t page = PageSize();
  uintptr_t start = reinterpret_cast<uintptr_t>(address) & ~(page - 1);
  uintptr_t end = reinterpret_cast<uintptr_t>(address) + bytes;
  if (madvise(reinterpret_cast<void*>(start), end - start, MADV_POPULATE_WRITE) == 0) return;
  // A read-modify-write takes a write fault directly; adding zero changes
  // nothing a concurrent reader could see.
  for (uintptr_t p = start; p < end; p += page) __atomic_fetch_add(reinterpret_cast<uint64_t*>(p), 0, __ATOMIC_RELAXED);
}

void UnmapPages(void* address, size_t bytes) {
  if (address != nullptr) munmap(address, RoundUp(bytes, PageSize()));
}

void* InternalArena::Allocate(size_t bytes, size_t alignment) {
  uintptr_t start = (cursor_ + alignment - 1) & ~(uintptr_t{alignment} - 1);
  if (cursor_ != 0 && start + bytes <= limit_) {
    cursor_ = start + bytes;
    return reinterpret_cast<void*>(start);
  }
  // A new mapping: a chunk to bump through, or one of its own for a big
  // request (so a large table does not waste the rest of a chunk).
  size_t header = RoundUp(sizeof(Mapping), alignment);
  bool dedicated = bytes + header > kChunkBytes / 2;
  size_t size = RoundUp(dedicated ? bytes + header : kChunkBytes, PageSize());
  void* memory = MapPages(size);
  if (memory == nullptr) return nullptr;
  Mapping* mapping = static_cast<Mapping*>(memory);
  mapping->next = mappings_;
  mapping->bytes = size;
  mappings_ = mapping;
  bytes_mapped_ += size;
  uintptr_t base = reinterpret_cast<uintptr_t>(memory) + header;
  if (!dedicated) {
    cursor_ = base + bytes;
    limit_ = reinterpret_cast<uintptr_t>(memory) + size;
  }
  return reinterpret_cast<void*>(base);
}

char* InternalArena::CopyString(const char* text, size_t length) {
  char* copy = static_cast<char*>(Allocate(length + 1, 1));
  if (copy == nullptr) return nullptr;
  std::memcpy(copy, text, length);
  copy[length] = '\0';
  return copy;
}

void InternalArena::ReleaseAll() {
  while (mappings_ != nullptr) {
    Mapping* next = mappings_->next;
    UnmapPages(mappings_, mappings_->bytes);
    mappings_ = next;
  }
  cursor_ = limit_ = 0;
  bytes_mapped_ = 0;
}

}  // namespace heapwatch
