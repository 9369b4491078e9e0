// Frees memory allocated before the profiler started (by a library
// constructor), then allocates and keeps its own.
#include <cstdlib>

#include "tests/programs/test_program.h"

extern "C" void FreeEarlyBlocks();

NOINLINE void KeepAfterStart() {
  for (int i = 0; i < 10; ++i) Escape(std::malloc(4444));
}

int main() {
  FreeEarlyBlocks();
  KeepAfterStart();
  return 0;
}
