#include "preload/internal_arena.h"

#include <cstdint>
#include <cstring>

#include <gtest/gtest.h>

namespace heapwatch {
namespace {

TEST(InternalArenaTest, AlignedZeroedAndDistinct) {
  InternalArena arena;
  char* a = static_cast<char*>(arena.Allocate(3, 1));
  uint64_t* b = arena.AllocateArray<uint64_t>(4);
  void* c = arena.Allocate(100, 64);
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(b) % alignof(uint64_t), 0u);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(c) % 64, 0u);
  EXPECT_GE(reinterpret_cast<char*>(b), a + 3);
  EXPECT_GE(static_cast<char*>(c), reinterpret_cast<char*>(b + 4));
  for (int i = 0; i < 4; ++i) EXPECT_EQ(b[i], 0u);
  EXPECT_EQ(arena.bytes_mapped(), InternalArena::kChunkBytes);
}

TEST(InternalArenaTest, BigRequestsGetTheirOwnMappingAndChunksRefill) {
  InternalArena arena;
  void* small = arena.Allocate(16);
  void* big = arena.Allocate(InternalArena::kChunkBytes * 3);
  ASSERT_NE(big, nullptr);
  std::memset(big, 0xab, InternalArena::kChunkBytes * 3);  // all of it is writable
  // The big mapping did not consume the current chunk: small requests
  // continue right after the first one.
  void* next = arena.Allocate(16);
  EXPECT_EQ(static_cast<char*>(next), static_cast<char*>(small) + 16);
  size_t before = arena.bytes_mapped();
  EXPECT_GE(before, InternalArena::kChunkBytes * 4);
  // Filling the chunk starts another one.
  for (size_t used = 0; used < InternalArena::kChunkBytes; used += 4096) ASSERT_NE(arena.Allocate(4096), nullptr);
  EXPECT_EQ(arena.bytes_mapped(), before + InternalArena::kChunkBytes);
  arena.ReleaseAll();
  EXPECT_EQ(arena.bytes_mapped(), 0u);
}

TEST(InternalArenaTest, CopyStringTerminates) {
  InternalArena arena;
  char* s = arena.CopyString("heapwatch!", 9);
  EXPECT_STREQ(s, "heapwatch");
}

}  // namespace
}  // namespace heapwatch
