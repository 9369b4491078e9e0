// Also built with ThreadSanitizer (label tsan).
#include "preload/sampled_blocks.h"

#include <map>
#include <random>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace heapwatch {
namespace {

class SampledBlocksTest : public ::testing::Test {
 protected:
  SampledBlocks blocks_;  // ~5 MiB of mostly untouched arrays: the fixture lives on the heap
};

TEST_F(SampledBlocksTest, InsertFindRemove) {
  const uintptr_t a = 0x7f0000001230;
  EXPECT_FALSE(blocks_.MayContain(a));
  ASSERT_TRUE(blocks_.Insert({.address = a, .size = 100, .stack_hash = 7}));
  EXPECT_TRUE(blocks_.MayContain(a));
  EXPECT_EQ(blocks_.Count(), 1u);
  SampledBlock removed;
  ASSERT_TRUE(blocks_.Remove(a, &removed));
  EXPECT_EQ(removed.address, a);
  EXPECT_EQ(removed.size, 100u);
  EXPECT_EQ(removed.stack_hash, 7u);
  EXPECT_FALSE(blocks_.MayContain(a)) << "the filter bit clears with the last record of its bucket";
  EXPECT_FALSE(blocks_.Remove(a, &removed));
  EXPECT_EQ(blocks_.Count(), 0u);
}

TEST_F(SampledBlocksTest, TryRemoveReportsBusyInsteadOfWaiting) {
  const uintptr_t a = 0x5000;
  ASSERT_TRUE(blocks_.Insert({.address = a, .size = 1, .stack_hash = 1}));
  SampledBlock removed;
  blocks_.LockAllForFork();  // every shard held, as by an interrupted holder
  EXPECT_EQ(blocks_.TryRemove(a, &removed), SampledBlocks::TryResult::kBusy);
  blocks_.UnlockAllAfterFork();
  EXPECT_EQ(blocks_.TryRemove(a, &removed), SampledBlocks::TryResult::kRemoved);
  EXPECT_EQ(blocks_.TryRemove(a, &removed), SampledBlocks::TryResult::kAbsent);
}

// Random inserts and removes against a reference map: exercises growth,
// probe runs that wrap around, and backward-shift deletion.
TEST_F(SampledBlocksTest, MatchesAReferenceModel) {
  std::mt19937_64 rng(1);
  std::map<uintptr_t, uint64_t> model;
  std::vector<uintptr_t> live;
  for (int step = 0; step < 200000; ++step) {
    bool insert = live.empty() || (rng() % 100) < (step < 100000 ? 60 : 40);
    if (insert) {
      // Addresses packed closely, as a heap's are, to collide in shards.
      uintptr_t address = 0x10000 + (rng() % 400000) * 16;
      if (model.count(address)) continue;
      ASSERT_TRUE(blocks_.Insert({.address = address, .size = address / 16, .stack_hash = uint64_t(step)}));
      model[address] = step;
      live.push_back(address);
    } else {
      size_t i = rng() % live.size();
      uintptr_t address = live[i];
      live[i] = live.back();
      live.pop_back();
      SampledBlock removed;
      ASSERT_TRUE(blocks_.Remove(address, &removed));
      ASSERT_EQ(removed.stack_hash, model[address]);
      ASSERT_EQ(removed.size, address / 16);
      model.erase(address);
    }
  }
  EXPECT_EQ(blocks_.Count(), model.size());
  size_t seen = 0;
  blocks_.ForEach([&](const SampledBlock& b) {
    ++seen;
    auto it = model.find(b.address);
    ASSERT_NE(it, model.end());
    EXPECT_EQ(b.stack_hash, it->second);
  });
  EXPECT_EQ(seen, model.size());
  for (const auto& [address, token] : model) EXPECT_TRUE(blocks_.MayContain(address));
  // Addresses never inserted: most are filtered out by the bit array.
  int maybe = 0;
  for (int i = 0; i < 10000; ++i) maybe += blocks_.MayContain(0x900000000 + uintptr_t(i) * 4096);
  EXPECT_LT(maybe, 10000 * (static_cast<double>(model.size()) / (1 << blocks_.filter_bits())) * 3 + 50);
}

// The filter starts at 4 KiB and doubles while there are more live records
// than one per 128 bits; every live record is found at every size, and the
// false-positive rate stays near records / bits.
TEST_F(SampledBlocksTest, FilterGrowsWithTheLiveRecords) {
  EXPECT_EQ(blocks_.filter_bits(), SampledBlocks::kMinFilterBits);
  std::mt19937_64 rng(7);
  std::vector<uintptr_t> live;
  auto expected_bits = [](size_t records) {
    int bits = SampledBlocks::kMinFilterBits;
    while (bits < SampledBlocks::kMaxFilterBits && records * SampledBlocks::kBitsPerRecord > (size_t{1} << bits)) ++bits;
    return bits;
  };
  auto false_positives = [&] {
    int maybe = 0;
    for (int i = 0; i < 20000; ++i) maybe += blocks_.MayContain(0x900000000000 + (rng() % (uint64_t{1} << 36)) * 16);
    return maybe;
  };
  for (size_t target : {100u, 256u, 257u, 1000u, 5000u, 40000u}) {
    while (live.size() < target) {
      uintptr_t address = 0x100000000 + live.size() * 48;
      ASSERT_TRUE(blocks_.Insert({.address = address, .size = 48, .stack_hash = 1}));
      blocks_.GrowFilterIfCrowded();
      live.push_back(address);
    }
    EXPECT_EQ(blocks_.filter_bits(), expected_bits(target)) << target << " records";
    for (uintptr_t address : live) ASSERT_TRUE(blocks_.MayContain(address)) << target << " records";
    double rate = static_cast<double>(target) / static_cast<double>(size_t{1} << blocks_.filter_bits());
    EXPECT_LT(false_positives(), 20000 * rate * 2 + 20) << target << " records";
  }
  // Levels only grow; removing every record clears every bit of this one.
  int bits = blocks_.filter_bits();
  EXPECT_EQ(bits, SampledBlocks::kMaxFilterBits);
  for (uintptr_t address : live) {
    SampledBlock removed;
    ASSERT_TRUE(blocks_.Remove(address, &removed));
  }
  EXPECT_EQ(blocks_.filter_bits(), bits);
  for (uintptr_t address : live) ASSERT_FALSE(blocks_.MayContain(address));
  EXPECT_EQ(blocks_.Count(), 0u);
}

// A free may read the filter's size just before it grows: whatever size a
// reader sees, a record inserted before its read is in that filter. Readers
// keep testing their own live records while a writer drives the filter
// through every size. (Also under ThreadSanitizer.)
TEST_F(SampledBlocksTest, LiveRecordsStayVisibleWhileTheFilterGrows) {
  std::atomic<bool> stop{false};
  std::atomic<int> misses{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 3; ++t) {
    readers.emplace_back([&, t] {
      std::vector<uintptr_t> mine;
      for (uintptr_t i = 0; !stop.load(std::memory_order_relaxed); ++i) {
        uintptr_t address = (uintptr_t(t + 1) << 40) + i * 64;
        if (!blocks_.Insert({.address = address, .size = 64, .stack_hash = 2})) break;
        blocks_.GrowFilterIfCrowded();
        mine.push_back(address);
        for (uintptr_t a : mine) misses += !blocks_.MayContain(a);
        if (mine.size() == 64) {
          for (uintptr_t a : mine) {
            SampledBlock removed;
            if (!blocks_.Remove(a, &removed)) misses += 1;
          }
          mine.clear();
        }
      }
      for (uintptr_t a : mine) {
        SampledBlock removed;
        blocks_.Remove(a, &removed);
      }
    });
  }
  for (uintptr_t i = 0; i < 600000; ++i) {
    ASSERT_TRUE(blocks_.Insert({.address = 0x100000000 + i * 32, .size = 32, .stack_hash = 3}));
    blocks_.GrowFilterIfCrowded();
  }
  stop = true;
  for (std::thread& reader : readers) reader.join();
  EXPECT_EQ(blocks_.filter_bits(), SampledBlocks::kMaxFilterBits);
  EXPECT_EQ(misses.load(), 0);
  EXPECT_EQ(blocks_.Count(), 600000u);
}

// A pinned address (a bootstrap block) reads as "maybe" for good: through
// records of its own buckets coming and going, at every filter size, and
// without ever being a record (scans and counts do not see it).
TEST_F(SampledBlocksTest, PinnedAddressesStayInTheFilterForGood) {
  const uintptr_t pinned = 0x7f0000004560;
  EXPECT_FALSE(blocks_.MayContain(pinned));
  ASSERT_TRUE(blocks_.Pin(pinned));
  EXPECT_TRUE(blocks_.MayContain(pinned));
  EXPECT_EQ(blocks_.Count(), 0u);
  // A record at the same address's bucket comes and goes: same address is
  // the surest collision (a bootstrap block is never a record, but its
  // bucket's other tenants are).
  ASSERT_TRUE(blocks_.Insert({.address = pinned, .size = 1, .stack_hash = 1}));
  SampledBlock removed;
  ASSERT_TRUE(blocks_.Remove(pinned, &removed));
  EXPECT_TRUE(blocks_.MayContain(pinned)) << "a record leaving its bucket must not clear a pin";
  std::vector<uintptr_t> live;
  for (uintptr_t i = 0; i < 40000; ++i) {
    ASSERT_TRUE(blocks_.Insert({.address = 0x100000000 + i * 32, .size = 32, .stack_hash = 2}));
    live.push_back(0x100000000 + i * 32);
    int bits = blocks_.filter_bits();
    blocks_.GrowFilterIfCrowded();
    if (blocks_.filter_bits() != bits) {
      ASSERT_TRUE(blocks_.MayContain(pinned)) << "lost at 2^" << blocks_.filter_bits();
    }
  }
  EXPECT_EQ(blocks_.filter_bits(), SampledBlocks::kMaxFilterBits);
  for (uintptr_t address : live) ASSERT_TRUE(blocks_.Remove(address, &removed));
  EXPECT_TRUE(blocks_.MayContain(pinned));
  EXPECT_FALSE(blocks_.Remove(pinned, &removed));
  size_t scanned = 0;
  blocks_.ForEach([&](const SampledBlock&) { ++scanned; });
  EXPECT_EQ(scanned, 0u);
}

TEST_F(SampledBlocksTest, PinsAreBounded) {
  for (uint32_t i = 0; i < SampledBlocks::kMaxPinned; ++i) ASSERT_TRUE(blocks_.Pin(0x10000 + i * 16));
  EXPECT_FALSE(blocks_.Pin(0x90000));
  for (uint32_t i = 0; i < SampledBlocks::kMaxPinned; ++i) ASSERT_TRUE(blocks_.MayContain(0x10000 + i * 16));
}

// Pins racing a growth: each pin is visible once Pin returns, whatever size
// the filter has by then. (Also under ThreadSanitizer.)
TEST_F(SampledBlocksTest, PinsRacingFilterGrowthAreKept) {
  std::atomic<int> misses{0};
  std::thread pinner([&] {
    for (uint32_t i = 0; i < SampledBlocks::kMaxPinned; ++i) {
      uintptr_t address = 0x500000000000 + i * 16;
      if (!blocks_.Pin(address)) misses += 1;
      for (uint32_t j = 0; j <= i; ++j) misses += !blocks_.MayContain(0x500000000000 + j * 16);
    }
  });
  for (uintptr_t i = 0; i < 300000; ++i) {
    ASSERT_TRUE(blocks_.Insert({.address = 0x100000000 + i * 32, .size = 32, .stack_hash = 3}));
    blocks_.GrowFilterIfCrowded();
  }
  pinner.join();
  EXPECT_EQ(misses.load(), 0);
  for (uint32_t i = 0; i < SampledBlocks::kMaxPinned; ++i) ASSERT_TRUE(blocks_.MayContain(0x500000000000 + i * 16));
}

// The fork protocol holds the growth lock too, so that a child never
// inherits a growth half done by a thread it does not have: while it is
// held, would-be growers give up (they never wait), and the next insert
// after the fork grows the filter.
TEST_F(SampledBlocksTest, TheForkProtocolHoldsOffFilterGrowth) {
  for (uintptr_t i = 0; i < 1000; ++i) {
    ASSERT_TRUE(blocks_.Insert({.address = 0x100000000 + i * 32, .size = 32, .stack_hash = 4}));
  }
  blocks_.LockAllForFork();
  std::thread grower([&] { blocks_.GrowFilterIfCrowded(); });  // returns at once
  grower.join();
  blocks_.UnlockAllAfterFork();
  EXPECT_EQ(blocks_.filter_bits(), SampledBlocks::kMinFilterBits);
  blocks_.GrowFilterIfCrowded();
  EXPECT_EQ(blocks_.filter_bits(), 17) << "1000 records want 2^17 bits";
  for (uintptr_t i = 0; i < 1000; ++i) ASSERT_TRUE(blocks_.MayContain(0x100000000 + i * 32));
}

TEST_F(SampledBlocksTest, ConcurrentInsertRemoveAndScan) {
  std::atomic<bool> stop{false};
  std::thread scanner([&] {
    while (!stop.load()) {
      blocks_.ForEach([](const SampledBlock& b) { ASSERT_NE(b.address, 0u); });
    }
  });
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int round = 0; round < 20; ++round) {
        for (uintptr_t i = 0; i < 1000; ++i) {
          uintptr_t address = (uintptr_t(t + 1) << 32) + i * 16;
          ASSERT_TRUE(blocks_.Insert({.address = address, .size = i, .stack_hash = uint64_t(t + 1)}));
        }
        for (uintptr_t i = 0; i < 1000; ++i) {
          SampledBlock removed;
          ASSERT_TRUE(blocks_.Remove((uintptr_t(t + 1) << 32) + i * 16, &removed));
          ASSERT_EQ(removed.stack_hash, uint64_t(t + 1));
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  stop = true;
  scanner.join();
  EXPECT_EQ(blocks_.Count(), 0u);
}

}  // namespace
}  // namespace heapwatch
