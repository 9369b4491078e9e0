#include "preload/real_allocator.h"

#include <dlfcn.h>
#include <sched.h>
#include <stdlib.h>

#include <atomic>
#include <cstring>

#include "preload/diagnostics.h"

namespace heapwatch {

RealAllocator g_real = {};
alignas(64) char g_bootstrap_pool[kBootstrapPoolBytes];

namespace {

// g_free_unsampled before resolution. Nothing but the bootstrap pool has
// handed out memory yet (every allocation resolves first), so a block that
// reaches this is null or the pool's, unless a thread resolved meanwhile.
// (Not the hook's FreeSlow, which would do: this file is part of the core
// library that the unit tests link without the hooks.)
void FreeBeforeResolved(void* block) {
  if (block == nullptr || IsBootstrapBlock(block) || !ResolveRealAllocator()) return;
  g_real.free(block);
}

}  // namespace

void (*g_free_unsampled)(void*) = FreeBeforeResolved;

namespace {

enum : int { kUnresolved = 0, kResolving = 1, kResolved = 2 };
std::atomic<int> g_state{kUnresolved};
__thread bool t_resolving __attribute__((tls_model("initial-exec"))) = false;
std::atomic<size_t> g_bootstrap_used{0};

// Each bootstrap block is preceded by its size, for realloc and
// malloc_usable_size of a block that came from here.
struct BootstrapHeader {
  size_t size;
  size_t padding;
};
static_assert(sizeof(BootstrapHeader) == 16, "keeps blocks 16-byte aligned");

template <typename Fn>
void Resolve(Fn*& slot, const char* name, const char* fallback, bool required) {
  void* p = dlsym(RTLD_NEXT, name);
  // glibc also exports its allocator as __libc_*: a last resort if a
  // program's symbol lookup order hides the usual names from RTLD_NEXT.
  if (p == nullptr && fallback != nullptr) p = dlsym(RTLD_DEFAULT, fallback);
  if (p == nullptr && required) {
    WarnAlways("cannot find the real %s: this program cannot run under heapwatch", name);
    abort();
  }
  slot = reinterpret_cast<Fn*>(p);
}

}  // namespace

bool ResolveRealAllocator() {
  if (g_state.load(std::memory_order_acquire) == kResolved) return true;
  if (t_resolving) return false;  // dlsym called back into us
  int expected = kUnresolved;
  if (!g_state.compare_exchange_strong(expected, kResolving, std::memory_order_acq_rel)) {
    while (g_state.load(std::memory_order_acquire) != kResolved) sched_yield();
    return true;
  }
  t_resolving = true;
  RealAllocator real = {};
  Resolve(real.malloc, "malloc", "__libc_malloc", true);
  Resolve(real.calloc, "calloc", "__libc_calloc", true);
  Resolve(real.realloc, "realloc", "__libc_realloc", true);
  Resolve(real.memalign, "memalign", "__libc_memalign", true);
  Resolve(real.posix_memalign, "posix_memalign", nullptr, true);
  Resolve(real.aligned_alloc, "aligned_alloc", nullptr, true);
  Resolve(real.valloc, "valloc", "__libc_valloc", true);
  Resolve(real.pvalloc, "pvalloc", "__libc_pvalloc", true);
  Resolve(real.malloc_usable_size, "malloc_usable_size", nullptr, true);
  Resolve(real.free, "free", "__libc_free", true);
  // Publish free last: RealAllocatorReady() tests it (acquire).
  auto* free_function = real.free;
  real.free = nullptr;
  std::memcpy(&g_real, &real, sizeof(real));
  __atomic_store_n(&g_real.free, free_function, __ATOMIC_RELEASE);
  __atomic_store_n(&g_free_unsampled, free_function, __ATOMIC_RELEASE);
  t_resolving = false;
  g_state.store(kResolved, std::memory_order_release);
  return true;
}

void* FindNextSymbol(const char* symbol) { return dlsym(RTLD_NEXT, symbol); }

void* BootstrapAllocate(size_t size, size_t alignment) {
  if (alignment < 16) alignment = 16;
  for (;;) {
    size_t used = g_bootstrap_used.load(std::memory_order_relaxed);
    size_t start = (used + sizeof(BootstrapHeader) + alignment - 1) / alignment * alignment;
    if (start + size > kBootstrapPoolBytes || start + size < start) return nullptr;
    if (g_bootstrap_used.compare_exchange_weak(used, start + size, std::memory_order_relaxed)) {
      reinterpret_cast<BootstrapHeader*>(g_bootstrap_pool + start)[-1].size = size;
      return g_bootstrap_pool + start;
    }
  }
}

size_t BootstrapBlockSize(const void* block) { return static_cast<const BootstrapHeader*>(block)[-1].size; }

}  // namespace heapwatch
