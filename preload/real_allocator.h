// The allocator we interpose on: the next definitions of the malloc family
// after ours in symbol lookup order (glibc's, or jemalloc's/tcmalloc's when
// the program brings one), resolved once with dlsym(RTLD_NEXT).
//
// dlsym may itself allocate while we resolve. Those few allocations are
// served from a static bootstrap pool; its blocks are recognised by address
// and never reach the real free.
//
// If a required function cannot be found, there is nothing to fall back on:
// we say so and abort at start-up rather than misbehave later.

#ifndef HEAPWATCH_PRELOAD_REAL_ALLOCATOR_H_
#define HEAPWATCH_PRELOAD_REAL_ALLOCATOR_H_

#include <cstddef>
#include <cstdint>

namespace heapwatch {

struct RealAllocator {
  void* (*malloc)(size_t);
  void (*free)(void*);
  void* (*calloc)(size_t, size_t);
  void* (*realloc)(void*, size_t);
  void* (*memalign)(size_t, size_t);
  int (*posix_memalign)(void**, size_t, size_t);
  void* (*aligned_alloc)(size_t, size_t);
  void* (*valloc)(size_t);
  void* (*pvalloc)(size_t);
  size_t (*malloc_usable_size)(void*);
};

// Filled in by ResolveRealAllocator; all null before.
extern RealAllocator g_real __attribute__((visibility("hidden")));

// Resolves g_real if not done yet. Returns false only while this very thread
// is resolving (a re-entrant call from dlsym): the caller must then use the
// bootstrap pool. Other threads wait for the resolution to finish.
bool ResolveRealAllocator();

// Where the free hook sends a block its filter rules out (neither sampled
// nor from the bootstrap pool, which is pinned in the filter): until g_real
// is resolved, a function that resolves it and then frees; after, g_real.free
// itself. Never null, so the hook tests nothing but the filter.
extern void (*g_free_unsampled)(void*) __attribute__((visibility("hidden")));

__attribute__((always_inline)) inline bool RealAllocatorReady() {
  return __atomic_load_n(&g_real.free, __ATOMIC_ACQUIRE) != nullptr;
}

// The next definition of `symbol` after ours (e.g. libstdc++'s operator new
// for the out-of-memory path), or null. May allocate: not for the hot path.
void* FindNextSymbol(const char* symbol);

// The bootstrap pool: 64 KiB for the allocations dlsym makes before g_real
// is ready. Blocks are 16-byte aligned and never reused. The caller must
// pin each block in the free hook's filter before handing it out.
void* BootstrapAllocate(size_t size, size_t alignment);
size_t BootstrapBlockSize(const void* block);
inline constexpr size_t kBootstrapPoolBytes = 64 * 1024;
extern char g_bootstrap_pool[kBootstrapPoolBytes] __attribute__((visibility("hidden")));
__attribute__((always_inline)) inline bool IsBootstrapBlock(const void* p) {
  return static_cast<size_t>(static_cast<const char*>(p) - g_bootstrap_pool) < kBootstrapPoolBytes;
}

}  // namespace heapwatch

#endif  // HEAPWATCH_PRELOAD_REAL_ALLOCATOR_H_
