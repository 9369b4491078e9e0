/* libbench_passthrough.so: the cheapest possible LD_PRELOAD allocator shim,
 * for benchmarks only.
 *
 * It interposes malloc, free, calloc and realloc and forwards each call to
 * the next definition (glibc's) through a pointer resolved once with
 * dlsym(RTLD_NEXT). Running a program under it measures what interposition
 * alone costs (the extra PLT hop and indirect call), so the benchmark report
 * can split heapwatch's overhead into "interposition" and "ours".
 *
 * Not for profiling anything, and not a model for a real shim: it does not
 * handle the aligned allocation functions or operator new (libstdc++'s
 * operator new calls malloc, so it still lands here).
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stddef.h>
#include <stdlib.h>

static void* (*next_malloc)(size_t);
static void (*next_free)(void*);
static void* (*next_calloc)(size_t, size_t);
static void* (*next_realloc)(void*, size_t);

/* dlsym may call calloc before next_calloc is known: serve that from a
 * static, zeroed pool whose blocks are never freed. 4 KiB is ample (glibc's
 * dlsym asks for one small dlerror buffer). */
static _Alignas(16) char bootstrap_pool[4096];
static size_t bootstrap_used;
static int resolving;

static int in_pool(const void* p) {
  return (const char*)p >= bootstrap_pool && (const char*)p < bootstrap_pool + sizeof(bootstrap_pool);
}

static void* bootstrap_allocate(size_t size) {
  size_t start = (bootstrap_used + 15) & ~(size_t)15;
  if (start + size > sizeof(bootstrap_pool)) return NULL;
  bootstrap_used = start + size;
  return bootstrap_pool + start;
}

/* Single-threaded in practice: the first allocation happens while the
 * loader runs constructors, before any thread of the program exists. */
static void resolve(void) {
  resolving = 1;
  next_malloc = (void* (*)(size_t))dlsym(RTLD_NEXT, "malloc");
  next_free = (void (*)(void*))dlsym(RTLD_NEXT, "free");
  next_calloc = (void* (*)(size_t, size_t))dlsym(RTLD_NEXT, "calloc");
  next_realloc = (void* (*)(void*, size_t))dlsym(RTLD_NEXT, "realloc");
  resolving = 0;
  if (!next_malloc || !next_free || !next_calloc || !next_realloc) abort();
}

void* malloc(size_t size) {
  if (__builtin_expect(next_malloc == NULL, 0)) {
    if (resolving) return bootstrap_allocate(size);
    resolve();
  }
  return next_malloc(size);
}

void free(void* p) {
  if (p == NULL || in_pool(p)) return;
  if (__builtin_expect(next_free == NULL, 0)) resolve();
  next_free(p);
}

void* calloc(size_t count, size_t size) {
  if (__builtin_expect(next_calloc == NULL, 0)) {
    if (resolving) {
      size_t total;
      if (__builtin_mul_overflow(count, size, &total)) return NULL;
      return bootstrap_allocate(total);
    }
    resolve();
  }
  return next_calloc(count, size);
}

void* realloc(void* p, size_t size) {
  if (__builtin_expect(next_realloc == NULL, 0)) resolve();
  if (in_pool(p)) {
    /* Never happens with glibc's dlsym; kept so a pool block cannot reach
     * the real realloc. The old size is unknown: copy what fits. */
    void* moved = next_malloc(size);
    if (moved != NULL) {
      size_t room = (size_t)(bootstrap_pool + sizeof(bootstrap_pool) - (char*)p);
      __builtin_memcpy(moved, p, room < size ? room : size);
    }
    return moved;
  }
  return next_realloc(p, size);
}
