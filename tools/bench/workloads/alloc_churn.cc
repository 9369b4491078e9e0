// alloc_churn: a multi-threaded, allocation-heavy C++ program for the
// whole-program benchmark (tools/bench/run.sh). Not a test program.
//
//   alloc_churn [THREADS (default 4)] [ROUNDS per thread (default 200000)]
//
// Each thread keeps a working set of kSlots objects and, every round,
// replaces one at random with a freshly built one: a std::string, a
// std::vector grown by push_back, a small std::map, or an unordered_map node
// churned in a per-thread table. That is the shape of a server handling
// requests: many short-lived small blocks of mixed sizes, a steady live heap
// (so peak RSS is meaningful), occasional larger buffers, and every thread
// allocating at once. A round makes about 12 allocations.
//
// Prints a checksum so the work cannot be optimized away.

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <unordered_map>
#include <variant>
#include <vector>

namespace {

// 4096 live objects per thread: a few MiB of heap across threads, enough
// to be a real working set and small enough to stay in RAM anywhere.
constexpr size_t kSlots = 4096;

struct Rng {
  uint64_t state;
  uint64_t Next() {
    state ^= state << 13, state ^= state >> 7, state ^= state << 17;
    return state;
  }
};

using Object = std::variant<std::monostate, std::string, std::vector<uint32_t>,
                            std::map<uint32_t, std::string>, std::unique_ptr<char[]>>;

Object Build(Rng& rng, uint64_t* checksum) {
  uint64_t r = rng.Next();
  switch (r % 8) {
    case 0:
    case 1:
    case 2: {  // strings of 16..271 bytes: the most common case
      std::string s(16 + (r >> 8) % 256, static_cast<char>('a' + r % 26));
      *checksum += s.size();
      return s;
    }
    case 3:
    case 4: {  // a vector grown element by element (realloc-like growth)
      std::vector<uint32_t> v;
      size_t n = 8 + (r >> 8) % 120;
      for (size_t i = 0; i < n; ++i) v.push_back(static_cast<uint32_t>(i * r));
      *checksum += v.back();
      return v;
    }
    case 5:
    case 6: {  // a small tree of nodes with strings in them
      std::map<uint32_t, std::string> m;
      for (int i = 0; i < 4; ++i) m.emplace(static_cast<uint32_t>(rng.Next()), std::string(24, 'k'));
      *checksum += m.size();
      return m;
    }
    default: {  // now and then a larger buffer, 4..68 KiB
      size_t n = 4096 + (r >> 8) % 65536;
      auto buffer = std::make_unique<char[]>(n);
      buffer[n - 1] = 1;
      *checksum += n;
      return buffer;
    }
  }
}

void Worker(int index, long rounds, uint64_t* result) {
  Rng rng{0x9e3779b97f4a7c15ull * static_cast<uint64_t>(index + 1)};
  std::vector<Object> slots(kSlots);
  std::unordered_map<uint64_t, std::string> table;  // churned: insert one, erase one
  uint64_t checksum = 0;
  for (long round = 0; round < rounds; ++round) {
    slots[rng.Next() % kSlots] = Build(rng, &checksum);
    uint64_t key = rng.Next() % 2048;
    if (auto it = table.find(key); it != table.end()) {
      checksum += it->second.size();
      table.erase(it);
    } else {
      table.emplace(key, std::string(40, 'v'));
    }
  }
  *result = checksum + table.size();
}

}  // namespace

int main(int argc, char** argv) {
  int threads = argc > 1 ? std::atoi(argv[1]) : 4;
  long rounds = argc > 2 ? std::atol(argv[2]) : 200000;
  if (threads < 1 || rounds < 0) {
    std::fprintf(stderr, "usage: alloc_churn [THREADS] [ROUNDS]\n");
    return 2;
  }
  std::vector<uint64_t> results(threads);
  std::vector<std::thread> workers;
  for (int i = 0; i < threads; ++i) workers.emplace_back(Worker, i, rounds, &results[i]);
  uint64_t checksum = 0;
  for (int i = 0; i < threads; ++i) {
    workers[i].join();
    checksum += results[i];
  }
  std::printf("checksum %llu\n", static_cast<unsigned long long>(checksum));
  return 0;
}
