// fork_in_handler MS: a single-threaded program whose timer signal handler
// forks (the child exits at once; the handler reaps it), every 200 µs, while
// the main thread allocates for MS milliseconds. fork() is async-signal-safe
// and preforking servers call it from handlers. Under the profiler the main
// thread often holds the profiler's locks (it does the collector's work
// itself): a handler that forks there must not find them held. Prints
// "forks <n>".
#include <signal.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>

#include "tests/programs/test_program.h"

std::atomic<long> g_forks{0};

void OnTimer(int) {
  pid_t child = fork();
  if (child == 0) _exit(0);
  if (child > 0) {
    int status;
    waitpid(child, &status, 0);
    g_forks.fetch_add(1, std::memory_order_relaxed);
  }
}

int main(int argc, char** argv) {
  EXPECT_OR_DIE(argc == 2);
  struct sigaction action = {};
  action.sa_handler = OnTimer;
  action.sa_flags = SA_RESTART;
  sigemptyset(&action.sa_mask);
  EXPECT_OR_DIE(sigaction(SIGALRM, &action, nullptr) == 0);
  itimerval every = {{0, 200}, {0, 200}};
  EXPECT_OR_DIE(setitimer(ITIMER_REAL, &every, nullptr) == 0);
  ServeFor(std::atol(argv[1]), 64, 1024);
  itimerval off = {};
  setitimer(ITIMER_REAL, &off, nullptr);
  std::printf("forks %ld\n", g_forks.load());
  return 0;
}
