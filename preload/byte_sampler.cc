#include "preload/byte_sampler.h"

#include <time.h>

#include <atomic>

#include "preload/elementary_functions.h"

namespace heapwatch {
namespace {

std::atomic<int64_t> g_rate{512 * 1024};
std::atomic<int64_t> g_check_in{0};
std::atomic<uint64_t> g_seed_counter{0};

// SplitMix64: turns any seed material into a well-mixed non-zero state.
uint64_t Mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9;
  x = (x ^ (x >> 27)) * 0x94d049bb133111eb;
  return x ^ (x >> 31);
}

}  // namespace

void ByteSampler::SetRate(int64_t rate) { g_rate.store(rate < 1 ? 1 : rate, std::memory_order_relaxed); }

int64_t ByteSampler::rate() { return g_rate.load(std::memory_order_relaxed); }

void ByteSampler::SetCheckInInterval(int64_t bytes) {
  g_check_in.store(bytes < 0 ? 0 : bytes, std::memory_order_relaxed);
}

int64_t ByteSampler::check_in_interval() { return g_check_in.load(std::memory_order_relaxed); }

void ByteSampler::SeedForTesting(uint64_t seed) {
  rng_state_ = Mix(seed) | 1;
  armed_ = false;
  bytes_until_sample_ = 0;
  pending_ = 0;
}

int64_t ByteSampler::NextGap(int64_t rate) {
  if (rng_state_ == 0) {
    // Per-thread seed material: this thread's state address, the time, and a
    // process-wide counter so threads started together still differ.
    timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    uint64_t material = reinterpret_cast<uintptr_t>(this) ^ (static_cast<uint64_t>(now.tv_nsec) << 20) ^
                        static_cast<uint64_t>(now.tv_sec) ^
                        g_seed_counter.fetch_add(1, std::memory_order_relaxed) * 0x9e3779b97f4a7c15;
    rng_state_ = Mix(material) | 1;
  }
  // xorshift64*: fast, full period, plenty for choosing gaps.
  rng_state_ ^= rng_state_ >> 12;
  rng_state_ ^= rng_state_ << 25;
  rng_state_ ^= rng_state_ >> 27;
  uint64_t bits = (rng_state_ * 0x2545f4914f6cdd1d) >> 11;  // 53 random bits
  double uniform = static_cast<double>(bits + 1) * 0x1.0p-53;  // (0, 1]
  double gap = -NaturalLog(uniform) * static_cast<double>(rate);
  // At least one byte, so a gap never leaves the countdown at zero; at most
  // ~37 * rate (U >= 2^-53), far from overflowing.
  return gap < 1 ? 1 : static_cast<int64_t>(gap);
}

bool ByteSampler::RecordAllocationSlow(size_t size) {
  int64_t rate = g_rate.load(std::memory_order_relaxed);
  if (rate <= 1) {
    bytes_until_sample_ = 0;  // every allocation comes back here
    pending_ = 0;
    return true;
  }
  // S: bytes from the end of this allocation to the sample point; <= 0 means
  // the sample point fell inside the allocation.
  int64_t until_sample;
  if (!armed_) {
    // No gap was running: judge this allocation against a fresh one.
    armed_ = true;
    until_sample = NextGap(rate) - static_cast<int64_t>(size);
  } else {
    // The fast path already took `size` off the countdown.
    until_sample = bytes_until_sample_ + pending_;
  }
  bool sampled = until_sample <= 0;
  // After a sample the gaps are memoryless: the next one starts fresh.
  if (sampled) until_sample = NextGap(rate);
  // Stop the countdown at the sample point, or at a check-in before it.
  int64_t check_in = g_check_in.load(std::memory_order_relaxed);
  if (check_in > 0 && until_sample > check_in) {
    bytes_until_sample_ = check_in;
    pending_ = until_sample - check_in;
  } else {
    bytes_until_sample_ = until_sample;
    pending_ = 0;
  }
  return sampled;
}

}  // namespace heapwatch
