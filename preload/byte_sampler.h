// Decides which allocations are sampled: a Poisson process over allocated
// bytes, as Go's runtime and jemalloc do.
//
// Sample points fall on the stream of allocated bytes with exponentially
// distributed gaps of mean `rate` bytes. An allocation is sampled when a
// sample point falls inside it, which happens with probability
// 1 - exp(-size / rate): a 16 B block at the default 512 KiB is sampled once
// in ~32768 allocations, a 4 MiB block almost always. Because the gaps are
// memoryless, drawing a fresh gap after each sample keeps every allocation's
// chance independent of the ones before it, and the profile can un-sample a
// site's totals by 1 / (1 - exp(-average size / rate)).
//
// One ByteSampler per thread (it lives in ThreadState); not thread safe.
// rate <= 1 samples every allocation, including zero-byte ones.
//
// Check-ins: while a check-in interval is set (the profiler waits to start
// its collector thread until one is needed), the countdown also stops every
// `interval` bytes so that the slow path can look at the clock. The rest of
// the real gap is carried over (pending_), so where sample points fall, and
// with it every estimate, is unchanged.

#ifndef HEAPWATCH_PRELOAD_BYTE_SAMPLER_H_
#define HEAPWATCH_PRELOAD_BYTE_SAMPLER_H_

#include <cstddef>
#include <cstdint>

namespace heapwatch {

class ByteSampler {
 public:
  // The mean gap, shared by all threads. Set once at start-up (and by tests).
  static void SetRate(int64_t rate);
  static int64_t rate();

  // Bytes between check-ins; 0 turns them off (the default).
  static void SetCheckInInterval(int64_t bytes);
  static int64_t check_in_interval();

  // Called for every allocation. True when the allocation needs no sample,
  // the common case: one subtraction and one well-predicted branch.
  // Otherwise call RecordAllocationSlow with the same size.
  __attribute__((always_inline)) bool TryRecordAllocationFast(size_t size) {
    bytes_until_sample_ -= static_cast<int64_t>(size);
    return bytes_until_sample_ > 0;
  }

  // True when this allocation is sampled; draws the next gap. Called after
  // the fast path found the countdown run out: at a sample point or, with
  // check-ins on, at a check-in.
  bool RecordAllocationSlow(size_t size);

  // Forgets the current gap: the next allocation goes to the slow path, which
  // draws a fresh gap and judges that allocation against it. Used while
  // profiling is not active, so no countdown carries over into it.
  void Disarm() {
    bytes_until_sample_ = 0;
    pending_ = 0;
    armed_ = false;
  }

  // Stops sampling on this thread for good (well, for 2^60 bytes).
  void Park() {
    bytes_until_sample_ = int64_t{1} << 60;
    pending_ = 0;
    armed_ = true;
  }

  // Test-only: a fixed seed for reproducible gaps.
  void SeedForTesting(uint64_t seed);

  // The next gap in bytes: -log(U) * rate for U uniform in (0, 1].
  int64_t NextGap(int64_t rate);

 private:
  // X: X more bytes can be allocated before the next sample point; <= 0
  // means a sample point fell inside the allocation just counted.
  int64_t bytes_until_sample_ = 0;
  // With check-ins: bytes from the check-in the countdown stops at to the
  // real sample point (0 when the countdown stops at the sample point).
  int64_t pending_ = 0;
  uint64_t rng_state_ = 0;  // xorshift64*; 0 until seeded
  bool armed_ = false;      // false until a gap has been drawn
};

}  // namespace heapwatch

#endif  // HEAPWATCH_PRELOAD_BYTE_SAMPLER_H_
