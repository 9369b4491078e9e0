#include "analyzer/heap_values.h"

#include <cmath>

#include <gtest/gtest.h>

namespace heapwatch {
namespace {

TEST(FindHeapValuesTest, GoAndHeapwatchNames) {
  Profile p;
  p.sample_types = {{"alloc_objects", "count"}, {"alloc_space", "bytes"}, {"inuse_objects", "count"},
                    {"inuse_space", "bytes"}};
  HeapValueIndices i = FindHeapValues(p);
  EXPECT_EQ(i.alloc_objects, 0u);
  EXPECT_EQ(i.alloc_space, 1u);
  EXPECT_EQ(i.inuse_objects, 2u);
  EXPECT_EQ(i.inuse_space, 3u);
}

TEST(FindHeapValuesTest, GperftoolsNamesAndMissingTypes) {
  Profile p;
  p.sample_types = {{"objects", "count"}, {"space", "bytes"}};
  HeapValueIndices i = FindHeapValues(p);
  EXPECT_EQ(i.inuse_objects, 0u);
  EXPECT_EQ(i.inuse_space, 1u);
  EXPECT_FALSE(i.alloc_space.has_value());
  p.sample_types = {{"samples", "count"}, {"cpu", "nanoseconds"}};
  EXPECT_FALSE(FindHeapValues(p).inuse_space.has_value());
}

TEST(SampledBlockCountTest, InvertsTheUnsamplingScale) {
  // 10 sampled blocks of 4 KiB at period 512 KiB, un-sampled as Go does.
  const double period = 512 * 1024, size = 4096, sampled = 10;
  const double scale = 1 / (1 - std::exp(-size / period));
  EXPECT_NEAR(SampledBlockCount(sampled * scale, sampled * scale * size, 512 * 1024), sampled, 1e-9);
  // Blocks far above the period are always sampled: the scale is ~1.
  EXPECT_NEAR(SampledBlockCount(3, 3 * 64.0 * 1024 * 1024, 512 * 1024), 3, 1e-9);
  // Rate 1 records everything.
  EXPECT_EQ(SampledBlockCount(42, 4200, 1), 42);
  EXPECT_EQ(SampledBlockCount(0, 0, 512 * 1024), 0);
}

}  // namespace
}  // namespace heapwatch
