// Helpers for the programs the end-to-end tests run under the preload.

#ifndef HEAPWATCH_TESTS_PROGRAMS_TEST_PROGRAM_H_
#define HEAPWATCH_TESTS_PROGRAMS_TEST_PROGRAM_H_

#include <cstdio>
#include <cstdlib>

// Makes `p` observable so the compiler cannot drop an allocation (GCC
// removes malloc/free and new/delete pairs whose result is unused).
inline void Escape(void* p) { asm volatile("" : : "g"(p) : "memory"); }

// A self-check: on failure the program says what and exits 3, so the test
// reports a broken C/C++ contract rather than a wrong number.
#define EXPECT_OR_DIE(condition)                                                   \
  do {                                                                             \
    if (!(condition)) {                                                            \
      std::fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #condition); \
      std::exit(3);                                                                \
    }                                                                              \
  } while (0)

#define NOINLINE __attribute__((noinline))

#endif  // HEAPWATCH_TESTS_PROGRAMS_TEST_PROGRAM_H_
