// Helpers for the programs the end-to-end tests run under the preload.

#ifndef HEAPWATCH_TESTS_PROGRAMS_TEST_PROGRAM_H_
#define HEAPWATCH_TESTS_PROGRAMS_TEST_PROGRAM_H_

#include <time.h>
#include <unistd.h>

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

// Works like a service for `milliseconds`: every millisecond, allocates and
// frees `blocks` blocks of `size` bytes, so the profiler samples (and writes
// its periodic profiles) while the program runs.
NOINLINE inline void ServeFor(long milliseconds, int blocks = 256, size_t size = 4096) {
  timespec start, now;
  clock_gettime(CLOCK_MONOTONIC, &start);
  do {
    for (int i = 0; i < blocks; ++i) {
      void* p = std::malloc(size);
      Escape(p);
      std::free(p);
    }
    usleep(1000);
    clock_gettime(CLOCK_MONOTONIC, &now);
  } while ((now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1'000'000 < milliseconds);
}

#endif  // HEAPWATCH_TESTS_PROGRAMS_TEST_PROGRAM_H_
