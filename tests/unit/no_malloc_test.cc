// The collector's naming code must not call malloc: this binary replaces the
// malloc family with counters (forwarding to glibc's __libc_* functions) and
// counts calls made on the test's thread while a probe is open. Everything
// else (gtest, the setup) allocates freely outside the probes.

#include <dlfcn.h>
#include <link.h>
#include <malloc.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "preload/demangle.h"
#include "preload/elf_file.h"
#include "preload/elf_symbols.h"
#include "preload/environment.h"
#include "preload/memory_map.h"
#include "preload/profile_file.h"
#include "preload/function_name.h"
#include "symbols_fixture.h"
#include "tests/unit/rust_symbols.h"
#include "tests/unit/shell_and_files.h"

extern "C" {
void* __libc_malloc(size_t size);
void* __libc_calloc(size_t count, size_t size);
void* __libc_realloc(void* pointer, size_t size);
void* __libc_memalign(size_t alignment, size_t size);
void* __libc_valloc(size_t size);
void* __libc_pvalloc(size_t size);
// libiberty's allocating entry points, for the probe's self-check.
char* cplus_demangle_v3(const char* mangled, int options);
int rust_demangle_callback(const char* mangled, int options, void (*callback)(const char*, size_t, void*),
                           void* opaque);
}

namespace {

// Only the thread that opened a probe counts: initial-exec TLS in the
// executable needs no allocation to reach.
thread_local bool counting = false;
std::atomic<int> allocations{0};

void Count() {
  if (counting) allocations.fetch_add(1, std::memory_order_relaxed);
}

}  // namespace

extern "C" {
void* malloc(size_t size) {
  Count();
  return __libc_malloc(size);
}
void* calloc(size_t count, size_t size) {
  Count();
  return __libc_calloc(count, size);
}
void* realloc(void* pointer, size_t size) {
  Count();
  return __libc_realloc(pointer, size);
}
void* reallocarray(void* pointer, size_t count, size_t size) {
  Count();
  size_t bytes;
  if (__builtin_mul_overflow(count, size, &bytes)) {
    errno = ENOMEM;
    return nullptr;
  }
  return __libc_realloc(pointer, bytes);
}
void* memalign(size_t alignment, size_t size) {
  Count();
  return __libc_memalign(alignment, size);
}
void* aligned_alloc(size_t alignment, size_t size) {
  Count();
  return __libc_memalign(alignment, size);
}
int posix_memalign(void** result, size_t alignment, size_t size) {
  Count();
  if (alignment % sizeof(void*) != 0 || (alignment & (alignment - 1)) != 0) return EINVAL;
  void* pointer = __libc_memalign(alignment, size);
  if (pointer == nullptr) return ENOMEM;
  *result = pointer;
  return 0;
}
void* valloc(size_t size) {
  Count();
  return __libc_valloc(size);
}
void* pvalloc(size_t size) {
  Count();
  return __libc_pvalloc(size);
}
}  // extern "C"

namespace heapwatch {
namespace {

// Counts the malloc calls `work` makes on this thread.
template <typename Work>
int AllocationsDuring(Work work) {
  allocations = 0;
  counting = true;
  work();
  counting = false;
  return allocations.load();
}

TEST(NoMallocTest, TheProbeSeesAllocations) {
  // Through a volatile pointer, so the compiler cannot elide the pair.
  void* (*volatile allocate)(size_t) = malloc;
  EXPECT_EQ(AllocationsDuring([&] { free(allocate(16)); }), 1);
  EXPECT_GE(AllocationsDuring([] { delete new std::string(100, 'x'); }), 1);
  EXPECT_EQ(AllocationsDuring([] { free(strdup("heapwatch")); }), 1);
  // libiberty's allocating demangler is seen, and its callback demangler
  // does allocate for a punycode identifier (why demangle.cc avoids it).
  EXPECT_GE(AllocationsDuring([] { free(cplus_demangle_v3("_Z3fooi", 0)); }), 1);
  EXPECT_GE(AllocationsDuring([] {
              rust_demangle_callback(
                  test_support::kRustV0PunycodeSymbol, 0, [](const char*, size_t, void*) {}, nullptr);
            }),
            1);
}

struct Library {
  std::string path;
  ElfW(Addr) bias = 0;
  const ElfW(Phdr)* headers = nullptr;
  size_t header_count = 0;
};

Library FindLibrary(const char* part) {
  struct Search {
    const char* part;
    Library found;
  } search{part, {}};
  dl_iterate_phdr(
      [](dl_phdr_info* info, size_t, void* data) {
        Search* search = static_cast<Search*>(data);
        if (info->dlpi_name == nullptr || std::strstr(info->dlpi_name, search->part) == nullptr) return 0;
        search->found = {info->dlpi_name, info->dlpi_addr, info->dlpi_phdr, info->dlpi_phnum};
        return 1;
      },
      &search);
  return search.found;
}

TEST(NoMallocTest, LoadingAndLookingUpSymbols) {
  ASSERT_GT(fixture_loop(2), 0);  // keeps the fixture linked
  for (const char* part : {"libheapwatch_symbols_fixture.so", "libc.so.6"}) {
    Library library = FindLibrary(part);
    ASSERT_FALSE(library.path.empty()) << part;
    void* handle = dlopen(library.path.c_str(), RTLD_LAZY | RTLD_NOLOAD);
    ASSERT_NE(handle, nullptr);
    void* function = dlsym(handle, std::strstr(part, "libc") != nullptr ? "malloc" : "fixture_add");
    dlclose(handle);
    ASSERT_NE(function, nullptr);
    uint64_t address = reinterpret_cast<uintptr_t>(function) - library.bias;
    size_t found = 0;
    for (const char* debug_root : {ElfSymbolTable::kDefaultDebugRoot, ""}) {
      InternalArena arena;
      ElfSymbolTable table;
      char name[512];
      EXPECT_EQ(AllocationsDuring([&] {
                  char build_id[kBuildIdHexCapacity];
                  BuildIdFromProgramHeaders(library.bias, library.headers, library.header_count, build_id,
                                            sizeof(build_id));
                  BuildIdFromFile(library.path.c_str(), build_id, sizeof(build_id));
                  if (!table.Load(library.path.c_str(), build_id, &arena, debug_root)) return;
                  ElfSymbol symbol;
                  for (uint64_t probe = 0; probe < 4096; ++probe) {
                    if (table.Lookup(address + probe * 13, &symbol) == nullptr) continue;
                    FunctionDisplayName(symbol.name, symbol.name_length, name, sizeof(name));
                    ++found;
                  }
                }),
                0)
          << library.path << " with debug root '" << debug_root << "'";
    }
    EXPECT_GT(found, 0u) << library.path;
  }
}

// What start-up and profile writing call where glibc's equivalents
// (pthread_getattr_np, setenv, opendir) would allocate.
TEST(NoMallocTest, StartUpAndDirectoryHelpers) {
  int local = 0;
  MappingRange stack;
  bool found = false;
  EXPECT_EQ(AllocationsDuring([&] { found = FindMapping(reinterpret_cast<uintptr_t>(&local), &stack); }), 0);
  EXPECT_TRUE(found);
  EXPECT_EQ(AllocationsDuring([] { SetEnvironmentVariable("HEAPWATCH_NO_MALLOC_TEST", "1"); }), 0);
  EXPECT_STREQ(getenv("HEAPWATCH_NO_MALLOC_TEST"), "1");
  int entries = 0;
  EXPECT_EQ(AllocationsDuring([&] {
              ForEachDirectoryEntry(
                  "/proc/self", [](const char*, void* count) { ++*static_cast<int*>(count); }, &entries);
            }),
            0);
  EXPECT_GT(entries, 10);
}

TEST(NoMallocTest, DemanglingAndShortening) {
  // C++ function symbols of this binary (gtest, std templates), listed
  // before the probe opens.
  char self[4096];
  ssize_t length = readlink("/proc/self/exe", self, sizeof(self) - 1);
  ASSERT_GT(length, 0);
  std::string output = test_support::RunShell("nm --defined-only " + test_support::ShellQuote(std::string(
                                                                         self, static_cast<size_t>(length))))
                           .output;
  std::vector<std::string> symbols;
  for (const std::string& line : test_support::Lines(output)) {
    std::istringstream fields(line);
    std::string address, type, name;
    if (fields >> address >> type >> name && name.rfind("_Z", 0) == 0) symbols.push_back(name);
  }
  ASSERT_GE(symbols.size(), 500u);
  for (const char* symbol : test_support::kRustLegacySymbols) symbols.push_back(symbol);
  for (const char* symbol : test_support::kRustV0Symbols) symbols.push_back(symbol);
  symbols.push_back(test_support::kRustV0PunycodeSymbol);
  symbols.push_back("_RINvC8xCu3_abc3fooB5_E");  // back-reference into a punycode identifier
  symbols.push_back("_Z1f" + std::string(1000, 'P') + "i");
  std::string nested = "_ZN";
  for (int i = 0; i < 600; ++i) nested += "5abcde";
  symbols.push_back(nested + "Ev");

  size_t demangled = 0;
  EXPECT_EQ(AllocationsDuring([&] {
              char small[32];
              char large[8192];
              for (const std::string& symbol : symbols) {
                FunctionDisplayName(symbol.data(), symbol.size(), small, sizeof(small));
                FunctionDisplayName(symbol.data(), symbol.size(), large, sizeof(large));
                demangled += DemangleSymbol(symbol.data(), symbol.size(), large, sizeof(large)) > 0 ? 1 : 0;
                ShortenFunctionName(large, std::strlen(large), small, sizeof(small));
              }
            }),
            0);
  EXPECT_GE(demangled, symbols.size() * 9 / 10);
}

TEST(NoMallocTest, RandomRustV0LikeSymbols) {
  // Symbols glued from v0 fragments, rich in punycode identifiers ("u3_abc")
  // and back-references: libiberty itself mallocs for some of them (checked
  // below), ours must not for any.
  const std::vector<std::string> fragments = {
      "C",  "N",    "v",  "I",      "E",       "B",    "_",  "u",   "3",   "1",   "s",     "a",
      "h",  "3abc", "1x", "u3_abc", "u5ab_cd", "u2ab", "s_", "B2_", "B4_", "B6_", "NvC1a", "C1a",
      "Ru", "Tu",   "K",  "j1_",    "F",       "D",    "L_", "p",   "M",   "X",   "Y"};
  std::vector<std::string> symbols;
  uint32_t state = 12345;  // fixed: a failure must reproduce
  auto next = [&state] { return (state = state * 1664525u + 1013904223u) >> 8; };
  for (int i = 0; i < 20000; ++i) {
    std::string symbol = "_R";
    symbol += "CNI"[next() % 3];
    for (uint32_t count = 2 + next() % 10; count > 0; --count) symbol += fragments[next() % fragments.size()];
    symbols.push_back(symbol);
  }
  EXPECT_GT(AllocationsDuring([&] {
              for (const std::string& symbol : symbols) {
                rust_demangle_callback(
                    symbol.c_str(), 0, [](const char*, size_t, void*) {}, nullptr);
              }
            }),
            100);
  EXPECT_EQ(AllocationsDuring([&] {
              char out[256];
              for (const std::string& symbol : symbols) {
                FunctionDisplayName(symbol.data(), symbol.size(), out, sizeof(out));
                DemangleSymbol(symbol.data(), symbol.size(), out, sizeof(out));
              }
            }),
            0);
}

}  // namespace
}  // namespace heapwatch
