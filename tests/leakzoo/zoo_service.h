// The toy service every leak-zoo program is built from: options, a paced
// request loop, and the background traffic that surrounds each leak.
//
// A zoo program runs one leaking request handler and its look-alike control
// side by side for a few seconds (250 ticks of 20 ms by default), so that a
// series of heap profiles taken every 0.5 s shows the leak's in-use bytes
// climbing while the control's stay flat. Every program takes:
//
//   --clean            run only the non-leaking variants (must pass a leak check)
//   --iterations=N     request-loop ticks (default 250); the exit-time checkers
//                      run with fewer, since they only need the leak to exist
//   --tick-ms=N        milliseconds per tick (default 20; 0 runs flat out)
//   --seed=N           seed of the request generator (default 1)
//
// The programs print nothing unless something is wrong (usage: exit 2; a
// failed self-check: exit 3).
//
// Rules that keep the profiles readable (tests look for these names):
//   - each handler a test looks for is a NOINLINE function at global scope;
//   - every allocation a handler is blamed for is made in the handler itself,
//     through std:: or libc code only (which the analyzer skips), never through
//     a user-level helper, which would become the "first user frame" once
//     inlined frames are expanded from DWARF;
//   - containers that both the leak and its control keep are reserved up
//     front, so that a control does not grow even when every allocation is
//     recorded (HEAPWATCH_RATE=1).
// Not for benchmarks: the loop sleeps between ticks to keep CPU use low.

#ifndef HEAPWATCH_TESTS_LEAKZOO_ZOO_SERVICE_H_
#define HEAPWATCH_TESTS_LEAKZOO_ZOO_SERVICE_H_

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "tests/programs/test_program.h"

using Rng = std::mt19937_64;

struct ZooOptions {
  bool clean = false;     // only the non-leaking variants
  int iterations = 250;   // request-loop ticks: 250 x 20 ms = 5 s, ten 0.5 s snapshots
  int tick_ms = 20;       // one tick every tick_ms milliseconds
  uint64_t seed = 1;
};

// Parses the options above; prints usage and exits 2 on anything else.
inline ZooOptions ParseZooOptions(int argc, char** argv) {
  ZooOptions options;
  auto usage = [&] {
    std::fprintf(stderr, "usage: %s [--clean] [--iterations=N] [--tick-ms=N] [--seed=N]\n", argv[0]);
    std::exit(2);
  };
  auto number = [&](std::string_view text) {
    char* end = nullptr;
    std::string copy(text);
    unsigned long long value = std::strtoull(copy.c_str(), &end, 10);
    if (copy.empty() || *end != '\0') usage();
    return value;
  };
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "--clean") {
      options.clean = true;
    } else if (arg.starts_with("--iterations=")) {
      options.iterations = static_cast<int>(number(arg.substr(13)));
    } else if (arg.starts_with("--tick-ms=")) {
      options.tick_ms = static_cast<int>(number(arg.substr(10)));
    } else if (arg.starts_with("--seed=")) {
      options.seed = number(arg.substr(7));
    } else {
      usage();
    }
  }
  if (options.iterations < 1 || options.iterations > 1'000'000 || options.tick_ms > 10'000) usage();
  return options;
}

// Calls tick(index, rng) options.iterations times, one tick every
// options.tick_ms milliseconds (deadlines, not sleeps, so a slow tick does
// not stretch the run).
template <typename Tick>
void RunRequestLoop(const ZooOptions& options, Tick&& tick) {
  Rng rng(options.seed);
  auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < options.iterations; ++i) {
    tick(i, rng);
    if (options.tick_ms > 0) std::this_thread::sleep_until(start + std::chrono::milliseconds(options.tick_ms) * (i + 1));
  }
}

inline uint64_t Uniform(Rng& rng, uint64_t low, uint64_t high) {  // [low, high]
  return std::uniform_int_distribution<uint64_t>(low, high)(rng);
}

// Writes a deterministic pseudo-random payload into `out` (no allocation).
inline void FillBytes(char* out, size_t size, uint64_t seed) {
  uint64_t x = seed * 0x9E3779B97F4A7C15ull + 1;
  for (size_t i = 0; i < size; ++i) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    out[i] = static_cast<char>('a' + x % 26);
  }
}

// Background traffic around every leak: short-lived allocations that are
// freed before the request ends (alloc_space grows, in-use does not). One
// call parses a request line into fields and headers, builds a response,
// and now and then works on a large temporary buffer, the "many temporaries
// / large arrays by value" row of the design's table. Expected: stable.
NOINLINE inline size_t HandleBackgroundRequest(Rng& rng) {
  // About 1 in 4 requests copies a 96 KiB body: at the default sampling rate
  // (512 KiB) a few of those are sampled every second, so churn is visible
  // in alloc_space.
  constexpr size_t kLargeBodyBytes = 96 * 1024;
  std::string line = "GET /api/v1/items/" + std::to_string(Uniform(rng, 1, 1'000'000)) +
                     "?fields=name,price,stock&lang=en HTTP/1.1";
  std::vector<std::string> fields;
  for (size_t start = 0; start < line.size();) {
    size_t end = line.find_first_of(" ?&/", start);
    if (end == std::string::npos) end = line.size();
    if (end > start) fields.emplace_back(line, start, end - start);
    start = end + 1;
  }
  std::map<std::string, std::string> headers;
  for (int i = 0; i < 6; ++i) {
    headers["x-header-" + std::to_string(i)] = std::string(16 + Uniform(rng, 0, 48), 'v');
  }
  std::string response;
  for (const std::string& field : fields) response += field + ";";
  for (const auto& [key, value] : headers) response += key + ": " + value + "\r\n";
  size_t checksum = response.size();
  if (Uniform(rng, 0, 3) == 0) {
    std::vector<char> body(kLargeBodyBytes);
    FillBytes(body.data(), 64, checksum);
    checksum += static_cast<unsigned char>(body[7]);
  }
  Escape(response.data());
  return checksum;
}

// Several background requests per tick.
inline void ServeBackgroundTraffic(Rng& rng, int requests = 8) {
  size_t checksum = 0;
  for (int i = 0; i < requests; ++i) checksum += HandleBackgroundRequest(rng);
  Escape(&checksum);
}

#endif  // HEAPWATCH_TESTS_LEAKZOO_ZOO_SERVICE_H_
