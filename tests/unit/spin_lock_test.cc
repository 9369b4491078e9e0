// SpinLock knows its holder: the fork handler relies on it (sampled_blocks.h).
#include "preload/spin_lock.h"

#include <thread>

#include <gtest/gtest.h>

namespace heapwatch {
namespace {

TEST(SpinLockTest, KnowsWhetherThisThreadHoldsIt) {
  SpinLock lock;
  EXPECT_FALSE(lock.HeldByThisThread());
  lock.Lock();
  EXPECT_TRUE(lock.HeldByThisThread());
  bool held_elsewhere = true, taken_elsewhere = true;
  std::thread other([&] {
    held_elsewhere = lock.HeldByThisThread();
    taken_elsewhere = lock.TryLock();
  });
  other.join();
  EXPECT_FALSE(held_elsewhere);
  EXPECT_FALSE(taken_elsewhere);
  lock.Unlock();
  EXPECT_FALSE(lock.HeldByThisThread());
  std::thread taker([&] {
    lock.Lock();
    held_elsewhere = lock.HeldByThisThread();
    lock.Unlock();
  });
  taker.join();
  EXPECT_TRUE(held_elsewhere);
  EXPECT_TRUE(lock.TryLock());
  lock.Unlock();
}

}  // namespace
}  // namespace heapwatch
