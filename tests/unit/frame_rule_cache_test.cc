// The shared rule cache: hits return what was inserted for that address
// and generation, never another's, also while threads race to fill it
// (built under TSan too).

#include "preload/frame_rule_cache.h"

#include <gtest/gtest.h>

#include <memory>
#include <thread>
#include <vector>

namespace heapwatch {
namespace {

// A rule that says which address it was made for.
FrameRule RuleFor(uintptr_t pc) {
  FrameRule rule;
  rule.kind = FrameRule::kStandard;
  rule.cfa_from_rbp = (pc >> 3) & 1;
  rule.cfa_offset = static_cast<uint32_t>(pc % FrameRule::kMaxCfaOffset);
  return rule;
}

TEST(FrameRuleCacheTest, FindsWhatWasInsertedForThatGeneration) {
  auto cache = std::make_unique<FrameRuleCache>();
  const uint32_t salt = FrameRuleCache::SaltFor(0);
  FrameRule rule;
  EXPECT_FALSE(cache->Find(0x401234, salt, &rule));
  cache->Insert(0x401234, salt, RuleFor(0x401234));
  ASSERT_TRUE(cache->Find(0x401234, salt, &rule));
  EXPECT_EQ(rule, RuleFor(0x401234));
  EXPECT_FALSE(cache->Find(0x401235, salt, &rule));
  // After code was unmapped, the old entry no longer answers.
  EXPECT_FALSE(cache->Find(0x401234, FrameRuleCache::SaltFor(1), &rule));
  cache->Insert(0x401234, FrameRuleCache::SaltFor(1), RuleFor(0x401234));
  EXPECT_TRUE(cache->Find(0x401234, FrameRuleCache::SaltFor(1), &rule));
}

TEST(FrameRuleCacheTest, FullCacheKeepsTheNewestAndNeverAnswersWrongly) {
  auto cache = std::make_unique<FrameRuleCache>();
  const uint32_t salt = FrameRuleCache::SaltFor(7);
  const uintptr_t base = 0x7f0000001000;
  const size_t count = 4 * 2 * FrameRuleCache::kSets;  // four times its capacity
  size_t found_after_insert = 0;
  for (size_t i = 0; i < count; ++i) {
    uintptr_t pc = base + 13 * i;
    cache->Insert(pc, salt, RuleFor(pc));
    FrameRule rule;
    if (cache->Find(pc, salt, &rule)) ++found_after_insert;
  }
  EXPECT_EQ(found_after_insert, count);
  size_t hits = 0;
  for (size_t i = 0; i < count; ++i) {
    uintptr_t pc = base + 13 * i;
    FrameRule rule;
    if (!cache->Find(pc, salt, &rule)) continue;
    ++hits;
    EXPECT_EQ(rule, RuleFor(pc)) << std::hex << pc;
  }
  // Each of the 4,096 ways holds one of the addresses.
  EXPECT_GT(hits, FrameRuleCache::kSets);
  EXPECT_LE(hits, 2 * FrameRuleCache::kSets);
}

// Three addresses of one set, two of them hot: after a few misses the hot
// pair shares the set and stops missing (a fixed choice of way would let
// them evict each other on every lookup).
TEST(FrameRuleCacheTest, TwoHotAddressesOfOneSetStopMissing) {
  auto cache = std::make_unique<FrameRuleCache>();
  const uint32_t salt = FrameRuleCache::SaltFor(0);
  std::vector<uintptr_t> same_set;
  for (uintptr_t pc = 0x401000; same_set.size() < 3; pc += 16) {
    if (FrameRuleCache::SetOf(pc) == FrameRuleCache::SetOf(0x401000)) same_set.push_back(pc);
  }
  cache->Insert(same_set[2], salt, RuleFor(same_set[2]));
  int misses = 0;
  for (int round = 0; round < 100; ++round) {
    for (int hot = 0; hot < 2; ++hot) {
      FrameRule rule;
      if (cache->Find(same_set[hot], salt, &rule)) {
        EXPECT_EQ(rule, RuleFor(same_set[hot]));
      } else {
        ++misses;
        cache->Insert(same_set[hot], salt, RuleFor(same_set[hot]));
      }
    }
  }
  EXPECT_LE(misses, 6);
}

TEST(FrameRuleCacheTest, RacingThreadsNeverReadAnotherAddressesRule) {
  auto cache = std::make_unique<FrameRuleCache>();
  const uint32_t salt = FrameRuleCache::SaltFor(0);
  constexpr int kThreads = 4;
  // Twice as many addresses as entries, visited in the same order by every
  // thread: constant eviction, and pairs torn by racing writers to reject.
  constexpr uintptr_t kAddresses = 4 * FrameRuleCache::kSets;
  std::vector<std::thread> threads;
  std::vector<int> wrong(kThreads, 0), hits(kThreads, 0);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int round = 0; round < 50000; ++round) {
        // Addresses spread over the whole user address space.
        uintptr_t pc = ((static_cast<uintptr_t>(round) + t) % kAddresses) * 0x3c6ef372fe94f82bull >> 17;
        FrameRule rule;
        if (cache->Find(pc, salt, &rule)) {
          ++hits[t];
          if (!(rule == RuleFor(pc))) ++wrong[t];
        } else {
          cache->Insert(pc, salt, RuleFor(pc));
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  for (int t = 0; t < kThreads; ++t) {
    EXPECT_EQ(wrong[t], 0) << "thread " << t;
    EXPECT_GT(hits[t], 0) << "thread " << t;
  }
}

}  // namespace
}  // namespace heapwatch
