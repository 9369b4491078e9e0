/* bench_pair_loop: a fixed number of malloc+free pairs, for counting
 * instructions under valgrind --tool=callgrind (tools/bench/run.sh).
 *
 *   bench_pair_loop PAIRS [MIN MAX]     (sizes default to 16..512 bytes)
 *
 * Deterministic: the same sizes in the same order on every run, so two runs
 * with different PAIRS differ by exactly that many pairs, and the difference
 * of their instruction counts divided by the difference of PAIRS is the cost
 * of one pair with start-up and exit cancelled out. Timing it is pointless
 * (use alloc_microbench for time).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char** argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: bench_pair_loop PAIRS [MIN MAX]\n");
    return 2;
  }
  long pairs = atol(argv[1]);
  size_t min = argc > 3 ? (size_t)atol(argv[2]) : 16, max = argc > 3 ? (size_t)atol(argv[3]) : 512;
  if (pairs < 0 || min == 0 || max < min) {
    fprintf(stderr, "bench_pair_loop: need PAIRS >= 0 and 0 < MIN <= MAX\n");
    return 2;
  }
  /* The same xorshift table as alloc_microbench's MallocFreePair. */
  static size_t sizes[4096];
  uint64_t x = 88172645463325252ull;
  for (int i = 0; i < 4096; ++i) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    sizes[i] = min + x % (max - min + 1);
  }
  for (long i = 0; i < pairs; ++i) {
    void* p = malloc(sizes[i & 4095]);
    /* The pointer escapes into an asm: without it GCC deletes the pair. */
    __asm__ volatile("" : : "r"(p) : "memory");
    free(p);
  }
  return 0;
}
