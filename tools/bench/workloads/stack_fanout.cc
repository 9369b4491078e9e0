// stack_fanout: allocates from N distinct call stacks and times
// heapwatch_dump(), for the snapshot-cost part of the benchmark.
//
//   HEAPWATCH_RATE=1 LD_PRELOAD=libheapwatch.so stack_fanout N
//
// Stack i (0 <= i < N) is a chain of kLevels calls chosen by the bits of i:
// Descend calls Left or Right for each bit, both of which call Descend
// again, so the return addresses differ and every i has its own stack
// (which also makes the stacks as deep as a real program's, kLevels + main).
// One 32-byte block is allocated and kept at each leaf, so a profile holds N
// sampled stacks with one live block each. The stacks share their few
// distinct frames: this measures stack count, not symbol count.
//
// Then heapwatch_dump() (found with dlsym, so the program also runs without
// the preload) is timed. Each call returns when the collector thread has
// written the profile:
//  - dump1: the first, which also loads symbol tables and interns every
//    location; dump2: the steady-state cost. Each comes after a pause, so
//    the collector is idle when asked, as it is for a program that dumps
//    now and then;
//  - then kBurst dumps back to back, of which the slowest is reported: a
//    request that arrives while the collector is busy must not wait for its
//    next periodic wake-up.
//
// Prints one line:
//   stacks=N levels=L dump1_ns=T1 dump2_ns=T2 burst_max_ns=T3 burst=K dump_status=S
// (dump_status 0 when every dump returned 0, -1 if any failed, "missing" when
// heapwatch is not preloaded). Built without sibling-call optimization: a
// tail call would drop the frames that make stacks distinct.

#include <dlfcn.h>
#include <time.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>

namespace {

// 2^17 = 131072 >= the largest N the benchmark uses (100k).
constexpr int kLevels = 17;
constexpr size_t kBlockBytes = 32;
// Allocations between pauses, and the pause: at rate 1 every allocation is a
// sample, and the ring (4096 slots by default) must not overflow while the
// collector interns. A quarter of the ring per batch, then a pause long
// enough for the collector to catch up, even on a loaded machine.
constexpr long kBatch = 1024;
constexpr useconds_t kPauseMicros = 3000;
// Pause before a timed dump: longer than the collector needs to finish
// draining and go back to sleep.
constexpr useconds_t kIdleMicros = 50'000;
constexpr int kBurst = 4;

void** g_blocks;  // the N kept blocks; allocated before the loop

__attribute__((noinline)) void* Descend(uint32_t path, int level);

__attribute__((noinline)) void* Left(uint32_t path, int level) {
  void* block = Descend(path, level + 1);
  asm volatile("" ::: "memory");  // keeps the call from becoming a jump
  return block;
}

__attribute__((noinline)) void* Right(uint32_t path, int level) {
  void* block = Descend(path, level + 1);
  asm volatile("" ::: "memory");
  return block;
}

__attribute__((noinline)) void* Descend(uint32_t path, int level) {
  if (level == kLevels) return std::malloc(kBlockBytes);
  void* block = ((path >> level) & 1) ? Left(path, level) : Right(path, level);
  asm volatile("" ::: "memory");
  return block;
}

int64_t NowNanos() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

}  // namespace

int main(int argc, char** argv) {
  long stacks = argc > 1 ? std::atol(argv[1]) : 1000;
  if (stacks < 0 || stacks > (1L << kLevels)) {
    std::fprintf(stderr, "usage: stack_fanout N   (0 <= N <= %ld)\n", 1L << kLevels);
    return 2;
  }
  g_blocks = static_cast<void**>(std::calloc(stacks > 0 ? stacks : 1, sizeof(void*)));
  for (long i = 0; i < stacks; ++i) {
    g_blocks[i] = Descend(static_cast<uint32_t>(i), 0);
    if ((i + 1) % kBatch == 0) usleep(kPauseMicros);
  }
  // Let the collector drain what is left (it wakes at least every 100 ms),
  // so the dumps time writing, not catching up.
  usleep(300'000);

  auto dump = reinterpret_cast<int (*)()>(dlsym(RTLD_DEFAULT, "heapwatch_dump"));
  if (dump == nullptr) {
    std::printf("stacks=%ld levels=%d dump1_ns=0 dump2_ns=0 burst_max_ns=0 burst=0 dump_status=missing\n", stacks,
                kLevels);
    return 0;
  }
  int status = 0;
  auto timed_dump = [&] {
    int64_t start = NowNanos();
    if (dump() != 0) status = -1;
    return NowNanos() - start;
  };
  int64_t dump1 = timed_dump();
  usleep(kIdleMicros);
  int64_t dump2 = timed_dump();
  int64_t burst_max = 0;
  for (int i = 0; i < kBurst; ++i) {
    int64_t t = timed_dump();
    if (t > burst_max) burst_max = t;
  }
  std::printf("stacks=%ld levels=%d dump1_ns=%lld dump2_ns=%lld burst_max_ns=%lld burst=%d dump_status=%d\n", stacks,
              kLevels, static_cast<long long>(dump1), static_cast<long long>(dump2),
              static_cast<long long>(burst_max), kBurst, status);
  for (long i = 0; i < stacks; ++i) std::free(g_blocks[i]);
  std::free(g_blocks);
  return 0;
}
