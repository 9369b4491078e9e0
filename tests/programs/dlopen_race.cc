// dlopen_race PLUGIN: two threads dlopen and dlclose PLUGIN in a loop while
// two threads allocate (every allocation sampled at HEAPWATCH_RATE=1, so the
// profiler unwinds, which reads the loader's object list) — for 2 seconds.
// A deadlock between the loader's lock and the profiler would hang it.
#include <dlfcn.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <thread>
#include <vector>

#include "tests/programs/test_program.h"

int main(int argc, char** argv) {
  EXPECT_OR_DIE(argc == 2);
  std::atomic<bool> stop{false};
  std::atomic<long> loads{0}, allocations{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 2; ++t) {
    threads.emplace_back([&] {
      while (!stop.load()) {
        void* handle = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
        EXPECT_OR_DIE(handle != nullptr);
        auto leak = reinterpret_cast<void (*)(int)>(dlsym(handle, "PluginLeak"));
        leak(2);
        dlclose(handle);
        loads.fetch_add(1);
      }
    });
    threads.emplace_back([&] {
      while (!stop.load()) {
        void* p = std::malloc(128);
        Escape(p);
        std::free(p);
        allocations.fetch_add(1);
      }
    });
  }
  std::this_thread::sleep_for(std::chrono::seconds(2));
  stop = true;
  for (std::thread& t : threads) t.join();
  EXPECT_OR_DIE(loads.load() > 10 && allocations.load() > 1000);
  return 0;
}
