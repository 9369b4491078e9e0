// What sampling_accuracy allocates, shared with the test that checks the
// default-rate estimates against it.
#ifndef HEAPWATCH_TESTS_PROGRAMS_SAMPLING_ACCURACY_H_
#define HEAPWATCH_TESTS_PROGRAMS_SAMPLING_ACCURACY_H_

namespace sampling_accuracy {

struct Site {
  const char* function;
  long count;    // blocks allocated
  long size;     // bytes each
  bool kept;     // still in use at exit (else freed right away)
};

// Sizes span the interesting range around the 512 KiB period: tiny blocks
// sampled rarely, mid-size ones sometimes, big ones almost always.
inline constexpr Site kSites[] = {
    {"ChurnTiny", 8'000'000, 64, false},     // ~977 samples expected
    {"ChurnSmall", 400'000, 2048, false},    // ~1562
    {"KeepMedium", 3000, 16384, true},       // ~92
    {"KeepLarge", 48, 1 << 20, true},        // ~42 (p = 0.86)
};

}  // namespace sampling_accuracy

#endif  // HEAPWATCH_TESTS_PROGRAMS_SAMPLING_ACCURACY_H_
