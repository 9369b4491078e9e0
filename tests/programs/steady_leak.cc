// steady_leak MODE [MS]: a service loop (a tick every 10 ms, with churn)
// for MS milliseconds (default 2500), then exit 0.
//   leak      LeakOnTick keeps 32 KiB every tick
//   clean     the same allocations, freed
//   fail      leaks like `leak`, then exits 3 (a failing program)
//   daemon    clean, runs until SIGTERM (then exits 0)
//   stubborn  clean, ignores SIGTERM (only SIGKILL ends it)
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "tests/programs/test_program.h"

std::atomic<bool> g_stop{false};
std::vector<void*> g_kept;

NOINLINE void LeakOnTick() { g_kept.push_back(std::malloc(32 * 1024)); }
NOINLINE void WorkOnTick() {
  void* p = std::malloc(32 * 1024);
  Escape(p);
  std::free(p);
}
NOINLINE void Churn() {
  for (int i = 0; i < 32; ++i) {
    void* p = std::malloc(256 + i * 64);
    Escape(p);
    std::free(p);
  }
}

int main(int argc, char** argv) {
  EXPECT_OR_DIE(argc >= 2);
  const char* mode = argv[1];
  long milliseconds = argc > 2 ? std::atol(argv[2]) : 2500;
  bool leak = !std::strcmp(mode, "leak") || !std::strcmp(mode, "fail");
  bool forever = !std::strcmp(mode, "daemon") || !std::strcmp(mode, "stubborn");
  if (!std::strcmp(mode, "daemon")) signal(SIGTERM, [](int) { g_stop = true; });
  if (!std::strcmp(mode, "stubborn")) signal(SIGTERM, SIG_IGN);
  g_kept.reserve(100000);
  for (long tick = 0; !g_stop && (forever || tick * 10 < milliseconds); ++tick) {
    leak ? LeakOnTick() : WorkOnTick();
    Churn();
    usleep(10000);
  }
  return !std::strcmp(mode, "fail") ? 3 : 0;
}
