// Leak zoo: an unbounded cache keyed by unique ids (Go: a global map used as
// a cache).
//
// Each tick the service renders pages. The leaking cache memoizes each
// rendered 16 KiB page under the request id, which is unique: it never hits
// and never evicts. The control is a bounded LRU cache of user profiles
// (512 entries of 16 KiB, 8 MiB) in front of 12 lookups a tick over 4096
// users: it fills in about a second, then every miss evicts the least
// recently used entry, and its in-use bytes stay flat. A bounded cache must
// read as a plateau, never as a leak.
//
//   CacheRenderedPageByRequestId   leak: +4 x 16 KiB per tick, never a hit (16 MiB over 250 ticks)
//   LookupProfileThroughLru        control: 8 MiB after ~1 s, then flat (plateau)
#include <list>
#include <string>
#include <unordered_map>
#include <utility>

#include "tests/leakzoo/zoo_service.h"

constexpr size_t kPageBytes = 16 * 1024;
constexpr int kPagesPerTick = 4;              // 16 MiB over 250 ticks: ~32 samples at the default rate
constexpr size_t kLruCapacity = 512;          // x 16 KiB = an 8 MiB plateau, 16 samples at the default rate
constexpr int kLookupsPerTick = 12;           // ~88% misses: full after ~50 ticks (~1 s)
constexpr uint64_t kUserPopulation = 4096;

std::unordered_map<uint64_t, std::string> g_rendered_pages;  // by request id

// A least-recently-used cache with a fixed number of entries. Not thread safe.
struct ProfileLru {
  std::list<std::pair<uint64_t, std::string>> entries;  // most recently used first
  std::unordered_map<uint64_t, std::list<std::pair<uint64_t, std::string>>::iterator> index;
};
ProfileLru g_profiles;
uint64_t g_lru_hits = 0, g_lru_misses = 0;

// The leak: memoized under a key that never repeats.
NOINLINE const std::string& CacheRenderedPageByRequestId(uint64_t request_id) {
  auto found = g_rendered_pages.find(request_id);
  if (found != g_rendered_pages.end()) return found->second;
  std::string page(kPageBytes, ' ');
  FillBytes(page.data(), 256, request_id);
  return g_rendered_pages.emplace(request_id, std::move(page)).first->second;
}

NOINLINE const std::string& LookupProfileThroughLru(uint64_t user_id) {
  auto found = g_profiles.index.find(user_id);
  if (found != g_profiles.index.end()) {
    ++g_lru_hits;
    g_profiles.entries.splice(g_profiles.entries.begin(), g_profiles.entries, found->second);
    return found->second->second;
  }
  ++g_lru_misses;
  std::string profile(kPageBytes, ' ');
  FillBytes(profile.data(), 256, user_id);
  if (g_profiles.entries.size() == kLruCapacity) {
    g_profiles.index.erase(g_profiles.entries.back().first);
    g_profiles.entries.pop_back();
  }
  g_profiles.entries.emplace_front(user_id, std::move(profile));
  g_profiles.index[user_id] = g_profiles.entries.begin();
  return g_profiles.entries.front().second;
}

NOINLINE void ReserveProfileIndex() { g_profiles.index.reserve(kLruCapacity); }

int main(int argc, char** argv) {
  ZooOptions options = ParseZooOptions(argc, argv);
  ReserveProfileIndex();
  uint64_t next_request = 1;
  size_t bytes_served = 0;
  RunRequestLoop(options, [&](int, Rng& rng) {
    ServeBackgroundTraffic(rng);
    if (!options.clean) {
      for (int i = 0; i < kPagesPerTick; ++i) bytes_served += CacheRenderedPageByRequestId(next_request++).size();
    }
    for (int i = 0; i < kLookupsPerTick; ++i) {
      bytes_served += LookupProfileThroughLru(Uniform(rng, 1, kUserPopulation)).size();
    }
  });
  EXPECT_OR_DIE(g_profiles.entries.size() <= kLruCapacity && g_profiles.index.size() == g_profiles.entries.size());
  EXPECT_OR_DIE(g_lru_hits + g_lru_misses == static_cast<uint64_t>(options.iterations) * kLookupsPerTick);
  Escape(&bytes_served);
  return 0;
}
