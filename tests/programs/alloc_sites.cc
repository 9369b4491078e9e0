// Allocations with known sizes at known call sites, for exact checks at
// HEAPWATCH_RATE=1. Blocks kept live at exit stay in a global array.
#include "tests/programs/alloc_sites.h"

#include <cstdlib>
#include <thread>
#include <vector>

#include "tests/programs/test_program.h"

using namespace alloc_sites;

void* g_kept[kKeptCount + 1];

NOINLINE void KeepBlocks() {
  for (int i = 0; i < kKeptCount; ++i) g_kept[i] = std::malloc(kKeptSize);
}

NOINLINE void AllocateAndFree() {
  void* blocks[kFreedCount];
  for (int i = 0; i < kFreedCount; ++i) {
    blocks[i] = std::malloc(kFreedSize);
    Escape(blocks[i]);
  }
  for (int i = 0; i < kFreedCount; ++i) std::free(blocks[i]);
}

NOINLINE void AllocateInWorker(std::vector<void*>* out) {
  for (int i = 0; i < kCrossThreadCount; ++i) out->push_back(std::malloc(kCrossThreadSize));
}

NOINLINE void* ReuseAddresses() {
  void* last = nullptr;
  int reused = 0;
  for (int i = 0; i < kReuseRounds; ++i) {
    void* p = std::malloc(kReuseSize);
    Escape(p);
    if (p == last) ++reused;
    if (i + 1 < kReuseRounds) std::free(p);
    last = p;
  }
  EXPECT_OR_DIE(reused > 0);  // the test means nothing if addresses never repeat
  return last;
}

int main() {
  KeepBlocks();
  AllocateAndFree();
  std::vector<void*> from_worker;
  from_worker.reserve(kCrossThreadCount);  // the vector's own block is allocated here, in main
  std::thread worker(AllocateInWorker, &from_worker);
  worker.join();
  for (void* p : from_worker) std::free(p);
  g_kept[kKeptCount] = ReuseAddresses();
  return 0;
}
