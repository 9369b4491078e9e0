// A timer signal every 50 µs whose handler frees and allocates, while the
// main thread allocates and frees without pause (at HEAPWATCH_RATE=1 every
// one of those goes through the profiler's locks). The handler often lands
// inside the profiler's own code; it must neither deadlock nor lose a free.
//
// The handler uses one size class that nothing else uses, so glibc serves it
// from this thread's tcache and never takes an arena lock the interrupted
// code might hold (that would be glibc's deadlock, not ours).
#include <signal.h>
#include <time.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>

#include "tests/programs/test_program.h"

constexpr int kPool = 8;
constexpr size_t kHandlerSize = 200;
void* volatile g_pool[kPool];
std::atomic<long> g_handled{0};

NOINLINE void* HandlerAllocate() { return std::malloc(kHandlerSize); }

void OnTimer(int) {
  long n = g_handled.fetch_add(1, std::memory_order_relaxed);
  int i = static_cast<int>(n % kPool);
  std::free(g_pool[i]);
  g_pool[i] = HandlerAllocate();
}

NOINLINE void MainChurn(double seconds) {
  timespec start, now;
  clock_gettime(CLOCK_MONOTONIC, &start);
  do {
    for (int i = 0; i < 256; ++i) {
      void* p = std::malloc(48 + (i & 31));
      Escape(p);
      std::free(p);
    }
    clock_gettime(CLOCK_MONOTONIC, &now);
  } while ((now.tv_sec - start.tv_sec) + (now.tv_nsec - start.tv_nsec) * 1e-9 < seconds);
}

int main(int argc, char** argv) {
  double seconds = argc > 1 ? std::atof(argv[1]) : 2.0;
  for (int i = 0; i < kPool; ++i) g_pool[i] = HandlerAllocate();
  struct sigaction action = {};
  action.sa_handler = OnTimer;
  action.sa_flags = SA_RESTART;
  sigaction(SIGALRM, &action, nullptr);
  timer_t timer;
  sigevent event = {};
  event.sigev_notify = SIGEV_SIGNAL;
  event.sigev_signo = SIGALRM;
  EXPECT_OR_DIE(timer_create(CLOCK_MONOTONIC, &event, &timer) == 0);
  itimerspec period = {{0, 50'000}, {0, 50'000}};
  timer_settime(timer, 0, &period, nullptr);
  MainChurn(seconds);
  timer_delete(timer);
  signal(SIGALRM, SIG_IGN);
  std::printf("handled %ld\n", g_handled.load());
  return 0;
}
