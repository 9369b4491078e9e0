// What the preload records, checked exactly at HEAPWATCH_RATE=1.
#include <gtest/gtest.h>

#include "tests/e2e/preload_harness.h"
#include "tests/programs/alloc_sites.h"
#include "tests/programs/entry_points.h"

namespace heapwatch::testing {
namespace {

std::map<std::string, std::string> RateOne() { return {{"HEAPWATCH_RATE", "1"}}; }

// Runs `program` at rate 1 and returns its exit profile.
perftools::profiles::Profile RunAndReadExitProfile(const std::vector<std::string>& argv, pid_t* pid_out = nullptr) {
  std::string dir = MakeTempDir("out");
  ProcessResult r = RunUnderPreload(argv, dir, RateOne());
  EXPECT_FALSE(r.timed_out);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  std::vector<std::string> files = ProfileFiles(dir);
  EXPECT_EQ(files.size(), 1u) << "one exit profile, no periodic ones with HEAPWATCH_INTERVAL=0";
  if (files.empty()) return {};
  perftools::profiles::Profile profile = ReadProfile(files[0]);
  EXPECT_EQ(CommentValue(profile, "dropped_samples"), "0");
  EXPECT_EQ(CommentValue(profile, "kind"), "exit");
  if (pid_out != nullptr) *pid_out = std::stoi(CommentValue(profile, "pid"));
  return profile;
}

TEST(PreloadAllocationTest, ExactTotalsPerCallSite) {
  using namespace alloc_sites;
  perftools::profiles::Profile p = RunAndReadExitProfile({TestProgram("alloc_sites")});
  EXPECT_EQ(TotalsAtLeaf(p, "KeepBlocks"),
            (HeapTotals{kKeptCount, kKeptCount * kKeptSize, kKeptCount, kKeptCount * kKeptSize}));
  EXPECT_EQ(TotalsAtLeaf(p, "AllocateAndFree"), (HeapTotals{kFreedCount, kFreedCount * kFreedSize, 0, 0}));
  // Allocated in a worker thread, freed by main: the free still finds it.
  EXPECT_EQ(TotalsAtLeaf(p, "AllocateInWorker"),
            (HeapTotals{kCrossThreadCount, kCrossThreadCount * kCrossThreadSize, 0, 0}));
  // The same address handed out again and again: only the last block lives.
  EXPECT_EQ(TotalsAtLeaf(p, "ReuseAddresses"), (HeapTotals{kReuseRounds, kReuseRounds * kReuseSize, 1, kReuseSize}));
  EXPECT_EQ(p.period(), 1);
}

TEST(PreloadAllocationTest, EveryEntryPointRecordedOnceWithTheRequestedSize) {
  using namespace entry_points;
  perftools::profiles::Profile p = RunAndReadExitProfile({TestProgram("entry_points")});
  for (const KeptSite& site : kKeptSites) {
    HeapTotals expected = {1, site.bytes, 1, site.bytes};
    // ViaRealloc also allocated the 1020-byte block it grew, freed by realloc.
    if (std::string(site.function) == "ViaRealloc") expected = {2, 1020 + 2020, 1, 2020};
    EXPECT_EQ(TotalsAtLeaf(p, site.function), expected) << site.function;
  }
  for (const KeptSite& site : kFreedSites) {
    EXPECT_EQ(TotalsAtLeaf(p, site.function), (HeapTotals{1, site.bytes, 0, 0})) << site.function;
  }
  // The failed allocations of CheckContracts and CheckNewHandler left no trace.
  HeapTotals contracts = TotalsAtLeaf(p, "CheckContracts");
  EXPECT_EQ(contracts.inuse_objects, 0);
  EXPECT_EQ(TotalsAtLeaf(p, "CheckNewHandler").inuse_objects, 0);
}

TEST(PreloadAllocationTest, ThousandThreadsStartAndEnd) {
  perftools::profiles::Profile p = RunAndReadExitProfile({TestProgram("threads_churn"), "1000"});
  EXPECT_EQ(TotalsAtLeaf(p, "ThreadBody"), (HeapTotals{1000, 1000 * 4321, 1000, 1000 * 4321}));
}

TEST(PreloadAllocationTest, PeriodicProfilesAreNumberedAndComplete) {
  std::string dir = MakeTempDir("out");
  ProcessResult r = RunUnderPreload({TestProgram("exit_paths"), "exit", "1500"}, dir,
                                {{"HEAPWATCH_RATE", "1"}, {"HEAPWATCH_INTERVAL", "0.2"}});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::vector<std::string> files = ProfileFiles(dir);
  ASSERT_GE(files.size(), 3u) << "at least two periodic profiles and the exit one";
  int64_t last_time = 0;
  int periodic = 0;
  for (const std::string& file : files) {
    if (file.find(".exit.") != std::string::npos) continue;
    ++periodic;
    char expected[32];
    snprintf(expected, sizeof(expected), ".%04d.pb.gz", periodic);
    EXPECT_NE(file.find(expected), std::string::npos) << file << " should be number " << periodic;
    perftools::profiles::Profile p = ReadProfile(file);
    EXPECT_EQ(CommentValue(p, "kind"), "periodic");
    EXPECT_GT(p.time_nanos(), last_time);
    last_time = p.time_nanos();
    EXPECT_GT(p.duration_nanos(), 0);
    // KeepAtExit ran before the sleep: every periodic profile has it.
    EXPECT_EQ(TotalsAtLeaf(p, "KeepAtExit").inuse_space, 3 * 5555) << file;
  }
}

TEST(PreloadAllocationTest, DumpOnDemandFromAnyThread) {
  std::string dir = MakeTempDir("out");
  ProcessResult r = RunUnderPreload({TestProgram("dump_api")}, dir, {{"HEAPWATCH_RATE", "64"}});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "active=1 rate=64 dumps=2\n");
  std::vector<std::string> files = ProfileFiles(dir);
  ASSERT_EQ(files.size(), 3u) << "two on demand, then the exit profile";
  EXPECT_NE(files[0].find(".0001.pb.gz"), std::string::npos);
  EXPECT_NE(files[1].find(".0002.pb.gz"), std::string::npos);
  EXPECT_NE(files[2].find(".exit.pb.gz"), std::string::npos);
  for (int i = 0; i < 2; ++i) {
    perftools::profiles::Profile p = ReadProfile(files[i]);
    EXPECT_EQ(CommentValue(p, "kind"), "on-demand");
    EXPECT_GT(TotalsAtLeaf(p, "KeepBeforeDump").inuse_space, 0) << "at rate 64 a 7777-byte block is sampled with probability 1 - exp(-121)";
  }
  // Without the preload the program runs and finds no API.
  ProcessResult plain = RunProgram({TestProgram("dump_api")}, {{"LD_PRELOAD", ""}});
  EXPECT_EQ(plain.out, "active=0 rate=0 dumps=0\n");
}

}  // namespace
}  // namespace heapwatch::testing
