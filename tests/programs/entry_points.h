// What entry_points allocates: one function per entry point of the
// allocation family, each keeping one block of a size no other uses, so the
// test can check that each is recorded exactly once with the requested size.
#ifndef HEAPWATCH_TESTS_PROGRAMS_ENTRY_POINTS_H_
#define HEAPWATCH_TESTS_PROGRAMS_ENTRY_POINTS_H_

namespace entry_points {

struct KeptSite {
  const char* function;
  long bytes;
};

inline constexpr KeptSite kKeptSites[] = {
    {"ViaMalloc", 1001},
    {"ViaCalloc", 10 * 101},
    {"ViaRealloc", 2020},         // grown from a 1020-byte malloc in the same function
    {"ViaReallocNull", 1025},     // realloc(NULL, n)
    {"ViaReallocarray", 3 * 341},
    {"ViaMemalign", 1030},
    {"ViaPosixMemalign", 1040},
    {"ViaAlignedAlloc", 1088},    // a multiple of the alignment, as C11 asks
    {"ViaValloc", 1050},
    {"ViaPvalloc", 1060},         // requested size; pvalloc rounds up underneath
    {"ViaNew", 1070},
    {"ViaNewArray", 1080},
    {"ViaNewNothrow", 1090},
    {"ViaNewArrayNothrow", 1100},
    {"ViaNewAligned", 1110},
    {"ViaNewArrayAligned", 1120},
    {"ViaNewAlignedNothrow", 1130},
    {"ViaNewArrayAlignedNothrow", 1140},
};

// Functions that allocate and free through one form each; nothing of theirs
// is in use at exit.
inline constexpr KeptSite kFreedSites[] = {
    {"FreeViaDelete", 2001},
    {"FreeViaDeleteArray", 2002},
    {"FreeViaSizedDelete", 2003},
    {"FreeViaSizedDeleteArray", 2004},
    {"FreeViaAlignedDelete", 2005},
    {"FreeViaAlignedDeleteArray", 2006},
    {"FreeViaSizedAlignedDelete", 2007},
    {"FreeViaSizedAlignedDeleteArray", 2008},
    {"FreeViaNothrowDelete", 2009},
    {"FreeViaAlignedNothrowDelete", 2010},
    {"FreeViaReallocZero", 2011},  // realloc(p, 0) frees p
    {"FreeViaFree", 2012},
};

}  // namespace entry_points

#endif  // HEAPWATCH_TESTS_PROGRAMS_ENTRY_POINTS_H_
