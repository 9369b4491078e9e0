// The preload's settings, from HEAPWATCH_* environment variables.
//
//   HEAPWATCH_RATE      mean bytes between samples (default 524288; 1 records
//                       every allocation); k, m, g, t suffixes mean KiB, MiB, GiB, TiB
//   HEAPWATCH_DEPTH     frames kept per stack (default 64, at most 256)
//   HEAPWATCH_INTERVAL  seconds between periodic profiles, decimal (default
//                       10; 0 writes only the exit profile)
//   HEAPWATCH_OUT       output directory (default ./heapwatch-profiles,
//                       announced once on stderr; created if missing)
//   HEAPWATCH_CHILDREN  0 keeps exec'd child programs unprofiled (default 1)
//   HEAPWATCH_QUIET     1 silences the informational lines on stderr
//
// A bad value is reported once on stderr and replaced by its default: the
// program always runs. Parsing never allocates (the environment is read
// during start-up, from inside malloc if need be).

#ifndef HEAPWATCH_PRELOAD_CONFIG_H_
#define HEAPWATCH_PRELOAD_CONFIG_H_

#include <cstddef>
#include <cstdint>

namespace heapwatch {

inline constexpr int64_t kDefaultSampleRate = 512 * 1024;  // as Go's MemProfileRate and jemalloc's lg_prof_sample=19
inline constexpr int kDefaultStackDepth = 64;
inline constexpr int kMaxStackDepth = 256;
inline constexpr int64_t kDefaultIntervalNanos = 10'000'000'000;
inline constexpr size_t kMaxPathLength = 4096;

struct Config {
  int64_t sample_rate = kDefaultSampleRate;
  int stack_depth = kDefaultStackDepth;
  int64_t interval_nanos = kDefaultIntervalNanos;
  char output_dir[kMaxPathLength] = {};  // empty: not set
  bool profile_children = true;
  bool quiet = false;
};

// Reads the settings through `get` (getenv in production, a table in tests).
// Each bad value produces one Warn line naming the variable, the value and
// the default used.
void LoadConfig(const char* (*get)(const char* name), Config* config);

// The individual parsers; false for anything but a well-formed value in range.
bool ParseInteger(const char* text, int64_t min, int64_t max, int64_t* value);
bool ParseByteCount(const char* text, int64_t min, int64_t max, int64_t* value);  // k/m/g/t suffixes
bool ParseSeconds(const char* text, int64_t* nanos);
bool ParseFlag(const char* text, bool* value);

}  // namespace heapwatch

#endif  // HEAPWATCH_PRELOAD_CONFIG_H_
