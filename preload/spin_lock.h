// A spin lock for critical sections of a few dozen instructions, usable
// where a pthread mutex is not: inside malloc and free, with no allocation,
// no syscall on the uncontended path, and a state that a forked child can
// simply reset.
//
// Test-and-test-and-set with a pause; after a while it yields the CPU, so a
// holder that was descheduled (8 threads on 2 cores) gets to run.

#ifndef HEAPWATCH_PRELOAD_SPIN_LOCK_H_
#define HEAPWATCH_PRELOAD_SPIN_LOCK_H_

#include <sched.h>

#include <atomic>

namespace heapwatch {

class SpinLock {
 public:
  static void CpuRelax() {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    asm volatile("yield");
#endif
  }

  bool TryLock() {
    return !locked_.load(std::memory_order_relaxed) && !locked_.exchange(true, std::memory_order_acquire);
  }

  void Lock() {
    for (int spins = 0; !TryLock(); ++spins) {
      if (spins < 64) {
        CpuRelax();
      } else {
        sched_yield();
      }
    }
  }

  void Unlock() { locked_.store(false, std::memory_order_release); }

 private:
  std::atomic<bool> locked_{false};
};

class SpinLockHolder {
 public:
  explicit SpinLockHolder(SpinLock& lock) : lock_(lock) { lock_.Lock(); }
  ~SpinLockHolder() { lock_.Unlock(); }
  SpinLockHolder(const SpinLockHolder&) = delete;
  SpinLockHolder& operator=(const SpinLockHolder&) = delete;

 private:
  SpinLock& lock_;
};

}  // namespace heapwatch

#endif  // HEAPWATCH_PRELOAD_SPIN_LOCK_H_
