// Microbenchmarks of the allocation paths heapwatch interposes. Run the same
// binary without and with LD_PRELOAD (tools/bench/run.sh runs it plain, under
// the bare pass-through preload and under libheapwatch.so at several rates,
// interleaved, and compares) and read ns per operation.
//
// Every benchmark reports items_per_second, one item being one operation
// (a malloc+free pair, a new+delete pair, a realloc). Threaded variants use
// real time, so items_per_second is the aggregate throughput of all threads
// together: on a 2-core machine, 8 threads measure contention and
// oversubscription, not parallel speed-up.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

namespace {

// A pair of malloc and free at sizes drawn from [min, max]: the common case
// of short-lived blocks. Sizes come from a precomputed table (per thread) so
// the random draw is not what we measure.
void MallocFreePair(benchmark::State& state) {
  const size_t min = state.range(0), max = state.range(1);
  std::vector<size_t> sizes(4096);
  uint64_t x = 88172645463325252ull + static_cast<uint64_t>(state.thread_index());
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
// 16-512 B is the figure the targets and the other tools' anchors
// use; the others show small-only, medium and large (sampled far more often
// at the default rate: 1 - exp(-36 KiB / 512 KiB) is ~7%).
BENCHMARK(MallocFreePair)
    ->ArgNames({"min", "max"})
    ->Args({16, 128})
    ->Args({16, 512})
    ->Args({512, 4096})
    ->Args({4096, 65536})
    ->Threads(1)
    ->Threads(2)
    ->Threads(8)
    ->UseRealTime();

// operator new/delete of a small object (a std::string with a 48-byte
// buffer: two new/delete pairs' worth of work is one std::string here, one
// for the object and one for its buffer).
void NewDelete(benchmark::State& state) {
  for (auto _ : state) {
    auto* p = new std::string(48, 'x');
    benchmark::DoNotOptimize(p);
    delete p;
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(NewDelete)->Threads(1)->Threads(8)->UseRealTime();

// Growing a buffer with realloc from 64 B to 1 MiB, then freeing it: 14
// reallocs per round, the large ones moving (or mremap-ing) the block.
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
BENCHMARK(ReallocGrowth)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
