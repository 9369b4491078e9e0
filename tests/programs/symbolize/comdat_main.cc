// The executable of the COMDAT symbolization test (see comdat_gather.h),
// linked twice: with comdat_direct.cc first (Gather calls malloc directly)
// and with comdat_via_allocate.cc first (through the inlined Allocate).
#include <cstdio>

int* GatherDirect(int count);
int* GatherViaAllocate(int count);

int main(int argc, char**) {
  std::printf("%d\n", GatherDirect(argc)[0] + GatherViaAllocate(argc)[0]);
  return 0;
}
