// What alloc_sites allocates, shared with the test that checks its profile.
#ifndef HEAPWATCH_TESTS_PROGRAMS_ALLOC_SITES_H_
#define HEAPWATCH_TESTS_PROGRAMS_ALLOC_SITES_H_

namespace alloc_sites {

// KeepBlocks: allocated and never freed.
inline constexpr int kKeptCount = 40;
inline constexpr int kKeptSize = 3000;
// AllocateAndFree: allocated, then freed.
inline constexpr int kFreedCount = 25;
inline constexpr int kFreedSize = 700;
// AllocateInWorker: allocated by a worker thread, freed by main.
inline constexpr int kCrossThreadCount = 30;
inline constexpr int kCrossThreadSize = 1234;
// ReuseAddresses: allocate and free one size repeatedly (the allocator
// hands the same address back), keeping only the last block.
inline constexpr int kReuseRounds = 500;
inline constexpr int kReuseSize = 96;

}  // namespace alloc_sites

#endif  // HEAPWATCH_TESTS_PROGRAMS_ALLOC_SITES_H_
