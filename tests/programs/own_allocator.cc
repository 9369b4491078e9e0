// own_allocator: a program that allocates from a pool of its own, carved
// out of mmap'd chunks, and grows it by 4 MiB every 100 ms for 2.4 s (96 MiB
// in all) while its malloc use stays flat. heapwatch cannot see such memory;
// it must say so instead of passing in silence.
#include <sys/mman.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

#include "tests/programs/test_program.h"

NOINLINE void* GrowPool(size_t bytes) {
  void* chunk = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  EXPECT_OR_DIE(chunk != MAP_FAILED);
  std::memset(chunk, 1, bytes);  // resident
  return chunk;
}

NOINLINE void ServeWithMalloc() {
  for (int i = 0; i < 64; ++i) {
    void* p = std::malloc(1024);
    Escape(p);
    std::free(p);
  }
}

int main() {
  for (int tick = 0; tick < 24; ++tick) {
    Escape(GrowPool(4 << 20));
    ServeWithMalloc();
    usleep(100000);
  }
  return 0;
}
