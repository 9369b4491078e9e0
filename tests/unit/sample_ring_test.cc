// Also built with ThreadSanitizer (label tsan): the stress tests are the
// evidence for the memory-ordering argument in sample_ring.h.
#include "preload/sample_ring.h"

#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace heapwatch {
namespace {

// A record whose every field derives from (producer, n), so the consumer can
// tell a torn or misplaced record from a good one.
void Fill(SampleRecord* r, uint32_t producer, uint64_t n, int depth) {
  r->address = (uint64_t{producer} << 40) | n;
  r->size = n * 3 + producer;
  r->depth = static_cast<uint32_t>(depth);
  for (int i = 0; i < depth; ++i) r->frames[i] = r->address ^ (uint64_t{0x9e3779b9} * (i + 1));
}

void ExpectIntact(const SampleRecord* r) {
  uint32_t producer = static_cast<uint32_t>(r->address >> 40);
  uint64_t n = r->address & ((uint64_t{1} << 40) - 1);
  ASSERT_EQ(r->size, n * 3 + producer);
  for (uint32_t i = 0; i < r->depth; ++i) ASSERT_EQ(r->frames[i], r->address ^ (uint64_t{0x9e3779b9} * (i + 1)));
}

TEST(SampleRingTest, FifoFullAndEmpty) {
  SampleRing ring;
  ASSERT_TRUE(ring.Init(5, 4));  // rounds up to 8
  EXPECT_EQ(ring.capacity(), 8u);
  EXPECT_EQ(ring.Front(), nullptr);
  for (uint64_t i = 0; i < 8; ++i) {
    SampleRecord* r;
    uint64_t pos;
    ASSERT_TRUE(ring.TryClaim(&r, &pos));
    EXPECT_EQ(pos, i);
    EXPECT_EQ(r->position, i);
    Fill(r, 1, i, 4);
    ring.Publish(pos);
  }
  SampleRecord* r;
  uint64_t pos;
  EXPECT_FALSE(ring.TryClaim(&r, &pos)) << "a full ring must refuse at once";
  EXPECT_EQ(ring.ApproximateBacklog(), 8u);
  for (uint64_t i = 0; i < 3; ++i) {
    const SampleRecord* front = ring.Front();
    ASSERT_NE(front, nullptr);
    EXPECT_EQ(front->address & 0xffff, i);
    ring.PopFront();
  }
  ASSERT_TRUE(ring.TryClaim(&r, &pos));  // room again, next lap
  EXPECT_EQ(pos, 8u);
  Fill(r, 1, 8, 4);
  ring.Publish(pos);
  for (uint64_t i = 3; i <= 8; ++i) {
    const SampleRecord* front = ring.Front();
    ASSERT_NE(front, nullptr);
    EXPECT_EQ(front->address & 0xffff, i);
    ExpectIntact(front);
    ring.PopFront();
  }
  EXPECT_EQ(ring.Front(), nullptr);
}

// Pages of the ring's slots that are resident (mincore: also the zero page,
// which a read of an untouched page maps).
size_t ResidentPages(const SampleRing& ring) {
  size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  size_t pages = (ring.slot_memory_bytes() + page - 1) / page;
  std::vector<unsigned char> present(pages);
  EXPECT_EQ(mincore(const_cast<char*>(ring.slot_memory()), ring.slot_memory_bytes(), present.data()), 0);
  size_t count = 0;
  for (unsigned char p : present) count += p & 1;
  return count;
}

// The shared ring of a single-threaded process is never used: it must cost
// no memory, not even by the consumer's polling. The first claim populates
// its own stretch of 64 slots and the two ahead of it, not the ring.
TEST(SampleRingTest, MemoryIsTouchedOnlyFromTheFirstClaim) {
  SampleRing ring;
  ASSERT_TRUE(ring.Init(4096, 64));
  size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  size_t slot_bytes = ring.slot_memory_bytes() / ring.capacity();
  EXPECT_EQ(ResidentPages(ring), 0u);
  EXPECT_EQ(ring.Front(), nullptr);
  EXPECT_EQ(ResidentPages(ring), 0u) << "polling an empty ring read its slots";
  SampleRecord* r;
  uint64_t pos;
  ASSERT_TRUE(ring.TryClaim(&r, &pos));
  Fill(r, 1, 0, 64);
  ring.Publish(pos);
  size_t resident = ResidentPages(ring);
  EXPECT_GE(resident, 192 * slot_bytes / page);
  EXPECT_LE(resident, (192 * slot_bytes + page - 1) / page + 1);
  EXPECT_LT(resident * page, ring.slot_memory_bytes() / 10);
  const SampleRecord* front = ring.Front();
  ASSERT_NE(front, nullptr);
  ExpectIntact(front);
  ring.PopFront();
  EXPECT_EQ(ring.Front(), nullptr);
}

TEST(SampleRingTest, UnpublishedSlotHoldsBackTheConsumer) {
  SampleRing ring;
  ASSERT_TRUE(ring.Init(4, 1));
  SampleRecord *a, *b;
  uint64_t pa, pb;
  ASSERT_TRUE(ring.TryClaim(&a, &pa));
  ASSERT_TRUE(ring.TryClaim(&b, &pb));
  Fill(b, 2, 1, 1);
  ring.Publish(pb);
  EXPECT_EQ(ring.Front(), nullptr) << "the older claim is not published yet";
  Fill(a, 2, 0, 1);
  ring.Publish(pa);
  ASSERT_NE(ring.Front(), nullptr);
  EXPECT_EQ(ring.Front()->position, pa);
}

TEST(SampleRingTest, RepairAfterForkSkipsAbandonedClaims) {
  SampleRing ring;
  ASSERT_TRUE(ring.Init(4, 2));
  SampleRecord *a, *b;
  uint64_t pa, pb;
  ASSERT_TRUE(ring.TryClaim(&a, &pa));  // its thread "vanished in the fork"
  ASSERT_TRUE(ring.TryClaim(&b, &pb));
  Fill(b, 3, 1, 2);
  ring.Publish(pb);
  ring.RepairAfterFork();
  const SampleRecord* front = ring.Front();
  ASSERT_NE(front, nullptr);
  EXPECT_EQ(front->abandoned, 1u);
  EXPECT_EQ(front->depth, 0u);
  ring.PopFront();
  ASSERT_NE(ring.Front(), nullptr);
  EXPECT_EQ(ring.Front()->abandoned, 0u);
  ExpectIntact(ring.Front());
}

// Producers push until each has delivered its quota (retrying when full, as
// a test may; the preload drops instead); one consumer checks every record
// arrives once, intact, and in order per producer.
void Stress(int producers, uint64_t per_producer, size_t capacity, int depth) {
  SampleRing ring;
  ASSERT_TRUE(ring.Init(capacity, depth));
  std::atomic<uint64_t> full_refusals{0};
  std::vector<std::thread> threads;
  for (int p = 0; p < producers; ++p) {
    threads.emplace_back([&, p] {
      for (uint64_t n = 0; n < per_producer; ++n) {
        SampleRecord* r;
        uint64_t pos;
        while (!ring.TryClaim(&r, &pos)) {
          full_refusals.fetch_add(1, std::memory_order_relaxed);
          std::this_thread::yield();
        }
        Fill(r, static_cast<uint32_t>(p), n, static_cast<int>(n % (depth + 1)));
        ring.Publish(pos);
      }
    });
  }
  std::vector<uint64_t> next(producers, 0);
  uint64_t received = 0, last_position = 0;
  bool first = true;
  while (received < producers * per_producer) {
    const SampleRecord* r = ring.Front();
    if (r == nullptr) {
      std::this_thread::yield();
      continue;
    }
    ExpectIntact(r);
    if (!first) {
      ASSERT_EQ(r->position, last_position + 1);
    }
    first = false;
    last_position = r->position;
    uint32_t producer = static_cast<uint32_t>(r->address >> 40);
    ASSERT_LT(producer, static_cast<uint32_t>(producers));
    ASSERT_EQ(r->address & ((uint64_t{1} << 40) - 1), next[producer]) << "producer " << producer;
    ++next[producer];
    ++received;
    ring.PopFront();
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(ring.Front(), nullptr);
  for (int p = 0; p < producers; ++p) EXPECT_EQ(next[p], per_producer);
}

TEST(SampleRingTest, ManyProducersOneConsumer) { Stress(8, 20000, 64, 8); }

TEST(SampleRingTest, TinyRingUnderContention) { Stress(4, 20000, 2, 3); }

}  // namespace
}  // namespace heapwatch
