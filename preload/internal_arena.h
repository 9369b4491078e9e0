// Memory for the profiler's own data inside the target process.
//
// Everything here comes from mmap, never from the malloc the hooks serve: our
// bookkeeping must not show up in the profile it describes, must not recurse
// into our hooks, and must stay usable in a forked child or at exit.
//
// InternalArena is a bump allocator over mmap'd chunks, for data kept until
// the process ends (interned strings, symbol tables, stack frames). It is not
// thread safe: each arena has one owner (the collector thread owns its own).
// Tables that grow and shrink use MapPages/UnmapPages directly instead.

#ifndef HEAPWATCH_PRELOAD_INTERNAL_ARENA_H_
#define HEAPWATCH_PRELOAD_INTERNAL_ARENA_H_

#include <cstddef>
#include <cstdint>

namespace heapwatch {

// Anonymous private pages, zero-filled; nullptr on failure. `bytes` is
// rounded up to whole pages.
void* MapPages(size_t bytes);
void UnmapPages(void* address, size_t bytes);

// Makes the pages of [address, address + bytes) present and writable now.
//
// Why: the kernel maps the shared zero page when a fresh anonymous page is
// first *read*; the first write then replaces that mapping, which costs a
// TLB shootdown (an IPI to every CPU running the process). Our structures
// are often read before written (a free looks at the filter, a producer at
// a ring slot), and in a busy multi-threaded program those IPIs cost more
// than the sampling itself. Populating for writing first, while no one has
// read the pages, avoids them. MADV_POPULATE_WRITE (Linux 5.14); older
// kernels get each page touched by an atomic add of zero instead.
void PopulateForWrite(void* address, size_t bytes);

class InternalArena {
 public:
  // Requests larger than this get a mapping of their own.
  static constexpr size_t kChunkBytes = size_t{1} << 20;

  InternalArena() = default;
  InternalArena(const InternalArena&) = delete;
  InternalArena& operator=(const InternalArena&) = delete;
  ~InternalArena() { ReleaseAll(); }

  // Zero-filled memory aligned to `alignment` (a power of two, at most a
  // page); nullptr if the system is out of memory.
  void* Allocate(size_t bytes, size_t alignment = alignof(std::max_align_t));

  template <typename T>
  T* AllocateArray(size_t count) {
    return static_cast<T*>(Allocate(sizeof(T) * count, alignof(T)));
  }

  // Copies `length` bytes of `text` and a terminating NUL.
  char* CopyString(const char* text, size_t length);

  // Bytes obtained from the system so far (for the profile's self-report).
  size_t bytes_mapped() const { return bytes_mapped_; }

  // Returns every mapping to the system. Pointers handed out become invalid.
  void ReleaseAll();

 private:
  // Each mapping starts with this header, linking all mappings for release.
  struct Mapping {
    Mapping* next;
    size_t bytes;
  };

  Mapping* mappings_ = nullptr;
  uintptr_t cursor_ = 0;  // next free byte in the current chunk
  uintptr_t limit_ = 0;   // end of the current chunk
  size_t bytes_mapped_ = 0;
};

}  // namespace heapwatch

#endif  // HEAPWATCH_PRELOAD_INTERNAL_ARENA_H_
