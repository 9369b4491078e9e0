#include "preload/demangle.h"

#include <limits.h>
#include <pthread.h>
#include <unistd.h>

#include <cstring>
#include <random>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "preload/function_name.h"
#include "tests/unit/rust_symbols.h"
#include "tests/unit/shell_and_files.h"

namespace heapwatch {
namespace {

using test_support::kRustLegacySymbols;
using test_support::kRustV0PunycodeSymbol;
using test_support::kRustV0Symbols;
using test_support::Lines;
using test_support::RunShell;
using test_support::ScratchDirectory;
using test_support::ShellQuote;
using test_support::WriteFileBytes;

constexpr size_t kLargeBuffer = 1 << 16;

std::string Demangled(const std::string& symbol, size_t out_size = kLargeBuffer) {
  std::string out(out_size, '\0');
  out.resize(DemangleSymbol(symbol.data(), symbol.size(), out.data(), out.size()));
  return out;
}

std::string Display(const std::string& symbol, size_t out_size = kLargeBuffer) {
  std::string out(out_size, '\0');
  out.resize(FunctionDisplayName(symbol.data(), symbol.size(), out.data(), out.size()));
  return out;
}

std::string Shorten(const std::string& name) {
  std::string out(name.size() + 1, '\0');
  out.resize(ShortenFunctionName(name.data(), name.size(), out.data(), out.size()));
  return out;
}

// c++filt's output for each symbol (it prints a symbol unchanged when it
// cannot demangle it).
std::vector<std::string> Cxxfilt(const std::vector<std::string>& symbols) {
  ScratchDirectory scratch;
  std::string input;
  for (const std::string& symbol : symbols) input += symbol + "\n";
  EXPECT_TRUE(WriteFileBytes(scratch / "symbols", input));
  return Lines(RunShell("c++filt < " + ShellQuote(scratch / "symbols")).output);
}

std::string ThisExecutable() {
  char path[PATH_MAX];
  ssize_t length = readlink("/proc/self/exe", path, sizeof(path) - 1);
  return length > 0 ? std::string(path, static_cast<size_t>(length)) : std::string();
}

TEST(DemangleTest, CxxFunctionsOfThisBinaryMatchCxxfilt) {
  // Function symbols (text, weak, ifunc) of this C++ binary: gtest, the
  // standard library's templates, ours.
  std::vector<std::string> symbols;
  for (const std::string& line :
       Lines(RunShell("nm --defined-only " + ShellQuote(ThisExecutable())).output)) {
    std::istringstream fields(line);
    std::string address, type, name;
    if (!(fields >> address >> type >> name)) continue;
    if (std::string("TtWi").find(type) == std::string::npos || name.rfind("_Z", 0) != 0) continue;
    if (name.find('@') != std::string::npos) continue;  // c++filt would split "name@VERSION"
    symbols.push_back(name);
  }
  ASSERT_GE(symbols.size(), 500u);
  std::vector<std::string> expected = Cxxfilt(symbols);
  ASSERT_EQ(expected.size(), symbols.size());
  size_t demangled = 0;
  for (size_t i = 0; i < symbols.size(); ++i) {
    const std::string& symbol = symbols[i];
    if (symbol.size() > kMaxDemangledSymbolLength || expected[i] == symbol) {
      EXPECT_EQ(Demangled(symbol), "") << symbol;
      EXPECT_EQ(Display(symbol), symbol);
      continue;
    }
    ++demangled;
    EXPECT_EQ(Demangled(symbol), expected[i]) << symbol;
    EXPECT_EQ(Display(symbol), Shorten(expected[i])) << symbol;
  }
  EXPECT_GE(demangled, symbols.size() * 99 / 100);
}

TEST(DemangleTest, ExamplesFromTheContract) {
  // void std::vector<int>::_M_realloc_insert<int const&>(iterator, int const&)
  EXPECT_EQ(
      Display("_ZNSt6vectorIiSaIiEE17_M_realloc_insertIJRKiEEEvN9__gnu_cxx17__normal_iteratorIPiS1_EEDpOT_"),
      "std::vector::_M_realloc_insert");
  EXPECT_EQ(Display("_Znwm"), "operator new");
  EXPECT_EQ(Display("_ZN12_GLOBAL__N_16Worker3runEv"), "(anonymous namespace)::Worker::run");
  EXPECT_EQ(Display("_ZZ4mainENKUlvE_clEv"), "main::{lambda()#1}::operator()");
  EXPECT_EQ(Display("_Z9make_nameB5cxx11i"), "make_name");
  EXPECT_EQ(Display("_Z3fooi.cold"), "foo");
}

TEST(DemangleTest, RustLegacySymbolsLoseOnlyTheirHash) {
  std::vector<std::string> symbols(std::begin(kRustLegacySymbols), std::end(kRustLegacySymbols));
  std::vector<std::string> expected = Cxxfilt(symbols);
  ASSERT_EQ(expected.size(), symbols.size());
  for (size_t i = 0; i < symbols.size(); ++i) {
    ASSERT_NE(expected[i], symbols[i]) << "c++filt cannot demangle " << symbols[i];
    EXPECT_EQ(Demangled(symbols[i]), expected[i]);
    EXPECT_EQ(Display(symbols[i]), std::regex_replace(expected[i], std::regex("::h[0-9a-f]{16}$"), ""));
  }
  EXPECT_EQ(Display(kRustLegacySymbols[0]), "r::Wrap<T>::show");
}

TEST(DemangleTest, RustV0SymbolsLoseCrateHashes) {
  std::vector<std::string> symbols(std::begin(kRustV0Symbols), std::end(kRustV0Symbols));
  std::vector<std::string> expected = Cxxfilt(symbols);
  ASSERT_EQ(expected.size(), symbols.size());
  for (size_t i = 0; i < symbols.size(); ++i) {
    ASSERT_NE(expected[i], symbols[i]) << "c++filt cannot demangle " << symbols[i];
    EXPECT_EQ(Demangled(symbols[i]), expected[i]);
    // Not verbose: no "[crate hash]", no ": type" after const arguments.
    std::string display = std::regex_replace(expected[i], std::regex("\\[[0-9a-f]+\\]"), "");
    display =
        std::regex_replace(display, std::regex("([0-9]+): (usize|u8|u16|u32|u64|i32|i64|bool|char)"), "$1");
    EXPECT_EQ(Display(symbols[i]), display) << symbols[i];
  }
  EXPECT_EQ(Display(kRustV0Symbols[1]), "r::main::{closure#0}");
}

TEST(DemangleTest, RustV0WithPunycodeStaysMangled) {
  // libiberty would decode these into a malloc'd buffer (no_malloc_test.cc
  // shows it does); c++filt, which may allocate, demangles the first.
  ASSERT_NE(Cxxfilt({kRustV0PunycodeSymbol})[0], kRustV0PunycodeSymbol);
  // A back-reference into the bytes of "xCu3_abc" makes libiberty read a
  // punycode identifier there.
  for (std::string symbol : {std::string(kRustV0PunycodeSymbol), std::string("_RINvC8xCu3_abc3fooB5_E")}) {
    EXPECT_EQ(Demangled(symbol), "") << symbol;
    EXPECT_EQ(Display(symbol), symbol);
  }
}

TEST(DemangleTest, OtherNamesPassThrough) {
  for (std::string name : {"malloc", "main", "frame_dummy", "foo.cold", "_Znot_mangled", "_R", "_Z", ""}) {
    EXPECT_EQ(Demangled(name), "") << name;
    EXPECT_EQ(Display(name), name);
  }
  // A length that stops before "@VERSION" (ElfSymbol::name_length).
  std::string versioned = "pthread_mutex_destroy@@GLIBC_2.2.5";
  char out[64];
  EXPECT_EQ(FunctionDisplayName(versioned.data(), 21, out, sizeof(out)), 21u);
  EXPECT_STREQ(out, "pthread_mutex_destroy");
  std::string versioned_cxx = "_ZdlPv@@GLIBCXX_3.4";
  EXPECT_EQ(FunctionDisplayName(versioned_cxx.data(), 6, out, sizeof(out)), std::strlen("operator delete"));
  EXPECT_STREQ(out, "operator delete");
}

TEST(DemangleTest, LongNamesAreCutToTheBuffer) {
  // a::a::...::a(), 150 levels deep (c++filt gives up near 200).
  std::string symbol = "_ZN";
  std::string short_name;
  for (int i = 0; i < 150; ++i) {
    symbol += "5abcde";
    short_name += i == 0 ? "abcde" : "::abcde";
  }
  symbol += "Ev";
  ASSERT_EQ(Display(symbol), short_name);
  std::string full = Demangled(symbol);
  ASSERT_EQ(full, short_name + "()");
  constexpr size_t kGuard = 16;
  for (size_t out_size : {size_t{1}, size_t{2}, size_t{7}, size_t{64}, size_t{255}, short_name.size(),
                          short_name.size() + 1, short_name.size() + 2}) {
    std::string buffer(out_size + kGuard, '\x7f');
    size_t length = FunctionDisplayName(symbol.data(), symbol.size(), buffer.data(), out_size);
    EXPECT_EQ(length, std::min(short_name.size(), out_size - 1));
    EXPECT_EQ(buffer.substr(0, length), short_name.substr(0, length));
    EXPECT_EQ(buffer[length], '\0');
    EXPECT_EQ(buffer.substr(out_size), std::string(kGuard, '\x7f'));
    std::fill(buffer.begin(), buffer.end(), '\x7f');
    length = DemangleSymbol(symbol.data(), symbol.size(), buffer.data(), out_size);
    EXPECT_EQ(buffer.substr(0, length), full.substr(0, std::min(full.size(), out_size - 1)));
    EXPECT_EQ(buffer.substr(out_size), std::string(kGuard, '\x7f'));
  }
  // libiberty itself refuses C++ symbols over 1024 chars (its stack guard),
  // as c++filt shows.
  std::string many_ints = "_Z1f" + std::string(1100, 'i');
  ASSERT_EQ(Cxxfilt({many_ints})[0], many_ints);
  EXPECT_EQ(Demangled(many_ints), "");
  EXPECT_EQ(Display(many_ints), many_ints);
  // Rust has no such limit; past kMaxDemangledSymbolLength a symbol is not
  // demangled, just cut. A v0 path crate::foo with a long crate name:
  auto rust_symbol = [](size_t length) {
    std::string symbol = "_RNvC";
    size_t crate = length - symbol.size() - 4 - 4;  // "4000", "3foo"
    return symbol + std::to_string(crate) + std::string(crate, 'a') + "3foo";
  };
  std::string longest = rust_symbol(kMaxDemangledSymbolLength);
  ASSERT_EQ(longest.size(), kMaxDemangledSymbolLength);
  std::string too_long = rust_symbol(kMaxDemangledSymbolLength + 1000);
  ASSERT_NE(Cxxfilt({too_long})[0], too_long);
  EXPECT_EQ(Display(longest), std::string(kMaxDemangledSymbolLength - 13, 'a') + "::foo");
  EXPECT_EQ(Demangled(too_long), "");
  EXPECT_EQ(Display(too_long, 100), too_long.substr(0, 99));
  // A raw name is not cut inside a UTF-8 sequence: "größe" with room for
  // "gr" and half of 'ö'.
  EXPECT_EQ(Display("gr\xc3\xb6\xc3\x9f"
                    "e",
                    4),
            "gr");
}

// Names built to push libiberty's recursion and stack use: on the worst
// found, about 430 KiB of stack.
std::vector<std::string> HostileSymbols() {
  std::vector<std::string> symbols;
  for (size_t depth : {500, 1000, 1020, 4000}) symbols.push_back("_Z1f" + std::string(depth, 'P') + "i");
  for (size_t depth : {200, 1020}) {
    std::string type = "i";
    for (size_t i = 0; i < depth; ++i) type = "1AI" + type + "E";
    symbols.push_back("_Z1fI" + type + "Evv");
  }
  std::string function_types = "i";
  for (int i = 0; i < 1000; ++i) function_types = "PF" + function_types + "vE";
  symbols.push_back("_Z1f" + function_types);
  symbols.push_back("_Z" + std::string(kMaxDemangledSymbolLength - 2, 'N'));
  symbols.push_back("_R" + std::string(kMaxDemangledSymbolLength - 2, 'I'));
  symbols.push_back("_RNvC1a" + std::string(kMaxDemangledSymbolLength - 8, 'B') + "_");
  std::mt19937 random(99);  // fixed: a failure must reproduce
  const std::string alphabet = "_0123456789ABCDEFGIKLMNPQRSTXYZabcdefhijlmnopstuvxyz$.";
  for (int i = 0; i < 2000; ++i) {
    std::string symbol = i % 2 == 0 ? "_Z" : "_R";
    size_t length = 1 + random() % (i < 1000 ? 40 : kMaxDemangledSymbolLength);
    for (size_t c = 0; c < length; ++c) symbol += alphabet[random() % alphabet.size()];
    symbols.push_back(symbol);
  }
  return symbols;
}

TEST(DemangleTest, HostileNamesFitInAOneMebibyteStack) {
  struct Work {
    std::vector<std::string> symbols = HostileSymbols();
    size_t done = 0;
  } work;
  pthread_attr_t attributes;
  pthread_attr_init(&attributes);
  ASSERT_EQ(pthread_attr_setstacksize(&attributes, size_t{1} << 20), 0);
  pthread_t thread;
  ASSERT_EQ(pthread_create(
                &thread, &attributes,
                [](void* data) -> void* {
                  Work* work = static_cast<Work*>(data);
                  char out[256];
                  for (const std::string& symbol : work->symbols) {
                    if (FunctionDisplayName(symbol.data(), symbol.size(), out, sizeof(out)) >= sizeof(out))
                      break;
                    if (DemangleSymbol(symbol.data(), symbol.size(), out, sizeof(out)) >= sizeof(out)) break;
                    ++work->done;
                  }
                  return nullptr;
                },
                &work),
            0);
  pthread_join(thread, nullptr);
  pthread_attr_destroy(&attributes);
  EXPECT_EQ(work.done, work.symbols.size());
  // The deterministic ones agree with c++filt.
  std::vector<std::string> expected = Cxxfilt({work.symbols.begin(), work.symbols.begin() + 10});
  for (size_t i = 0; i < expected.size(); ++i) {
    std::string ours = Demangled(work.symbols[i]);
    EXPECT_EQ(ours.empty() ? work.symbols[i] : ours, expected[i]) << work.symbols[i].substr(0, 40);
  }
}

}  // namespace
}  // namespace heapwatch
