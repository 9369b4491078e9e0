// exec_self first|second RUN_MS: the first image keeps blocks in KeepFirst,
// runs RUN_MS (writing periodic profiles), then exec()s itself as the second
// image in the same process (same pid), which keeps blocks in KeepSecond,
// runs RUN_MS and exits. Prints "pid <pid>".
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "tests/programs/test_program.h"

NOINLINE void KeepFirst() { Escape(std::malloc(6001)); }
NOINLINE void KeepSecond() { Escape(std::malloc(6002)); }

int main(int argc, char** argv) {
  EXPECT_OR_DIE(argc == 3);
  if (std::strcmp(argv[1], "first") == 0) {
    std::printf("pid %d\n", getpid());
    std::fflush(stdout);
    KeepFirst();
    ServeFor(std::atol(argv[2]), 64);
    char second[] = "second";
    char* args[] = {argv[0], second, argv[2], nullptr};
    execv("/proc/self/exe", args);
    return 5;
  }
  KeepSecond();
  ServeFor(std::atol(argv[2]), 64);
  return 0;
}
