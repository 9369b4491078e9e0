// A library the program depends on, whose constructor allocates: with
// LD_PRELOAD it may run before the profiler's constructor. Some of those
// blocks are freed later by the program, some kept.
#include <cstdlib>

#include "tests/programs/test_program.h"

void* g_early_kept[4];
void* g_early_to_free[16];

__attribute__((constructor)) static void AllocateEarly() {
  for (void*& p : g_early_kept) p = std::malloc(3333);
  for (void*& p : g_early_to_free) p = std::malloc(64 + 16 * (&p - g_early_to_free));
}

extern "C" void FreeEarlyBlocks() {
  for (void*& p : g_early_to_free) {
    // realloc first for half of them: a block we never saw, moved by realloc.
    if ((&p - g_early_to_free) % 2 == 0) p = std::realloc(p, 5000);
    std::free(p);
  }
}
