// Allocations of known totals at four sites, for checking the default-rate
// estimates against the truth (tests/e2e/sampling_accuracy_test.cc).
#include "tests/programs/sampling_accuracy.h"

#include <cstdlib>
#include <vector>

#include "tests/programs/test_program.h"

using sampling_accuracy::kSites;

std::vector<void*> g_kept;

NOINLINE void ChurnTiny() {
  for (long i = 0; i < kSites[0].count; ++i) {
    void* p = std::malloc(kSites[0].size);
    Escape(p);
    std::free(p);
  }
}
NOINLINE void ChurnSmall() {
  for (long i = 0; i < kSites[1].count; ++i) {
    void* p = std::malloc(kSites[1].size);
    Escape(p);
    std::free(p);
  }
}
NOINLINE void KeepMedium() {
  for (long i = 0; i < kSites[2].count; ++i) g_kept.push_back(std::malloc(kSites[2].size));
}
NOINLINE void KeepLarge() {
  for (long i = 0; i < kSites[3].count; ++i) g_kept.push_back(std::malloc(kSites[3].size));
}

int main() {
  g_kept.reserve(4096);
  ChurnTiny();
  ChurnSmall();
  KeepMedium();
  KeepLarge();
  return 0;
}
