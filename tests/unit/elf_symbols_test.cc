#include "preload/elf_symbols.h"

#include <dlfcn.h>
#include <elf.h>
#include <link.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "preload/elf_file.h"
#include "symbols_fixture.h"
#include "tests/unit/shell_and_files.h"

namespace heapwatch {
namespace {

using test_support::Lines;
using test_support::ReadFileBytes;
using test_support::RunShell;
using test_support::ScratchDirectory;
using test_support::ShellQuote;
using test_support::WriteFileBytes;

// A loaded object: its file and where the loader put it.
struct LoadedObject {
  std::string path;
  ElfW(Addr) bias = 0;  // runtime address - link-time address
  const ElfW(Phdr)* headers = nullptr;
  size_t header_count = 0;
};

// The loaded object whose file name contains `part` (dl_iterate_phdr).
LoadedObject FindLoadedObject(const std::string& part) {
  struct Search {
    std::string part;
    LoadedObject found;
  } search{part, {}};
  dl_iterate_phdr(
      [](dl_phdr_info* info, size_t, void* data) {
        Search* search = static_cast<Search*>(data);
        if (info->dlpi_name == nullptr || std::strstr(info->dlpi_name, search->part.c_str()) == nullptr) {
          return 0;
        }
        search->found = {info->dlpi_name, info->dlpi_addr, info->dlpi_phdr, info->dlpi_phnum};
        return 1;
      },
      &search);
  return search.found;
}

const LoadedObject& Fixture() {
  static const LoadedObject fixture = FindLoadedObject("libheapwatch_symbols_fixture.so");
  return fixture;
}

// Link-time address of a runtime address in the fixture.
uint64_t FixtureAddress(const void* runtime) { return reinterpret_cast<uintptr_t>(runtime) - Fixture().bias; }

// Link-time address of an exported fixture symbol, as the loader resolved it.
uint64_t FixtureAddress(const char* name) {
  void* handle = dlopen(Fixture().path.c_str(), RTLD_NOW | RTLD_NOLOAD);
  void* address = handle != nullptr ? dlsym(handle, name) : nullptr;
  if (handle != nullptr) dlclose(handle);
  return address != nullptr ? FixtureAddress(address) : 0;
}

std::string NameAt(const ElfSymbolTable& table, uint64_t address, ElfSymbol* symbol = nullptr) {
  const char* name = table.Lookup(address, symbol);
  return name != nullptr ? name : "<none>";
}

class FixtureSymbolsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(Fixture().path.empty()) << "the test must be linked with the fixture library";
    ASSERT_GT(fixture_loop(3), 0);  // and use it, so the link is kept
  }
  InternalArena arena_;
};

TEST_F(FixtureSymbolsTest, NamesExportedStaticHiddenAndAliasedFunctions) {
  ElfSymbolTable table;
  ASSERT_TRUE(table.Load(Fixture().path.c_str(), nullptr, &arena_, ""));
  EXPECT_EQ(table.source(), ElfSymbolTable::Source::kSymtab);

  for (const char* name :
       {"fixture_add", "fixture_loop", "fixture_static_helper_address", "fixture_hidden_address"}) {
    ElfSymbol symbol;
    uint64_t address = FixtureAddress(name);
    ASSERT_NE(address, 0u) << name;
    EXPECT_EQ(NameAt(table, address, &symbol), name);
    EXPECT_EQ(symbol.start, address) << name;
    EXPECT_EQ(symbol.name_length, std::strlen(name));
  }
  EXPECT_EQ(NameAt(table, FixtureAddress(fixture_static_helper_address())), "fixture_static_helper");
  EXPECT_EQ(NameAt(table, FixtureAddress(fixture_hidden_address())), "fixture_hidden");

  // Aliases: GLOBAL over WEAK over LOCAL, then fewer leading underscores.
  EXPECT_EQ(FixtureAddress("fixture_alloc"), FixtureAddress("__fixture_libc_alloc"));
  EXPECT_EQ(NameAt(table, FixtureAddress("__fixture_libc_alloc")), "fixture_alloc");
  EXPECT_EQ(FixtureAddress("fixture_weak"), FixtureAddress("_fixture_strong"));
  EXPECT_EQ(NameAt(table, FixtureAddress("fixture_weak")), "_fixture_strong");
  EXPECT_EQ(FixtureAddress("fixture_weak_only"), FixtureAddress(fixture_local_impl_address()));
  EXPECT_EQ(NameAt(table, FixtureAddress(fixture_local_impl_address())), "fixture_weak_only");
}

// Whether the page holding `address` is mapped in this process's page
// tables (not merely in the page cache): /proc/self/pagemap's present bit.
bool PageIsMappedHere(const void* address) {
  FILE* pagemap = fopen("/proc/self/pagemap", "rb");
  if (pagemap == nullptr) return false;
  uint64_t entry = 0;
  long page = sysconf(_SC_PAGESIZE);
  bool ok = fseek(pagemap, static_cast<long>(reinterpret_cast<uintptr_t>(address) / page * sizeof(entry)), SEEK_SET) == 0 &&
            fread(&entry, sizeof(entry), 1, pagemap) == 1;
  fclose(pagemap);
  return ok && (entry >> 63) != 0;
}

// Names are read from the file's mapped string table; once the caller has
// copied them, their pages (and the ones the kernel mapped around them) can
// go, and a later lookup still finds the same name.
TEST_F(FixtureSymbolsTest, NamePagesCanBeGivenBack) {
  ElfSymbolTable table;
  ASSERT_TRUE(table.Load(Fixture().path.c_str(), nullptr, &arena_, ""));
  uint64_t address = FixtureAddress("fixture_add");
  const char* name = table.Lookup(address);
  ASSERT_NE(name, nullptr);
  EXPECT_STREQ(name, "fixture_add");
  EXPECT_TRUE(PageIsMappedHere(name));
  table.ReleaseNamePages();
  EXPECT_FALSE(PageIsMappedHere(name)) << "the name's page is still mapped";
  EXPECT_STREQ(table.Lookup(address), "fixture_add");
}

TEST_F(FixtureSymbolsTest, AddressesInsideBodiesAndPastTheEnd) {
  ElfSymbolTable table;
  ASSERT_TRUE(table.Load(Fixture().path.c_str(), nullptr, &arena_, ""));
  ElfSymbol loop;
  uint64_t start = FixtureAddress("fixture_loop");
  ASSERT_EQ(NameAt(table, start, &loop), "fixture_loop");
  ASSERT_GT(loop.size, 2u);
  for (uint64_t offset : {uint64_t{1}, loop.size / 2, loop.size - 1}) {
    EXPECT_EQ(NameAt(table, start + offset), "fixture_loop") << "offset " << offset;
  }
  ElfSymbol after;
  const char* past_end = table.Lookup(start + loop.size, &after);
  if (past_end != nullptr) {
    EXPECT_STRNE(past_end, "fixture_loop");
    EXPECT_EQ(after.start, start + loop.size);
  }
  // Not code.
  EXPECT_EQ(table.Lookup(FixtureAddress(static_cast<const void*>(fixture_data))), nullptr);
  EXPECT_EQ(table.Lookup(0), nullptr);
  EXPECT_EQ(table.Lookup(UINT64_MAX), nullptr);
}

#ifdef HEAPWATCH_FIXTURE_HAS_ASM
TEST_F(FixtureSymbolsTest, SizeZeroSymbolsReachTheNextOneUnlessInsideAFunction) {
  ElfSymbolTable table;
  ASSERT_TRUE(table.Load(Fixture().path.c_str(), nullptr, &arena_, ""));
  uint64_t sizeless = FixtureAddress("fixture_sizeless");
  for (uint64_t offset = 0; offset < 4; ++offset) {  // its 4 bytes of code
    EXPECT_EQ(NameAt(table, sizeless + offset), "fixture_sizeless") << "offset " << offset;
  }
  // The label inside fixture_outer (8 bytes) does not split it.
  uint64_t outer = FixtureAddress("fixture_outer");
  uint64_t inner = FixtureAddress("fixture_inner_label");
  ASSERT_EQ(inner, outer + 4);
  EXPECT_EQ(NameAt(table, outer), "fixture_outer");
  EXPECT_EQ(NameAt(table, inner), "fixture_outer");
  EXPECT_EQ(NameAt(table, outer + 7), "fixture_outer");
  EXPECT_NE(NameAt(table, outer + 8), "fixture_outer");
}
#endif

// The .symtab as readelf prints it: address -> names and size of the
// functions there.
struct ReadelfFunction {
  uint64_t size = 0;
  std::set<std::string> names;
};

std::map<uint64_t, ReadelfFunction> ReadelfFunctions(const std::string& path) {
  std::map<uint64_t, ReadelfFunction> functions;
  bool in_symtab = false;
  for (const std::string& line : Lines(RunShell("readelf -sW " + ShellQuote(path) + " 2>/dev/null").output)) {
    if (line.rfind("Symbol table '", 0) == 0) {
      in_symtab = line.find("'.symtab'") != std::string::npos;
      continue;
    }
    if (!in_symtab) continue;
    std::istringstream fields(line);
    std::string number, value, size, type, bind, visibility, index, name;
    if (!(fields >> number >> value >> size >> type >> bind >> visibility >> index >> name)) continue;
    if ((type != "FUNC" && type != "IFUNC") || index == "UND") continue;
    ReadelfFunction& function = functions[std::stoull(value, nullptr, 16)];
    function.size = std::max<uint64_t>(function.size, std::stoull(size, nullptr, 0));
    function.names.insert(name);
  }
  return functions;
}

TEST_F(FixtureSymbolsTest, EveryFunctionReadelfListsMapsBackToItsAddress) {
  ElfSymbolTable table;
  ASSERT_TRUE(table.Load(Fixture().path.c_str(), nullptr, &arena_, ""));
  std::map<uint64_t, ReadelfFunction> functions = ReadelfFunctions(Fixture().path);
  ASSERT_GE(functions.size(), 15u) << "readelf found too few functions";
  size_t sized = 0;
  for (const auto& [address, function] : functions) {
    ElfSymbol symbol;
    const char* name = table.Lookup(address, &symbol);
    ASSERT_NE(name, nullptr) << *function.names.begin();
    if (function.size == 0 && symbol.start != address) {
      // A label inside a sized function: that function names it.
      EXPECT_LT(symbol.start, address);
      continue;
    }
    EXPECT_EQ(symbol.start, address) << name;
    EXPECT_TRUE(function.names.count(name)) << name << " is not a name of 0x" << std::hex << address;
    if (function.size == 0) continue;
    ++sized;
    EXPECT_EQ(symbol.size, function.size) << name;
    EXPECT_STREQ(table.Lookup(address + function.size - 1), name);
    ElfSymbol next;
    if (table.Lookup(address + function.size, &next) != nullptr) {
      EXPECT_EQ(next.start, address + function.size);
    }
  }
  EXPECT_GE(sized, 10u);
}

TEST_F(FixtureSymbolsTest, StrippedCopyFallsBackToDynsym) {
  ScratchDirectory scratch;
  std::string stripped = scratch / "stripped.so";
  ASSERT_EQ(
      RunShell("objcopy --strip-all " + ShellQuote(Fixture().path) + " " + ShellQuote(stripped)).exit_status,
      0);
  ElfSymbolTable table;
  ASSERT_TRUE(table.Load(stripped.c_str(), nullptr, &arena_, ""));
  EXPECT_EQ(table.source(), ElfSymbolTable::Source::kDynsym);
  EXPECT_EQ(NameAt(table, FixtureAddress("fixture_add")), "fixture_add");
  EXPECT_EQ(NameAt(table, FixtureAddress("fixture_loop") + 1), "fixture_loop");
  EXPECT_EQ(NameAt(table, FixtureAddress("__fixture_libc_alloc")), "fixture_alloc");
  EXPECT_EQ(NameAt(table, FixtureAddress("fixture_weak")), "_fixture_strong");
  // Not exported: not in .dynsym.
  EXPECT_NE(NameAt(table, FixtureAddress(fixture_static_helper_address())), "fixture_static_helper");
  EXPECT_NE(NameAt(table, FixtureAddress(fixture_hidden_address())), "fixture_hidden");
}

TEST_F(FixtureSymbolsTest, PrefersTheDebugFileFoundByBuildId) {
  char build_id[kBuildIdHexCapacity];
  ASSERT_GT(BuildIdFromFile(Fixture().path.c_str(), build_id, sizeof(build_id)), 2u);
  ScratchDirectory scratch;
  std::string id = build_id;
  std::string debug_directory = scratch / (".build-id/" + id.substr(0, 2));
  std::filesystem::create_directories(debug_directory);
  std::string debug_file = debug_directory + "/" + id.substr(2) + ".debug";
  std::string stripped = scratch / "stripped.so";
  ASSERT_EQ(RunShell("objcopy --only-keep-debug " + ShellQuote(Fixture().path) + " " + ShellQuote(debug_file))
                .exit_status,
            0);
  ASSERT_EQ(
      RunShell("objcopy --strip-all " + ShellQuote(Fixture().path) + " " + ShellQuote(stripped)).exit_status,
      0);

  ElfSymbolTable table;
  ASSERT_TRUE(table.Load(stripped.c_str(), nullptr, &arena_, scratch.path().c_str()));
  EXPECT_EQ(table.source(), ElfSymbolTable::Source::kDebugFile);
  EXPECT_EQ(NameAt(table, FixtureAddress(fixture_static_helper_address())), "fixture_static_helper");
  EXPECT_EQ(NameAt(table, FixtureAddress("__fixture_libc_alloc")), "fixture_alloc");

  ASSERT_TRUE(table.Load(stripped.c_str(), nullptr, &arena_, ""));
  EXPECT_EQ(table.source(), ElfSymbolTable::Source::kDynsym);

  // A debug file with another build ID at that path is not used.
  std::filesystem::copy_file("/proc/self/exe", debug_file, std::filesystem::copy_options::overwrite_existing);
  ASSERT_TRUE(table.Load(stripped.c_str(), nullptr, &arena_, scratch.path().c_str()));
  EXPECT_EQ(table.source(), ElfSymbolTable::Source::kDynsym);
}

// readelf's "Build ID: <hex>" line.
std::string ReadelfBuildId(const std::string& path) {
  for (const std::string& line : Lines(RunShell("readelf -n " + ShellQuote(path) + " 2>/dev/null").output)) {
    size_t at = line.find("Build ID: ");
    if (at != std::string::npos) return line.substr(at + 10);
  }
  return "";
}

TEST_F(FixtureSymbolsTest, BuildIdFromMemoryMatchesTheFile) {
  for (const LoadedObject& object : {Fixture(), FindLoadedObject("libc.so.6")}) {
    ASSERT_FALSE(object.path.empty());
    char from_memory[kBuildIdHexCapacity];
    char from_file[kBuildIdHexCapacity];
    size_t length = BuildIdFromProgramHeaders(object.bias, object.headers, object.header_count, from_memory,
                                              sizeof(from_memory));
    ASSERT_GT(length, 0u) << object.path;
    EXPECT_EQ(length, std::strlen(from_memory));
    EXPECT_EQ(BuildIdFromFile(object.path.c_str(), from_file, sizeof(from_file)), length);
    EXPECT_STREQ(from_memory, from_file);
    EXPECT_EQ(from_file, ReadelfBuildId(object.path)) << object.path;
    // Too small a buffer: nothing, not a cut ID.
    char small[8];
    EXPECT_EQ(BuildIdFromFile(object.path.c_str(), small, sizeof(small)), 0u);
    EXPECT_STREQ(small, "");
  }
  char none[kBuildIdHexCapacity];
  EXPECT_EQ(BuildIdFromFile("/proc/self/status", none, sizeof(none)), 0u);
  EXPECT_EQ(BuildIdFromFile("/nonexistent/heapwatch", none, sizeof(none)), 0u);
}

TEST_F(FixtureSymbolsTest, AFileReplacedOnDiskIsRejectedByBuildId) {
  char build_id[kBuildIdHexCapacity];
  ASSERT_GT(BuildIdFromProgramHeaders(Fixture().bias, Fixture().headers, Fixture().header_count, build_id,
                                      sizeof(build_id)),
            0u);
  ElfSymbolTable table;
  EXPECT_TRUE(table.Load(Fixture().path.c_str(), build_id, &arena_, ""));
  std::string other_id(std::strlen(build_id), '0');
  EXPECT_FALSE(table.Load(Fixture().path.c_str(), other_id.c_str(), &arena_, ""));
  EXPECT_EQ(table.symbol_count(), 0u);
  EXPECT_EQ(table.Lookup(FixtureAddress("fixture_add")), nullptr);

  // A loaded table keeps answering after its file is replaced by rename;
  // loading the path again finds the new file and refuses it.
  ScratchDirectory scratch;
  std::string copy = scratch / "lib.so";
  std::filesystem::copy_file(Fixture().path, copy);
  ASSERT_TRUE(table.Load(copy.c_str(), build_id, &arena_, ""));
  std::filesystem::copy_file("/proc/self/exe", scratch / "replacement");
  std::filesystem::rename(scratch / "replacement", copy);
  EXPECT_EQ(NameAt(table, FixtureAddress("fixture_add")), "fixture_add");
  ElfSymbolTable reloaded;
  EXPECT_FALSE(reloaded.Load(copy.c_str(), build_id, &arena_, ""));
}

TEST(LibcSymbolsTest, MallocIsNamedMalloc) {
  LoadedObject libc = FindLoadedObject("libc.so.6");
  ASSERT_FALSE(libc.path.empty());
  char build_id[kBuildIdHexCapacity];
  ASSERT_GT(BuildIdFromProgramHeaders(libc.bias, libc.headers, libc.header_count, build_id, sizeof(build_id)),
            0u);
  void* handle = dlopen("libc.so.6", RTLD_LAZY | RTLD_NOLOAD);
  ASSERT_NE(handle, nullptr);
  std::string debug_file = std::string(ElfSymbolTable::kDefaultDebugRoot) + "/.build-id/" +
                           std::string(build_id, 2) + "/" + (build_id + 2) + ".debug";
  bool has_debug_file = std::filesystem::exists(debug_file);

  for (const char* debug_root : {ElfSymbolTable::kDefaultDebugRoot, ""}) {
    InternalArena arena;
    ElfSymbolTable table;
    ASSERT_TRUE(table.Load(libc.path.c_str(), build_id, &arena, debug_root));
    EXPECT_EQ(table.source(), debug_root[0] != '\0' && has_debug_file ? ElfSymbolTable::Source::kDebugFile
                                                                      : ElfSymbolTable::Source::kDynsym);
    // dlsym finds libc's own definitions, wherever this process's malloc is.
    // Each is GLOBAL, as is its __libc_ alias. (calloc is not here: it is a
    // WEAK alias of GLOBAL __libc_calloc, so binding picks __libc_calloc.)
    for (const char* function : {"malloc", "free", "realloc"}) {
      void* runtime = dlsym(handle, function);
      ASSERT_NE(runtime, nullptr) << function;
      ElfSymbol symbol;
      uint64_t address = reinterpret_cast<uintptr_t>(runtime) - libc.bias;
      EXPECT_EQ(NameAt(table, address, &symbol), function) << "debug root '" << debug_root << "'";
      EXPECT_EQ(NameAt(table, address + symbol.size / 2), function);
    }
    EXPECT_EQ(table.table_bytes(), table.symbol_count() * 16);
    EXPECT_EQ(arena.bytes_mapped(), InternalArena::kChunkBytes);  // one chunk holds libc's table
    std::cout << "libc (" << (table.source() == ElfSymbolTable::Source::kDebugFile ? "debug file" : ".dynsym")
              << "): " << table.symbol_count() << " functions, table " << table.table_bytes()
              << " bytes, string table mapped " << table.mapped_bytes() << " bytes\n";
  }
  dlclose(handle);
}

// Corrupt and hostile inputs: never a crash, and no symbols where the
// headers that lead to them are broken.
class CorruptElfTest : public FixtureSymbolsTest {
 protected:
  void SetUp() override {
    FixtureSymbolsTest::SetUp();
    original_ = ReadFileBytes(Fixture().path);
    ASSERT_GT(original_.size(), sizeof(ElfW(Ehdr)));
    std::memcpy(&header_, original_.data(), sizeof(header_));
  }

  // Loads `bytes` from a file; returns the table's source.
  ElfSymbolTable::Source LoadBytes(const std::string& bytes, size_t* count = nullptr) {
    std::string path = scratch_ / "input.so";
    EXPECT_TRUE(WriteFileBytes(path, bytes));
    ElfSymbolTable table;
    bool loaded = table.Load(path.c_str(), nullptr, &arena_, "");
    EXPECT_EQ(loaded, table.symbol_count() > 0);
    if (count != nullptr) *count = table.symbol_count();
    return table.source();
  }

  ElfW(Shdr) Section(const std::string& bytes, size_t index) {
    ElfW(Shdr) section;
    std::memcpy(&section, bytes.data() + header_.e_shoff + index * sizeof(section), sizeof(section));
    return section;
  }
  void SetSection(std::string* bytes, size_t index, const ElfW(Shdr)& section) {
    std::memcpy(bytes->data() + header_.e_shoff + index * sizeof(section), &section, sizeof(section));
  }
  size_t SectionOfType(uint32_t type) {
    for (size_t i = 0; i < header_.e_shnum; ++i) {
      if (Section(original_, i).sh_type == type) return i;
    }
    return 0;
  }
  template <typename Field>
  std::string WithHeaderField(Field ElfW(Ehdr)::*field, Field value) {
    ElfW(Ehdr) header = header_;
    header.*field = value;
    std::string bytes = original_;
    std::memcpy(bytes.data(), &header, sizeof(header));
    return bytes;
  }

  ScratchDirectory scratch_;
  std::string original_;
  ElfW(Ehdr) header_;
};

TEST_F(CorruptElfTest, NotElfEmptyOrMissing) {
  ElfSymbolTable table;
  std::string empty = scratch_ / "empty";
  std::string text = scratch_ / "text";
  ASSERT_TRUE(WriteFileBytes(empty, ""));
  ASSERT_TRUE(WriteFileBytes(text, std::string(4096, 'x')));
  for (const std::string& path :
       {empty, text, scratch_.path(), std::string("/nonexistent/lib.so"), std::string("/proc/self/maps")}) {
    EXPECT_FALSE(table.Load(path.c_str(), nullptr, &arena_, "")) << path;
    EXPECT_EQ(table.symbol_count(), 0u);
    EXPECT_EQ(table.Lookup(0x1000), nullptr);
  }
}

TEST_F(CorruptElfTest, TruncatedCopiesHaveNoSymbols) {
  // The section header table is the last thing in the file, so every
  // truncation loses it.
  ASSERT_EQ(header_.e_shoff + uint64_t{header_.e_shnum} * header_.e_shentsize, original_.size());
  std::set<size_t> lengths;
  for (size_t length = 0; length <= 2 * sizeof(ElfW(Ehdr)); ++length) lengths.insert(length);
  for (size_t length = 0; length < original_.size(); length += 61) lengths.insert(length);
  for (size_t length = 4096; length < original_.size(); length += 4096) lengths.insert(length);  // page ends
  for (size_t delta = 0; delta < 2 * sizeof(ElfW(Shdr)); ++delta) lengths.insert(header_.e_shoff + delta);
  lengths.insert(original_.size() - 1);
  for (size_t length : lengths) {
    if (length >= original_.size()) continue;
    size_t count = 1;
    EXPECT_EQ(LoadBytes(original_.substr(0, length), &count), ElfSymbolTable::Source::kNone)
        << "length " << length;
    EXPECT_EQ(count, 0u);
  }
  size_t count = 0;
  EXPECT_EQ(LoadBytes(original_, &count), ElfSymbolTable::Source::kSymtab);
  EXPECT_GT(count, 0u);
}

TEST_F(CorruptElfTest, BrokenHeadersFindNothing) {
  uint64_t size = original_.size();
  EXPECT_EQ(LoadBytes(WithHeaderField<ElfW(Off)>(&ElfW(Ehdr)::e_shoff, size + 4096)),
            ElfSymbolTable::Source::kNone);
  EXPECT_EQ(LoadBytes(WithHeaderField<ElfW(Off)>(&ElfW(Ehdr)::e_shoff, UINT64_MAX - 7)),
            ElfSymbolTable::Source::kNone);
  EXPECT_EQ(LoadBytes(WithHeaderField<ElfW(Off)>(&ElfW(Ehdr)::e_shoff, header_.e_shoff + 1)),
            ElfSymbolTable::Source::kNone);
  EXPECT_EQ(LoadBytes(WithHeaderField<ElfW(Half)>(&ElfW(Ehdr)::e_shnum, 0xffff)),
            ElfSymbolTable::Source::kNone);
  EXPECT_EQ(LoadBytes(WithHeaderField<ElfW(Half)>(&ElfW(Ehdr)::e_shentsize, 40)),
            ElfSymbolTable::Source::kNone);
  EXPECT_EQ(LoadBytes(WithHeaderField<ElfW(Half)>(&ElfW(Ehdr)::e_type, ET_REL)),
            ElfSymbolTable::Source::kNone);
  std::string wrong_class = original_;
  wrong_class[EI_CLASS] = ELFCLASS32;
  EXPECT_EQ(LoadBytes(wrong_class), ElfSymbolTable::Source::kNone);
  std::string wrong_magic = original_;
  wrong_magic[1] = 'X';
  EXPECT_EQ(LoadBytes(wrong_magic), ElfSymbolTable::Source::kNone);
}

TEST_F(CorruptElfTest, BrokenSymbolTablesAreSkipped) {
  size_t symtab = SectionOfType(SHT_SYMTAB);
  size_t dynsym = SectionOfType(SHT_DYNSYM);
  ASSERT_NE(symtab, 0u);
  ASSERT_NE(dynsym, 0u);
  uint64_t size = original_.size();
  auto with_section = [&](size_t index, auto change) {
    std::string bytes = original_;
    ElfW(Shdr) section = Section(bytes, index);
    change(section);
    SetSection(&bytes, index, section);
    return bytes;
  };
  // A broken .symtab: the .dynsym still names the exported functions.
  for (auto change : std::vector<void (*)(ElfW(Shdr)&)>{
           [](ElfW(Shdr)& s) { s.sh_offset = UINT64_MAX - 100; },
           [](ElfW(Shdr)& s) { s.sh_size = UINT64_MAX - 16; },
           [](ElfW(Shdr)& s) { s.sh_link = 9999; },
           [](ElfW(Shdr)& s) { s.sh_entsize = 0; },
           [](ElfW(Shdr)& s) { s.sh_offset += 1; },
           [](ElfW(Shdr)& s) { s.sh_type = SHT_NOBITS; },
       }) {
    EXPECT_EQ(LoadBytes(with_section(symtab, change)), ElfSymbolTable::Source::kDynsym);
  }
  std::string string_table_out_of_file =
      with_section(Section(original_, symtab).sh_link, [&](ElfW(Shdr)& s) { s.sh_offset = size - 1; });
  EXPECT_EQ(LoadBytes(string_table_out_of_file), ElfSymbolTable::Source::kDynsym);

  // Both broken: nothing.
  std::string both = with_section(symtab, [](ElfW(Shdr)& s) { s.sh_offset = UINT64_MAX - 100; });
  ElfW(Shdr) dynamic = Section(both, dynsym);
  dynamic.sh_size = size;  // runs past the end of the file
  SetSection(&both, dynsym, dynamic);
  EXPECT_EQ(LoadBytes(both), ElfSymbolTable::Source::kNone);

  // Name offsets out of the string table: those symbols are ignored.
  std::string names_out_of_range = original_;
  ElfW(Shdr) table = Section(original_, symtab);
  for (uint64_t at = table.sh_offset; at + sizeof(ElfW(Sym)) <= table.sh_offset + table.sh_size;
       at += sizeof(ElfW(Sym))) {
    ElfW(Sym) symbol;
    std::memcpy(&symbol, names_out_of_range.data() + at, sizeof(symbol));
    symbol.st_name = 0xfffffff0;
    std::memcpy(names_out_of_range.data() + at, &symbol, sizeof(symbol));
  }
  EXPECT_EQ(LoadBytes(names_out_of_range), ElfSymbolTable::Source::kDynsym);
}

TEST_F(CorruptElfTest, StringTableWithoutFinalNulKeepsOtherNames) {
  size_t symtab = SectionOfType(SHT_SYMTAB);
  std::string bytes = original_;
  ElfW(Shdr) strings = Section(bytes, Section(bytes, symtab).sh_link);
  strings.sh_size -= 1;  // now ends inside the last name
  SetSection(&bytes, Section(bytes, symtab).sh_link, strings);
  std::string path = scratch_ / "cut-strings.so";
  ASSERT_TRUE(WriteFileBytes(path, bytes));
  ElfSymbolTable table;
  ASSERT_TRUE(table.Load(path.c_str(), nullptr, &arena_, ""));
  EXPECT_EQ(table.source(), ElfSymbolTable::Source::kSymtab);
  EXPECT_EQ(NameAt(table, FixtureAddress("fixture_add")), "fixture_add");
}

TEST_F(CorruptElfTest, RandomMutationsNeverCrash) {
  // Bytes that steer the parser: the ELF header, the section headers, the
  // start of each symbol table, and the notes.
  std::vector<std::pair<size_t, size_t>> regions = {{0, sizeof(ElfW(Ehdr))},
                                                    {header_.e_shoff, header_.e_shnum * sizeof(ElfW(Shdr))}};
  for (uint32_t type : {SHT_SYMTAB, SHT_DYNSYM, SHT_NOTE}) {
    ElfW(Shdr) section = Section(original_, SectionOfType(type));
    regions.push_back({section.sh_offset, std::min<size_t>(section.sh_size, 512)});
  }
  std::mt19937 random(20240521);  // fixed: a failure must reproduce
  size_t loaded = 0;
  constexpr int kMutations = 1500;
  for (int i = 0; i < kMutations; ++i) {
    std::string bytes = original_;
    int changes = 1 + static_cast<int>(random() % 8);
    for (int c = 0; c < changes; ++c) {
      const auto& [start, length] = regions[random() % regions.size()];
      bytes[start + random() % length] = static_cast<char>(random());
    }
    std::string path = scratch_ / "mutated.so";
    ASSERT_TRUE(WriteFileBytes(path, bytes));
    ElfSymbolTable table;
    if (!table.Load(path.c_str(), nullptr, &arena_, "")) continue;
    ++loaded;
    for (int probe = 0; probe < 64; ++probe) {
      const char* name = table.Lookup(0x1000 + random() % 0x1000);
      if (name != nullptr) {
        ASSERT_LT(std::strlen(name), bytes.size());
      }
    }
  }
  // Most single-byte changes leave a usable table; some break it.
  EXPECT_GT(loaded, 0u);
  EXPECT_LT(loaded, static_cast<size_t>(kMutations));
}

// An ELF file with `count` functions f00000.. in a NOBITS .text, each
// 32 bytes, and a weak alias w.. for every tenth.
std::string ElfWithFunctions(size_t count) {
  std::string strtab(1, '\0');
  std::vector<ElfW(Sym)> symbols(1);  // the null symbol
  auto add = [&](char kind, size_t i, unsigned char binding) {
    ElfW(Sym) symbol = {};
    symbol.st_name = static_cast<uint32_t>(strtab.size());
    char name[16];
    snprintf(name, sizeof(name), "%c%05zu", kind, i);
    strtab.append(name, std::strlen(name) + 1);
    symbol.st_info = ELF64_ST_INFO(binding, STT_FUNC);
    symbol.st_shndx = 1;
    symbol.st_value = 0x10000 + i * 32;
    symbol.st_size = 32;
    symbols.push_back(symbol);
  };
  for (size_t i = 0; i < count; ++i) {
    add('f', i, STB_GLOBAL);
    if (i % 10 == 0) add('w', i, STB_WEAK);
  }
  const std::string shstrtab = std::string("\0.text\0.symtab\0.strtab\0.shstrtab\0", 34);
  size_t symtab_offset = sizeof(ElfW(Ehdr));
  size_t symtab_size = symbols.size() * sizeof(ElfW(Sym));
  size_t strtab_offset = symtab_offset + symtab_size;
  size_t shstrtab_offset = strtab_offset + strtab.size();
  size_t headers_offset = (shstrtab_offset + shstrtab.size() + 7) / 8 * 8;
  std::vector<ElfW(Shdr)> sections(5);
  sections[1] = {.sh_name = 1, .sh_type = SHT_NOBITS, .sh_flags = SHF_ALLOC | SHF_EXECINSTR, .sh_addr = 0x10000,
                 .sh_offset = headers_offset, .sh_size = count * 32, .sh_addralign = 16};
  sections[2] = {.sh_name = 7, .sh_type = SHT_SYMTAB, .sh_offset = symtab_offset, .sh_size = symtab_size,
                 .sh_link = 3, .sh_info = 1, .sh_addralign = 8, .sh_entsize = sizeof(ElfW(Sym))};
  sections[3] = {.sh_name = 15, .sh_type = SHT_STRTAB, .sh_offset = strtab_offset, .sh_size = strtab.size(),
                 .sh_addralign = 1};
  sections[4] = {.sh_name = 23, .sh_type = SHT_STRTAB, .sh_offset = shstrtab_offset, .sh_size = shstrtab.size(),
                 .sh_addralign = 1};
  ElfW(Ehdr) header = {};
  std::memcpy(header.e_ident, ELFMAG, SELFMAG);
  header.e_ident[EI_CLASS] = ELFCLASS64;
  header.e_ident[EI_DATA] = ELFDATA2LSB;
  header.e_ident[EI_VERSION] = EV_CURRENT;
  header.e_type = ET_DYN;
  header.e_machine = EM_X86_64;
  header.e_version = EV_CURRENT;
  header.e_shoff = headers_offset;
  header.e_ehsize = sizeof(ElfW(Ehdr));
  header.e_shentsize = sizeof(ElfW(Shdr));
  header.e_shnum = static_cast<uint16_t>(sections.size());
  header.e_shstrndx = 4;
  std::string bytes(reinterpret_cast<const char*>(&header), sizeof(header));
  bytes.append(reinterpret_cast<const char*>(symbols.data()), symtab_size);
  bytes += strtab;
  bytes += shstrtab;
  bytes.resize(headers_offset, '\0');
  bytes.append(reinterpret_cast<const char*>(sections.data()), sections.size() * sizeof(ElfW(Shdr)));
  return bytes;
}

// A /proc/self/status figure in KiB (VmRSS, VmHWM), or -1.
int64_t StatusKiB(const std::string& key) {
  for (const std::string& line : Lines(ReadFileBytes("/proc/self/status"))) {
    if (line.rfind(key + ":", 0) == 0) return std::stoll(line.substr(key.size() + 1));
  }
  return -1;
}

// Load reads the symbol table twice and sorts a scratch copy of the
// functions; the process's peak memory above what the table keeps must be
// the 16-byte-per-function scratch and part of the symbol table, not the
// whole table (a debug file's is hundreds of KiB: libc's 240). Part: the
// kernel maps a file's pages in blocks around each fault (fault-around,
// large folios), so how much of a window is resident depends on it; half
// the table is the bound. The string table counts in full (aliases' names
// are compared). Before: 32-byte scratch and the whole table, 3.2 MiB here
// against a bound of 2.3.
TEST(ElfSymbolsMemoryTest, LoadDoesNotHoldTheWholeSymbolTable) {
  ScratchDirectory scratch;
  std::string path = scratch / "functions.so";
  constexpr size_t kFunctions = 40000;
  std::string bytes = ElfWithFunctions(kFunctions);
  ASSERT_TRUE(WriteFileBytes(path, bytes));
  InternalArena arena;
  {
    // Warm-up: the same code and a first arena chunk, outside the measurement.
    ElfSymbolTable warm;
    ASSERT_TRUE(warm.Load(path.c_str(), nullptr, &arena, ""));
  }
  if (!WriteFileBytes("/proc/self/clear_refs", "5")) GTEST_SKIP() << "cannot reset VmHWM (Linux >= 4.0)";
  int64_t before = StatusKiB("VmHWM");  // the RSS when it was reset
  ElfSymbolTable table;
  ASSERT_TRUE(table.Load(path.c_str(), nullptr, &arena, ""));
  int64_t peak = StatusKiB("VmHWM");
  ASSERT_EQ(table.symbol_count(), kFunctions);
  ElfSymbol symbol;
  ASSERT_NE(table.Lookup(0x10000 + 12340 * 32 + 5, &symbol), nullptr);
  EXPECT_STREQ(symbol.name, "f12340") << "the global name wins over its weak alias";
  const int64_t symbols = kFunctions + kFunctions / 10;
  const int64_t symtab_kib = symbols * 24 / 1024, strtab_kib = symbols * 7 / 1024;
  const int64_t budget =
      static_cast<int64_t>(table.table_bytes() / 1024) + symbols * 16 / 1024 + strtab_kib + symtab_kib / 2 + 256;
  EXPECT_LT(peak - before, budget) << "peak above the start " << peak - before << " KiB; symbol table " << symtab_kib
                                   << " KiB, string table " << strtab_kib << " KiB, kept " << table.table_bytes() / 1024
                                   << " KiB";
}

}  // namespace
}  // namespace heapwatch
