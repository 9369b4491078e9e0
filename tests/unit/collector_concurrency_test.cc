// The collector under ThreadSanitizer (label tsan): allocating threads
// record samples and forget blocks while the collector thread drains the
// ring, profiles are asked for from other threads, and dlclose-style drains
// run on the side. Built from the preload's sources with -fsanitize=thread
// (tests/unit/CMakeLists.txt); the allocating threads go through the same
// recording paths the hooks use, with the test's own allocator underneath.

#include <dirent.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "preload/allocation_recorder.h"
#include "preload/byte_sampler.h"
#include "preload/collector.h"
#include "preload/profiler_state.h"
#include "preload/real_allocator.h"
#include "preload/stack_capture.h"

namespace heapwatch {
namespace {

std::vector<std::string> ProfilesIn(const std::string& dir) {
  std::vector<std::string> names;
  if (DIR* d = opendir(dir.c_str())) {
    while (dirent* entry = readdir(d)) {
      std::string name = entry->d_name;
      if (name.rfind("heap.", 0) == 0) names.push_back(name);
    }
    closedir(d);
  }
  return names;
}

TEST(CollectorConcurrencyTest, ProducersCollectorAndRequestsTogether) {
  char dir[] = "/tmp/heapwatch-collector-tsan-XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  ResolveRealAllocator();
  Config& config = g_profiler.config;
  config.sample_rate = 1;  // every allocation through the slow path
  config.stack_depth = 16;
  config.interval_nanos = 50'000'000;  // periodic profiles every 50 ms
  snprintf(config.output_dir, sizeof(config.output_dir), "%s", dir);
  ByteSampler::SetRate(1);
  ASSERT_TRUE(g_profiler.ring.Init(1024, config.stack_depth));
  ASSERT_TRUE(g_profiler.solo_ring.Init(kSoloRingSlots, config.stack_depth));
  g_profiler.wake_stride = 64;
  InitStackCapture();
  ASSERT_TRUE(InitCollector("/proc/self/exe"));
  g_profiler.phase.store(Phase::kActive, std::memory_order_release);

  std::atomic<bool> stop{false};
  std::atomic<int> producers_done{0};
  constexpr int kProducers = 3;
  for (int t = 0; t < kProducers; ++t) {
    // Producers finish their work and then park, detached, until the
    // process exits: a thread that unwound with libunwind frees its trace
    // cache from a thread-specific-data destructor, and under gcc 12's
    // ThreadSanitizer that destructor's mutex lock crashes inside TSan's
    // interceptor at thread exit (seen here; not our code: threads that
    // sample and exit are covered, unsanitized, by the e2e thread tests).
    std::thread([&stop, &producers_done, t] {
      std::vector<void*> kept;
      while (!stop.load(std::memory_order_relaxed)) {
        for (int i = 0; i < 64; ++i) {
          size_t size = 32 + 16 * static_cast<size_t>(i + t);
          void* block = RecordAllocation(std::malloc(size), size);
          if (i % 4 == 0) {
            kept.push_back(block);
          } else if (ForgetBlock(block)) {
            std::free(block);
          }
        }
        if (kept.size() > 256) {
          for (void* block : kept) {
            if (ForgetBlock(block)) std::free(block);
          }
          kept.clear();
        }
      }
      for (void* block : kept) {
        if (ForgetBlock(block)) std::free(block);
      }
      producers_done.fetch_add(1);
      for (;;) pause();
    }).detach();
  }
  // Meanwhile: on-demand profiles and drains from another thread, while the
  // collector thread (started by the first request) writes periodic ones.
  std::thread requester([&stop] {
    for (int i = 0; i < 10 && !stop.load(); ++i) {
      EXPECT_TRUE(WriteProfileNow(ProfileKind::kOnDemand));
      DrainRingNow();
      usleep(20000);
    }
  });
  usleep(500000);
  stop.store(true);
  while (producers_done.load() < kProducers) usleep(1000);
  requester.join();
  g_profiler.phase.store(Phase::kStopped, std::memory_order_release);
  EXPECT_TRUE(WriteProfileNow(ProfileKind::kExit));
  StopCollectorThread();
  EXPECT_GE(ProfilesIn(dir).size(), 11u) << "10 on demand, periodic ones, the exit profile";
  EXPECT_EQ(g_sampled_blocks.Count(), 0u) << "every recorded block was forgotten";
  std::string cleanup = std::string("rm -rf '") + dir + "'";
  EXPECT_EQ(system(cleanup.c_str()), 0);
}

}  // namespace
}  // namespace heapwatch
