// exec_self first|second RUN_MS: the first image keeps blocks in KeepFirst,
// runs RUN_MS (writing periodic profiles), then exec()s itself as the second
// image in the same process (same pid), which keeps blocks in KeepSecond,
// runs RUN_MS and exits. Prints "pid <pid>".
#include <time.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "tests/programs/test_program.h"

NOINLINE void KeepFirst() { Escape(std::malloc(6001)); }
NOINLINE void KeepSecond() { Escape(std::malloc(6002)); }

NOINLINE void Serve(long milliseconds) {
  timespec start, now;
  clock_gettime(CLOCK_MONOTONIC, &start);
  do {
    for (int i = 0; i < 64; ++i) {
      void* p = std::malloc(4096);
      Escape(p);
      std::free(p);
    }
    usleep(1000);
    clock_gettime(CLOCK_MONOTONIC, &now);
  } while ((now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1'000'000 < milliseconds);
}

int main(int argc, char** argv) {
  EXPECT_OR_DIE(argc == 3);
  if (std::strcmp(argv[1], "first") == 0) {
    std::printf("pid %d\n", getpid());
    std::fflush(stdout);
    KeepFirst();
    Serve(std::atol(argv[2]));
    char second[] = "second";
    char* args[] = {argv[0], second, argv[2], nullptr};
    execv("/proc/self/exe", args);
    return 5;
  }
  KeepSecond();
  Serve(std::atol(argv[2]));
  return 0;
}
