// small_stack MS KIB: works like a service for MS milliseconds on a
// coroutine (makecontext) with a stack of KIB KiB, as programs with green
// threads, fibers or small thread stacks do; prints "done". It allocates in
// a function whose symbol takes hundreds of KiB of stack to demangle (a
// template argument of 900 nested pointer types). The profiler's work that
// runs inside malloc, which names that function, must not use the
// program's stack for it.
#include <time.h>
#include <ucontext.h>

#include <cstdio>
#include <cstdlib>
#include <vector>

#include "tests/programs/test_program.h"

template <int N>
struct Pointers {
  using type = typename Pointers<N - 1>::type*;
};
template <>
struct Pointers<0> {
  using type = int;
};

template <typename T>
NOINLINE void AllocateWithADeepName() {
  for (int i = 0; i < 64; ++i) {
    void* p = std::malloc(sizeof(T) * 128);
    Escape(p);
    std::free(p);
  }
}

ucontext_t g_main, g_coroutine;
long g_milliseconds = 0;

void Coroutine() {
  timespec start, now;
  clock_gettime(CLOCK_MONOTONIC, &start);
  do {
    AllocateWithADeepName<Pointers<900>::type>();
    clock_gettime(CLOCK_MONOTONIC, &now);
  } while ((now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1'000'000 < g_milliseconds);
}

int main(int argc, char** argv) {
  EXPECT_OR_DIE(argc == 3);
  g_milliseconds = std::atol(argv[1]);
  std::vector<char> stack(static_cast<size_t>(std::atol(argv[2])) * 1024);
  EXPECT_OR_DIE(getcontext(&g_coroutine) == 0);
  g_coroutine.uc_stack.ss_sp = stack.data();
  g_coroutine.uc_stack.ss_size = stack.size();
  g_coroutine.uc_link = &g_main;
  makecontext(&g_coroutine, Coroutine, 0);
  EXPECT_OR_DIE(swapcontext(&g_main, &g_coroutine) == 0);
  std::printf("done\n");
  return 0;
}
