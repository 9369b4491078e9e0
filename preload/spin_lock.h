// A spin lock for critical sections of a few dozen instructions, usable
// where a pthread mutex is not: inside malloc and free, with no allocation,
// no syscall on the uncontended path, and a state that a forked child can
// simply reset.
//
// Test-and-test-and-set with a pause; after a while it yields the CPU, so a
// holder that was descheduled (8 threads on 2 cores) gets to run. The lock
// word is its holder's identity (the address of a thread-local byte), so a
// thread can tell whether it holds a lock itself: the fork handler, which a
// signal handler may run on a thread interrupted inside our code, must not
// wait for such a lock.

#ifndef HEAPWATCH_PRELOAD_SPIN_LOCK_H_
#define HEAPWATCH_PRELOAD_SPIN_LOCK_H_

#include <sched.h>

#include <atomic>
#include <cstdint>

namespace heapwatch {

// This thread's identity for SpinLock: unique among live threads, never 0.
inline __thread char t_spin_lock_identity __attribute__((tls_model("initial-exec")));

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
    uintptr_t free = 0;
    return holder_.load(std::memory_order_relaxed) == 0 &&
           holder_.compare_exchange_strong(free, Self(), std::memory_order_acquire, std::memory_order_relaxed);
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

  void Unlock() { holder_.store(0, std::memory_order_release); }

  // True when this thread holds the lock (it was not interrupted while
  // taking or releasing it: the word changes in one instruction).
  bool HeldByThisThread() const { return holder_.load(std::memory_order_relaxed) == Self(); }

 private:
  static uintptr_t Self() { return reinterpret_cast<uintptr_t>(&t_spin_lock_identity); }

  std::atomic<uintptr_t> holder_{0};
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
