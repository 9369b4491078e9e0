// The interposed allocation functions: the whole malloc family and every
// form of operator new and delete. Each one calls the real allocator and
// tells the recorder about the result; nothing else happens here.
//
// C++ semantics are kept by never re-implementing them: operator new tries
// the real malloc first (the common, successful case is recorded once, here)
// and on failure hands over to the next operator new in the chain (libstdc++
// or libc++), which runs the new_handler loop and throws std::bad_alloc or
// returns null for the nothrow forms. Its retries call malloc, i.e. our
// malloc hook, so an allocation that succeeds after a new_handler freed
// memory is still recorded exactly once. An exception passes through our
// frames, which hold no state to clean up.

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <cstddef>
#include <new>

#include "preload/allocation_recorder.h"
#include "preload/real_allocator.h"

#define HEAPWATCH_EXPORT extern "C" __attribute__((visibility("default")))
#define HEAPWATCH_EXPORT_CXX __attribute__((visibility("default")))

static_assert(sizeof(size_t) == 8, "the mangled operator names below assume a 64-bit size_t");

namespace heapwatch {
namespace {

// True when g_real can be used; false while this thread is inside dlsym
// resolving it, when the bootstrap pool must serve.
__attribute__((always_inline)) inline bool RealReady() { return RealAllocatorReady() || ResolveRealAllocator(); }

// The bootstrap pool, for allocations while this thread resolves g_real.
// Each block is pinned in the sampled-block filter, so that the free hook's
// fast path never hands it to the real free.
void* PoolAllocate(size_t size, size_t alignment) {
  void* block = BootstrapAllocate(size, alignment);
  if (block != nullptr && !g_sampled_blocks.Pin(reinterpret_cast<uintptr_t>(block))) return nullptr;
  return block;
}

// malloc's slow path: the sampler's countdown ran out (or never started,
// which is also how a thread's first allocation gets here).
__attribute__((noinline)) void* AllocateSlow(size_t size) {
  if (!RealReady()) return PoolAllocate(size, 16);
  return RecordAllocationSlow(g_real.malloc(size), size);
}

// The hot path: the sampling decision first, then a tail call into the real
// malloc, so nothing of ours is left on the stack. A positive countdown
// means g_real is resolved: every thread's countdown starts at 0 and only
// the slow path, after resolving, ever makes it positive.
__attribute__((always_inline)) inline void* Allocate(size_t size) {
  if (__builtin_expect(CurrentThread().sampler.TryRecordAllocationFast(size), 1)) return g_real.malloc(size);
  return AllocateSlow(size);
}

void* AllocateAligned(size_t alignment, size_t size) {
  if (!RealReady()) return PoolAllocate(size, alignment);
  void* block = nullptr;
  // posix_memalign wants a multiple of sizeof(void*).
  if (alignment < sizeof(void*)) alignment = sizeof(void*);
  if (g_real.posix_memalign(&block, alignment, size) != 0) block = nullptr;
  return RecordAllocation(block, size);
}

__attribute__((noinline)) void FreeSlow(void* block) {
  if (block == nullptr || IsBootstrapBlock(block)) return;
  if (!RealReady()) return;  // impossible outside the pool: nothing else was allocated yet
  if (ForgetBlock(block)) g_real.free(block);
}

// The hot path: the filter alone, then a tail call into the real free for
// a block that was not sampled (the common case). Bootstrap blocks are
// pinned in the filter and so always take the slow path; before g_real is
// resolved, g_free_unsampled resolves it. free(NULL) takes either path;
// both are no-ops for it.
__attribute__((always_inline)) inline void Free(void* block) {
  if (__builtin_expect(!g_sampled_blocks.MayContain(reinterpret_cast<uintptr_t>(block)), 1)) {
    return __atomic_load_n(&g_free_unsampled, __ATOMIC_RELAXED)(block);
  }
  FreeSlow(block);
}

// realloc and reallocarray. `count` is 1 for realloc.
void* Reallocate(void* block, size_t count, size_t size) {
  size_t total;
  if (__builtin_mul_overflow(count, size, &total)) {
    errno = ENOMEM;
    return nullptr;
  }
  if (!RealReady() || (block != nullptr && IsBootstrapBlock(block))) {
    // Moving a bootstrap block out (or growing one during resolution).
    if (block != nullptr && total == 0) return nullptr;
    void* moved = RealReady() ? Allocate(total) : PoolAllocate(total, 16);
    if (moved != nullptr && block != nullptr) {
      size_t old_size = BootstrapBlockSize(block);
      memcpy(moved, block, old_size < total ? old_size : total);
    }
    return moved;
  }
  SampledBlock saved;
  bool had_record = block != nullptr && TakeBlockRecord(block, &saved);
  // Always the real realloc, with the product checked above: glibc's
  // reallocarray calls realloc through the PLT, i.e. our hook, which would
  // record the allocation twice.
  void* result = g_real.realloc(block, total);
  if (result == nullptr) {
    // realloc(p, 0) freed p (glibc); any other null leaves p as it was.
    if (had_record && !(block != nullptr && total == 0)) RestoreBlockRecord(saved);
    return nullptr;
  }
  return RecordAllocation(result, total);
}

// The next operator new of `Fn`'s shape, looked up only when malloc failed.
template <typename Fn>
Fn NextOperator(const char* mangled_name) {
  Fn next = reinterpret_cast<Fn>(FindNextSymbol(mangled_name));
  if (next == nullptr) abort();  // operator new called with no C++ runtime loaded
  return next;
}

void* New(size_t size, const char* next_name) {
  if (void* block = Allocate(size)) return block;
  return NextOperator<void* (*)(size_t)>(next_name)(size);
}

void* NewNothrow(size_t size, const std::nothrow_t& tag, const char* next_name) {
  if (void* block = Allocate(size)) return block;
  return NextOperator<void* (*)(size_t, const std::nothrow_t&)>(next_name)(size, tag);
}

void* NewAligned(size_t size, std::align_val_t alignment, const char* next_name) {
  if (void* block = AllocateAligned(static_cast<size_t>(alignment), size)) return block;
  return NextOperator<void* (*)(size_t, std::align_val_t)>(next_name)(size, alignment);
}

void* NewAlignedNothrow(size_t size, std::align_val_t alignment, const std::nothrow_t& tag,
                        const char* next_name) {
  if (void* block = AllocateAligned(static_cast<size_t>(alignment), size)) return block;
  return NextOperator<void* (*)(size_t, std::align_val_t, const std::nothrow_t&)>(next_name)(size, alignment,
                                                                                             tag);
}

}  // namespace
}  // namespace heapwatch

using heapwatch::Allocate;
using heapwatch::AllocateAligned;
using heapwatch::Free;

HEAPWATCH_EXPORT void* malloc(size_t size) { return Allocate(size); }

HEAPWATCH_EXPORT void free(void* block) { Free(block); }

HEAPWATCH_EXPORT void* calloc(size_t count, size_t size) {
  using namespace heapwatch;
  size_t total;
  if (__builtin_mul_overflow(count, size, &total)) {
    errno = ENOMEM;
    return nullptr;
  }
  // The pool is static memory, zero and never reused.
  if (!RealReady()) return PoolAllocate(total, 16);
  return RecordAllocation(g_real.calloc(count, size), total);
}

HEAPWATCH_EXPORT void* realloc(void* block, size_t size) { return heapwatch::Reallocate(block, 1, size); }

HEAPWATCH_EXPORT void* reallocarray(void* block, size_t count, size_t size) {
  return heapwatch::Reallocate(block, count, size);
}

HEAPWATCH_EXPORT void* memalign(size_t alignment, size_t size) {
  using namespace heapwatch;
  if (!RealReady()) return PoolAllocate(size, alignment);
  return RecordAllocation(g_real.memalign(alignment, size), size);
}

HEAPWATCH_EXPORT void* aligned_alloc(size_t alignment, size_t size) {
  using namespace heapwatch;
  if (!RealReady()) return PoolAllocate(size, alignment);
  return RecordAllocation(g_real.aligned_alloc(alignment, size), size);
}

HEAPWATCH_EXPORT int posix_memalign(void** result, size_t alignment, size_t size) {
  using namespace heapwatch;
  if (!RealReady()) {
    *result = PoolAllocate(size, alignment);
    return *result != nullptr ? 0 : ENOMEM;
  }
  int status = g_real.posix_memalign(result, alignment, size);
  if (status == 0) RecordAllocation(*result, size);
  return status;
}

HEAPWATCH_EXPORT void* valloc(size_t size) {
  using namespace heapwatch;
  if (!RealReady()) return PoolAllocate(size, 4096);
  return RecordAllocation(g_real.valloc(size), size);
}

HEAPWATCH_EXPORT void* pvalloc(size_t size) {
  using namespace heapwatch;
  if (!RealReady()) return PoolAllocate(size, 4096);
  return RecordAllocation(g_real.pvalloc(size), size);
}

HEAPWATCH_EXPORT size_t malloc_usable_size(void* block) {
  using namespace heapwatch;
  if (block == nullptr) return 0;
  if (IsBootstrapBlock(block)) return BootstrapBlockSize(block);
  if (!RealReady()) return 0;
  return g_real.malloc_usable_size(block);
}

// operator new and delete, every form. The string is the next definition to
// defer to when malloc fails (x86-64 Itanium mangling).

HEAPWATCH_EXPORT_CXX void* operator new(size_t size) { return heapwatch::New(size, "_Znwm"); }
HEAPWATCH_EXPORT_CXX void* operator new[](size_t size) { return heapwatch::New(size, "_Znam"); }
HEAPWATCH_EXPORT_CXX void* operator new(size_t size, const std::nothrow_t& tag) noexcept {
  return heapwatch::NewNothrow(size, tag, "_ZnwmRKSt9nothrow_t");
}
HEAPWATCH_EXPORT_CXX void* operator new[](size_t size, const std::nothrow_t& tag) noexcept {
  return heapwatch::NewNothrow(size, tag, "_ZnamRKSt9nothrow_t");
}
HEAPWATCH_EXPORT_CXX void* operator new(size_t size, std::align_val_t alignment) {
  return heapwatch::NewAligned(size, alignment, "_ZnwmSt11align_val_t");
}
HEAPWATCH_EXPORT_CXX void* operator new[](size_t size, std::align_val_t alignment) {
  return heapwatch::NewAligned(size, alignment, "_ZnamSt11align_val_t");
}
HEAPWATCH_EXPORT_CXX void* operator new(size_t size, std::align_val_t alignment,
                                        const std::nothrow_t& tag) noexcept {
  return heapwatch::NewAlignedNothrow(size, alignment, tag, "_ZnwmSt11align_val_tRKSt9nothrow_t");
}
HEAPWATCH_EXPORT_CXX void* operator new[](size_t size, std::align_val_t alignment,
                                          const std::nothrow_t& tag) noexcept {
  return heapwatch::NewAlignedNothrow(size, alignment, tag, "_ZnamSt11align_val_tRKSt9nothrow_t");
}

HEAPWATCH_EXPORT_CXX void operator delete(void* block) noexcept { Free(block); }
HEAPWATCH_EXPORT_CXX void operator delete[](void* block) noexcept { Free(block); }
HEAPWATCH_EXPORT_CXX void operator delete(void* block, const std::nothrow_t&) noexcept { Free(block); }
HEAPWATCH_EXPORT_CXX void operator delete[](void* block, const std::nothrow_t&) noexcept { Free(block); }
HEAPWATCH_EXPORT_CXX void operator delete(void* block, size_t) noexcept { Free(block); }
HEAPWATCH_EXPORT_CXX void operator delete[](void* block, size_t) noexcept { Free(block); }
HEAPWATCH_EXPORT_CXX void operator delete(void* block, std::align_val_t) noexcept { Free(block); }
HEAPWATCH_EXPORT_CXX void operator delete[](void* block, std::align_val_t) noexcept { Free(block); }
HEAPWATCH_EXPORT_CXX void operator delete(void* block, size_t, std::align_val_t) noexcept { Free(block); }
HEAPWATCH_EXPORT_CXX void operator delete[](void* block, size_t, std::align_val_t) noexcept { Free(block); }
HEAPWATCH_EXPORT_CXX void operator delete(void* block, std::align_val_t, const std::nothrow_t&) noexcept {
  Free(block);
}
HEAPWATCH_EXPORT_CXX void operator delete[](void* block, std::align_val_t, const std::nothrow_t&) noexcept {
  Free(block);
}
