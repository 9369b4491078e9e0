// heap_layout: a fixed sequence of allocations, frees and reallocs from one
// thread, with pauses (so a profiler's timed work happens in between), then
// prints where each heap block landed, as an offset from the first, and the
// allocator's totals. A profiler that allocates nothing through the
// program's allocator leaves all of it unchanged.
#include <malloc.h>
#include <time.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "tests/programs/test_program.h"

namespace {

uint64_t state = 88172645463325252ull;
uint64_t Next() {
  state ^= state << 13;
  state ^= state >> 7;
  state ^= state << 17;
  return state;
}

void Pause() {
  timespec ts = {0, 20 * 1000 * 1000};
  nanosleep(&ts, nullptr);
}

}  // namespace

int main() {
  constexpr int kSlots = 512;
  static void* blocks[kSlots];
  char* first = static_cast<char*>(std::malloc(24));
  // Offsets of heap blocks (those between `first` and the break); blocks
  // glibc mmaps land among other mappings and only count.
  std::string log;
  log.reserve(1 << 20);
  auto note = [&](void* p) {
    char line[32];
    char* top = static_cast<char*>(sbrk(0));
    if (p >= first && p < top) {
      snprintf(line, sizeof(line), "%td\n", static_cast<char*>(p) - first);
    } else {
      snprintf(line, sizeof(line), "mmap\n");
    }
    log += line;
  };
  for (int round = 0; round < 12; ++round) {
    for (int i = 0; i < 4000; ++i) {
      int slot = static_cast<int>(Next() % kSlots);
      uint64_t r = Next();
      size_t size = r % 10 == 0 ? 1024 + r % 200000 : 8 + r % 600;
      if (blocks[slot] != nullptr && r % 3 == 0) {
        blocks[slot] = std::realloc(blocks[slot], size);
      } else {
        std::free(blocks[slot]);
        blocks[slot] = r % 7 == 0 ? std::calloc(1, size) : std::malloc(size);
      }
      std::memset(blocks[slot], 1, size);
      note(blocks[slot]);
    }
    Pause();
  }
  for (void*& block : blocks) {
    std::free(block);
    block = nullptr;
  }
  std::free(first);
  struct mallinfo2 info = mallinfo2();
  std::fputs(log.c_str(), stdout);
  std::printf("arena %zu in use %zu free %zu top %zu mmapped %zu\n", info.arena, info.uordblks, info.fordblks,
              info.keepcost, info.hblkhd);
  return 0;
}
