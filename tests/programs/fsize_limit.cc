// Runs with RLIMIT_FSIZE so small that no profile fits: the profiler's
// write fails (and would raise SIGXFSZ, whose default action kills). The
// program must carry on and exit normally.
#include <sys/resource.h>

#include <cstdio>
#include <cstdlib>

#include "tests/programs/test_program.h"

NOINLINE void Work() {
  for (int i = 0; i < 20000; ++i) Escape(std::malloc(100));
}

int main() {
  rlimit limit = {64, 64};
  EXPECT_OR_DIE(setrlimit(RLIMIT_FSIZE, &limit) == 0);
  Work();
  std::puts("finished");
  return 0;
}
