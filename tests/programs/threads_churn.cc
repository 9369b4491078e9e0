// Starts and ends many threads (argv[1], default 1000), each allocating one
// kept block in ThreadBody; at most 50 run at a time.
#include <cstdlib>
#include <thread>
#include <vector>

#include "tests/programs/test_program.h"

constexpr size_t kThreadBlock = 4321;
std::vector<void*> g_kept;

NOINLINE void ThreadBody(int index) { g_kept[index] = std::malloc(kThreadBlock); }

int main(int argc, char** argv) {
  int threads = argc > 1 ? std::atoi(argv[1]) : 1000;
  g_kept.resize(threads);
  for (int started = 0; started < threads;) {
    std::vector<std::thread> batch;
    for (int i = 0; i < 50 && started < threads; ++i) batch.emplace_back(ThreadBody, started++);
    for (std::thread& t : batch) t.join();
  }
  for (void* p : g_kept) EXPECT_OR_DIE(p != nullptr);
  return 0;
}
