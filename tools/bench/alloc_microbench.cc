// Microbenchmarks of the allocation paths heapwatch interposes. Run the same
// binary without and with LD_PRELOAD=libheapwatch.so (tools/bench/run.sh does
// both, side by side) and compare ns per operation.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <cstring>
#include <thread>
#include <vector>

namespace {

// A pair of malloc and free at sizes drawn from [min, max]: the common case
// of short-lived small blocks. Sizes come from a precomputed table so the
// random draw is not what we measure.
void MallocFreePair(benchmark::State& state) {
  const size_t min = state.range(0), max = state.range(1);
  std::vector<size_t> sizes(4096);
  uint64_t x = 88172645463325252ull;
  for (size_t& s : sizes) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    s = min + x % (max - min + 1);
  }
  size_t i = 0;
  for (auto _ : state) {
    void* p = std::malloc(sizes[i++ & 4095]);
    benchmark::DoNotOptimize(p);
    std::free(p);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(MallocFreePair)->Args({16, 16})->Args({16, 512})->Args({512, 4096})->Threads(1)->Threads(2)->Threads(8);

// operator new/delete of a small object.
void NewDelete(benchmark::State& state) {
  for (auto _ : state) {
    auto* p = new std::string(48, 'x');
    benchmark::DoNotOptimize(p);
    delete p;
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(NewDelete)->Threads(1)->Threads(8);

// Growing a buffer with realloc up to 1 MiB, then freeing it.
void ReallocGrowth(benchmark::State& state) {
  for (auto _ : state) {
    size_t size = 64;
    void* p = std::malloc(size);
    while (size < (1 << 20)) {
      size *= 2;
      p = std::realloc(p, size);
      benchmark::DoNotOptimize(p);
    }
    std::free(p);
  }
  state.SetItemsProcessed(state.iterations() * 14);  // 14 reallocs per round
}
BENCHMARK(ReallocGrowth);

}  // namespace

BENCHMARK_MAIN();
