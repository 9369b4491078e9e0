// A COMDAT function (an inline function emitted out of line by every
// translation unit that uses it) whose copies differ in their debug info:
// compiled with COMDAT_GATHER_VIA_ALLOCATE, Gather reaches malloc through the
// inlined Allocate; without, it calls malloc itself. The machine code is the
// same, so the copies have the same size and GNU ld points the discarded
// copy's DWARF (its unit's ranges, line rows and inlined instances) at the
// kept copy's addresses: two compile units then claim one address and only
// the first in .debug_info (the kept copy's, the first in link order)
// describes the code. See tests/unit/symbolize_test.cc.

#ifndef HEAPWATCH_TESTS_PROGRAMS_SYMBOLIZE_COMDAT_GATHER_H_
#define HEAPWATCH_TESTS_PROGRAMS_SYMBOLIZE_COMDAT_GATHER_H_

#include <cstdlib>

inline void* Allocate(int count) { return std::malloc(count * 3); }

__attribute__((noinline)) inline int* Gather(int count) {
#ifdef COMDAT_GATHER_VIA_ALLOCATE
  int* values = static_cast<int*>(Allocate(count));
#else
  int* values = static_cast<int*>(std::malloc(count * 3));
#endif
  values[0] = count;  // work after the call: the call is not a tail call
  return values;
}

#endif  // HEAPWATCH_TESTS_PROGRAMS_SYMBOLIZE_COMDAT_GATHER_H_
