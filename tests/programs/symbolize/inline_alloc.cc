// The executable of the symbolization tests, built twice with -g -O2: as a
// PIE (symbolize_pie) and as a non-PIE executable (symbolize_nopie).
//
// Buffers::Make allocates through two always-inline levels, so the malloc
// call inside it carries an inline chain
//   RawAllocate (innermost) <- MakeBuffer<int> <- Buffers::Make (outermost),
// and it calls into libsymbolize_shapes.so. The tests find the malloc call by
// disassembling Buffers::Make; nothing here needs to run.

#include <cstdio>
#include <cstdlib>

#include "shapes.h"

namespace demo {

__attribute__((always_inline)) inline void* RawAllocate(size_t bytes) {
  void* block = std::malloc(bytes);
  if (!block) std::abort();  // work after the call: the call is not a tail call
  return block;
}

template <typename T>
__attribute__((always_inline)) inline T* MakeBuffer(size_t count) {
  T* buffer = static_cast<T*>(RawAllocate(count * sizeof(T)));
  buffer[0] = T{};
  return buffer;
}

struct Buffers {
  __attribute__((noinline)) static int* Make(size_t count);
};

int* Buffers::Make(size_t count) {
  int* buffer = MakeBuffer<int>(count);
  buffer[count - 1] = 1;
  return buffer;
}

}  // namespace demo

int main(int argc, char**) {
  int* buffer = demo::Buffers::Make(static_cast<size_t>(argc) * 16);
  shapes::Grid* grid = shapes::MakeGrid(argc * 4, 4);
  std::printf("%d %d\n", buffer[0], grid ? grid->width : 0);
  return 0;
}
