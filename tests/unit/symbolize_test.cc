// Symbolize() against real binaries built with -g -O2 (tests/programs/symbolize/):
// the expected frames come from binutils' addr2line on the same addresses,
// the call sites from objdump's disassembly, the load layout from the ELF
// program headers, so nothing here hard-codes a line number or an address.

#include "analyzer/symbolize.h"

#include <cxxabi.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwelf.h>
#include <fcntl.h>
#include <gelf.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <libelf.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/strings/str_format.h"
#include "analyzer/frames.h"

namespace heapwatch {
namespace {

using ::testing::HasSubstr;
using ::testing::IsEmpty;

constexpr uint64_t kPageSize = 4096;
// Where the dynamic loader might have put the PIE and the library (any
// page-aligned addresses do; these are typical x86-64 ones).
constexpr uint64_t kPieLoadBase = 0x555555554000;
constexpr uint64_t kLibraryLoadBase = 0x7ffff7fb0000;

const std::string kPie = SYMBOLIZE_PIE;
const std::string kNoPie = SYMBOLIZE_NOPIE;
const std::string kShapes = SYMBOLIZE_SHAPES;
const std::string kComdatDirectFirst = SYMBOLIZE_COMDAT_DIRECT_FIRST;
const std::string kComdatViaAllocateFirst = SYMBOLIZE_COMDAT_VIA_ALLOCATE_FIRST;

std::string CommandOutput(const std::string& command) {
  std::string output;
  FILE* pipe = popen(command.c_str(), "r");
  if (!pipe) return output;
  char buffer[4096];
  size_t n;
  while ((n = fread(buffer, 1, sizeof buffer, pipe)) > 0) output.append(buffer, n);
  pclose(pipe);
  return output;
}

void RunOrFail(const std::string& command) { ASSERT_EQ(std::system(command.c_str()), 0) << command; }

// The executable PT_LOAD segment and the GNU build ID, read with libelf
// (independently of the code under test).
struct ElfLayout {
  GElf_Phdr exec_segment{};
  bool found = false;
  std::string build_id;
};

ElfLayout ReadLayout(const std::string& path) {
  ElfLayout layout;
  elf_version(EV_CURRENT);
  int fd = open(path.c_str(), O_RDONLY);
  if (fd < 0) return layout;
  Elf* elf = elf_begin(fd, ELF_C_READ, nullptr);
  size_t count = 0;
  if (elf && elf_getphdrnum(elf, &count) == 0) {
    for (size_t i = 0; i < count; ++i) {
      GElf_Phdr phdr;
      if (gelf_getphdr(elf, static_cast<int>(i), &phdr) && phdr.p_type == PT_LOAD && (phdr.p_flags & PF_X)) {
        layout.exec_segment = phdr;
        layout.found = true;
      }
    }
    const void* bits = nullptr;
    ssize_t size = dwelf_elf_gnu_build_id(elf, &bits);
    for (ssize_t i = 0; i < size; ++i) {
      layout.build_id += absl::StrFormat("%02x", static_cast<const unsigned char*>(bits)[i]);
    }
  }
  if (elf) elf_end(elf);
  close(fd);
  return layout;
}

// One line of objdump's disassembly: "    11dc:\tcall   1060 <malloc@plt>".
struct Instruction {
  uint64_t address = 0;
  std::string text;
};

// The instructions of `symbol` in `binary`, or of all its code when
// `symbol` is empty.
std::vector<Instruction> Disassemble(const std::string& binary, const std::string& symbol) {
  std::string only = symbol.empty() ? "" : " --disassemble=" + symbol;
  std::istringstream output(CommandOutput("objdump -d --no-show-raw-insn" + only + " " + binary));
  std::vector<Instruction> instructions;
  std::string line;
  while (std::getline(output, line)) {
    size_t colon = line.find(":\t");
    size_t start = line.find_first_not_of(' ');
    if (colon == std::string::npos || start == 0 || start >= colon ||
        line.find_first_not_of("0123456789abcdef", start) != colon) {
      continue;
    }
    instructions.push_back(
        {std::stoull(line.substr(start, colon - start), nullptr, 16), line.substr(colon + 2)});
  }
  return instructions;
}

// The ELF address a stack captured in `symbol` records for its call to
// `callee`: the return address minus 1, i.e. the last byte of the call.
uint64_t CallSite(const std::string& binary, const std::string& symbol, const std::string& callee) {
  std::vector<Instruction> instructions = Disassemble(binary, symbol);
  for (size_t i = 0; i + 1 < instructions.size(); ++i) {
    const std::string& text = instructions[i].text;
    if (text.starts_with("call") && text.find("<" + callee) != std::string::npos) {
      return instructions[i + 1].address - 1;
    }
  }
  ADD_FAILURE() << "no call to " << callee << " in " << symbol << " of " << binary;
  return 0;
}

// The first instruction of `symbol` (a frame inside it with no inlining).
uint64_t SymbolStart(const std::string& binary, const std::string& symbol) {
  std::vector<Instruction> instructions = Disassemble(binary, symbol);
  if (instructions.empty()) {
    ADD_FAILURE() << "no " << symbol << " in " << binary;
    return 0;
  }
  return instructions[0].address;
}

struct Addr2LineFrame {
  std::string function;
  std::string file;
  int64_t line = 0;
};

// What `addr2line -i -f -C` says about each of `addresses`, innermost
// frame first; one addr2line run for all of them.
std::vector<std::vector<Addr2LineFrame>> Addr2Line(const std::string& binary,
                                                   const std::vector<uint64_t>& addresses,
                                                   const std::string& scratch) {
  std::string input_path = scratch + "/addr2line.input";
  {
    std::ofstream input(input_path);
    for (uint64_t address : addresses) input << absl::StrFormat("0x%x\n", address);
  }
  // -a echoes each address first, which separates their frames.
  std::istringstream output(CommandOutput("addr2line -a -i -f -C -e " + binary + " < " + input_path));
  std::vector<std::vector<Addr2LineFrame>> result;
  std::string function, location;
  while (std::getline(output, function)) {
    if (function.starts_with("0x")) {
      result.emplace_back();
      continue;
    }
    if (result.empty() || !std::getline(output, location)) break;
    if (size_t discriminator = location.find(" (discriminator"); discriminator != std::string::npos) {
      location.resize(discriminator);
    }
    size_t colon = location.rfind(':');
    Addr2LineFrame frame{.function = function, .file = location.substr(0, colon)};
    frame.line = std::atoll(location.c_str() + colon + 1);
    result.back().push_back(frame);
  }
  EXPECT_EQ(result.size(), addresses.size());
  result.resize(addresses.size());
  return result;
}

std::string Demangled(const std::string& symbol) {
  int status = 0;
  char* demangled = abi::__cxa_demangle(symbol.c_str(), nullptr, nullptr, &status);
  std::string name = status == 0 ? demangled : symbol;
  std::free(demangled);
  return name;
}

// Builds profiles the way the preload writes them: executable segments as
// mappings, runtime addresses, symbol-table names and no file/line.
class PreloadProfile {
 public:
  PreloadProfile() { profile_.sample_types = {{"inuse_space", "bytes"}}; }

  // A mapping for `binary` loaded at `load_base` (0 for a non-PIE
  // executable), named `filename` in the profile, with the binary's own
  // build ID unless `build_id` says otherwise.
  size_t AddMapping(const std::string& binary, uint64_t load_base, const std::string& filename,
                    const std::string* build_id = nullptr) {
    ElfLayout layout = ReadLayout(binary);
    EXPECT_TRUE(layout.found) << binary;
    const GElf_Phdr& exec = layout.exec_segment;
    uint64_t start = load_base + exec.p_vaddr / kPageSize * kPageSize;
    uint64_t limit = load_base + (exec.p_vaddr + exec.p_memsz + kPageSize - 1) / kPageSize * kPageSize;
    profile_.mappings.push_back({.id = profile_.mappings.size() + 1,
                                 .memory_start = start,
                                 .memory_limit = limit,
                                 .file_offset = exec.p_offset / kPageSize * kPageSize,
                                 .filename = filename,
                                 .build_id = build_id ? *build_id : layout.build_id});
    load_bases_.push_back(load_base);
    return profile_.mappings.size() - 1;
  }

  // A location at ELF address `vaddr` of mapping `mapping`, named by its
  // ELF symbol (an empty `symbol` leaves it unnamed), in a sample of its own.
  size_t AddLocation(size_t mapping, uint64_t vaddr, const std::string& symbol) {
    Location location{
        .id = profile_.locations.size() + 1, .mapping = mapping, .address = load_bases_[mapping] + vaddr};
    if (!symbol.empty()) {
      profile_.functions.push_back({.id = profile_.functions.size() + 1,
                                    .name = ShortFunctionName(Demangled(symbol)),
                                    .system_name = symbol});
      location.lines.push_back({.function = profile_.functions.size() - 1});
    }
    profile_.locations.push_back(location);
    profile_.samples.push_back({.locations = {profile_.locations.size() - 1}, .values = {1024}});
    return profile_.locations.size() - 1;
  }

  Profile& profile() { return profile_; }

 private:
  Profile profile_;
  std::vector<uint64_t> load_bases_;
};

// Everything Symbolize may change, printed for comparisons.
std::string Dump(const Profile& p) {
  std::string out;
  for (const Mapping& m : p.mappings) {
    out += absl::StrFormat("mapping %d %x-%x@%x %s %s %d%d%d%d\n", m.id, m.memory_start, m.memory_limit,
                           m.file_offset, m.filename, m.build_id, m.has_functions, m.has_filenames,
                           m.has_line_numbers, m.has_inline_frames);
  }
  for (const Location& l : p.locations) {
    out += absl::StrFormat("location %d %d %x:", l.id, l.mapping.value_or(999), l.address);
    for (const Line& line : l.lines)
      out += absl::StrFormat(" %d:%d:%d", line.function, line.line, line.column);
    out += "\n";
  }
  for (const Function& f : p.functions) {
    out +=
        absl::StrFormat("function %d %s %s %s %d\n", f.id, f.name, f.system_name, f.filename, f.start_line);
  }
  return out;
}

const Function& FunctionOf(const Profile& p, const Location& location, size_t frame) {
  return p.functions[location.lines.at(frame).function];
}

// The location's frames equal addr2line's on the binary: function (as pprof
// shortens it), file and line, innermost first.
void ExpectMatchesAddr2Line(const Profile& p, size_t location_index, const std::string& binary,
                            uint64_t vaddr, const std::string& scratch) {
  const Location& location = p.locations[location_index];
  std::vector<Addr2LineFrame> expected = Addr2Line(binary, {vaddr}, scratch)[0];
  ASSERT_FALSE(expected.empty());
  ASSERT_EQ(location.lines.size(), expected.size()) << Dump(p);
  for (size_t i = 0; i < expected.size(); ++i) {
    SCOPED_TRACE(absl::StrFormat("frame %d of 0x%x in %s", i, vaddr, binary));
    EXPECT_EQ(FunctionOf(p, location, i).name, ShortFunctionName(expected[i].function));
    EXPECT_EQ(FunctionOf(p, location, i).filename, expected[i].file);
    EXPECT_EQ(location.lines[i].line, expected[i].line);
    EXPECT_GT(location.lines[i].line, 0);
  }
}

// A scratch directory of this test, removed at the end.
class SymbolizeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    scratch_ =
        absl::StrFormat("%s/tests/scratch/symbolize.%s.%d", HEAPWATCH_BINARY_DIR, info->name(), getpid());
    std::filesystem::remove_all(scratch_);
    std::filesystem::create_directories(scratch_);
  }
  void TearDown() override { std::filesystem::remove_all(scratch_); }

  // Copies `from` to scratch/`to` (creating directories) and returns the path.
  std::string Copy(const std::string& from, const std::string& to) {
    std::string path = scratch_ + "/" + to;
    std::filesystem::create_directories(std::filesystem::path(path).parent_path());
    std::filesystem::copy_file(from, path, std::filesystem::copy_options::overwrite_existing);
    return path;
  }

  std::string scratch_;
};

constexpr char kMake[] = "_ZN4demo7Buffers4MakeEm";
constexpr char kMakeGrid[] = "_ZN6shapes8MakeGridEii";

// Symbolizes, with `options`, a profile whose one location is
// symbolize_pie's inlined malloc call in Buffers::Make, in a mapping of
// `binary` (symbolize_pie, or a stripped copy of it) named `filename`:
// expects no warnings and addr2line's frames on symbolize_pie. Returns the
// symbolized profile (its one mapping is #0).
Profile ExpectInlinedMallocMatchesAddr2Line(const std::string& binary, const std::string& filename,
                                            const SymbolizeOptions& options, const std::string& scratch) {
  PreloadProfile builder;
  size_t exe = builder.AddMapping(binary, kPieLoadBase, filename);
  uint64_t inlined_malloc = CallSite(kPie, kMake, "malloc");
  size_t inlined = builder.AddLocation(exe, inlined_malloc, kMake);
  Profile& p = builder.profile();
  EXPECT_THAT(Symbolize(p, options).warnings, IsEmpty());
  ExpectMatchesAddr2Line(p, inlined, kPie, inlined_malloc, scratch);
  return p;
}

TEST_F(SymbolizeTest, PieInlineChainAndSharedLibraryMatchAddr2Line) {
  PreloadProfile builder;
  size_t exe = builder.AddMapping(kPie, kPieLoadBase, kPie);
  size_t lib = builder.AddMapping(kShapes, kLibraryLoadBase, kShapes);
  uint64_t inlined_malloc = CallSite(kPie, kMake, "malloc");
  uint64_t make_entry = SymbolStart(kPie, kMake);
  uint64_t main_call = CallSite(kPie, "main", kMake);
  uint64_t grid_calloc = CallSite(kShapes, kMakeGrid, "calloc");
  size_t inlined = builder.AddLocation(exe, inlined_malloc, kMake);
  size_t entry = builder.AddLocation(exe, make_entry, kMake);
  size_t caller = builder.AddLocation(exe, main_call, "main");
  size_t in_library = builder.AddLocation(lib, grid_calloc, kMakeGrid);
  Profile& p = builder.profile();

  SymbolizeReport report = Symbolize(p, {});
  EXPECT_THAT(report.warnings, IsEmpty());
  EXPECT_EQ(report.mappings_symbolized, 2u);
  EXPECT_EQ(report.locations_symbolized, 4u);
  ASSERT_TRUE(p.CheckValid().ok()) << p.CheckValid();

  ExpectMatchesAddr2Line(p, inlined, kPie, inlined_malloc, scratch_);
  ExpectMatchesAddr2Line(p, entry, kPie, make_entry, scratch_);
  ExpectMatchesAddr2Line(p, caller, kPie, main_call, scratch_);
  ExpectMatchesAddr2Line(p, in_library, kShapes, grid_calloc, scratch_);

  // The chain inline_alloc.cc builds: RawAllocate inlined into MakeBuffer<int>
  // inlined into Buffers::Make, innermost first.
  const Location& chain = p.locations[inlined];
  ASSERT_EQ(chain.lines.size(), 3u);
  EXPECT_EQ(FunctionOf(p, chain, 0).name, "demo::RawAllocate");
  EXPECT_EQ(FunctionOf(p, chain, 0).system_name, "_ZN4demo11RawAllocateEm");
  EXPECT_EQ(FunctionOf(p, chain, 1).name, "demo::MakeBuffer");
  EXPECT_EQ(FunctionOf(p, chain, 2).name, "demo::Buffers::Make");
  EXPECT_EQ(FunctionOf(p, chain, 2).system_name, kMake);
  EXPECT_THAT(FunctionOf(p, chain, 2).filename, HasSubstr("inline_alloc.cc"));
  EXPECT_GT(FunctionOf(p, chain, 2).start_line, 0);
  EXPECT_EQ(FunctionOf(p, p.locations[in_library], 0).name, "shapes::MakeGrid");
  EXPECT_THAT(FunctionOf(p, p.locations[in_library], 0).filename, HasSubstr("shapes.cc"));

  // One Function per function: Buffers::Make is shared by two locations, and
  // the preload's symbol-only entries, now unused, are gone; ids are 1..n.
  EXPECT_EQ(chain.lines[2].function, p.locations[entry].lines[0].function);
  for (size_t i = 0; i < p.functions.size(); ++i) {
    EXPECT_EQ(p.functions[i].id, i + 1);
    EXPECT_FALSE(p.functions[i].filename.empty()) << p.functions[i].name;
    for (size_t j = 0; j < i; ++j) {
      EXPECT_FALSE(p.functions[i].name == p.functions[j].name &&
                   p.functions[i].filename == p.functions[j].filename &&
                   p.functions[i].start_line == p.functions[j].start_line)
          << p.functions[i].name;
    }
  }
  for (const Mapping& m : p.mappings) {
    EXPECT_TRUE(m.has_functions && m.has_filenames && m.has_line_numbers && m.has_inline_frames)
        << m.filename;
  }
}

TEST_F(SymbolizeTest, NonPieExecutable) {
  ASSERT_EQ(ReadLayout(kNoPie).exec_segment.p_vaddr % kPageSize, 0u);
  ASSERT_NE(ReadLayout(kNoPie).exec_segment.p_vaddr, 0u) << "not linked at a fixed address";
  PreloadProfile builder;
  size_t exe = builder.AddMapping(kNoPie, 0, kNoPie);
  uint64_t inlined_malloc = CallSite(kNoPie, kMake, "malloc");
  uint64_t main_call = CallSite(kNoPie, "main", kMake);
  size_t inlined = builder.AddLocation(exe, inlined_malloc, kMake);
  size_t caller = builder.AddLocation(exe, main_call, "main");
  Profile& p = builder.profile();

  SymbolizeReport report = Symbolize(p, {});
  EXPECT_THAT(report.warnings, IsEmpty());
  ExpectMatchesAddr2Line(p, inlined, kNoPie, inlined_malloc, scratch_);
  ExpectMatchesAddr2Line(p, caller, kNoPie, main_call, scratch_);
  EXPECT_EQ(p.locations[inlined].lines.size(), 3u);
}

TEST_F(SymbolizeTest, FindsBinaryByBuildIdInBinaryPath) {
  // The profile names a path that does not exist here; the binary-path
  // directory holds the binary under another name, found by its build ID.
  Copy(kPie, "binaries/app-copy");
  Profile p = ExpectInlinedMallocMatchesAddr2Line(kPie, "/opt/gone/symbolize_pie",
                                                  {.binary_path = {scratch_ + "/binaries"}}, scratch_);
  EXPECT_EQ(p.mappings[0].filename, "/opt/gone/symbolize_pie") << "the profile keeps its own path";
}

TEST_F(SymbolizeTest, FindsBinaryInBuildIdSubdirectoryOfBinaryPath) {
  std::string build_id = ReadLayout(kPie).build_id;
  Copy(kPie, "binaries/" + build_id + "/symbolize_pie");
  ExpectInlinedMallocMatchesAddr2Line(kPie, "/opt/gone/symbolize_pie", {.binary_path = {scratch_ + "/binaries"}},
                                      scratch_);
}

TEST_F(SymbolizeTest, RefusesBinaryWithAnotherBuildId) {
  // The file at the profile's path, and a same-named file in the binary
  // path, are other builds than the profile's: their DWARF would name the
  // wrong code.
  std::string other_build = ReadLayout(kNoPie).build_id;
  Copy(kShapes, "binaries/symbolize_pie");
  PreloadProfile builder;
  size_t exe = builder.AddMapping(kPie, kPieLoadBase, kPie, &other_build);
  size_t location = builder.AddLocation(exe, CallSite(kPie, kMake, "malloc"), kMake);
  Profile& p = builder.profile();
  std::string before = Dump(p);

  SymbolizeReport report = Symbolize(p, {.binary_path = {scratch_ + "/binaries"}});
  ASSERT_EQ(report.warnings.size(), 1u);
  EXPECT_THAT(report.warnings[0], HasSubstr("binary not found"));
  EXPECT_THAT(report.warnings[0],
              HasSubstr(kPie + ": build ID " + ReadLayout(kPie).build_id + ", want " + other_build));
  EXPECT_THAT(report.warnings[0], HasSubstr(scratch_ + "/binaries/symbolize_pie: build ID"));
  EXPECT_EQ(report.mappings_symbolized, 0u);
  // Nothing changed: the preload's symbol name is kept.
  EXPECT_EQ(Dump(p), before);
  EXPECT_EQ(FunctionOf(p, p.locations[location], 0).system_name, kMake);
}

TEST_F(SymbolizeTest, MissingBinaryWarnsForItsMappingOnly) {
  PreloadProfile builder;
  std::string no_such_build = "0123456789abcdef0123456789abcdef01234567";
  size_t exe = builder.AddMapping(kPie, kPieLoadBase, kPie);
  size_t lib =
      builder.AddMapping(kShapes, kLibraryLoadBase, "/opt/gone/libsymbolize_shapes.so", &no_such_build);
  uint64_t inlined_malloc = CallSite(kPie, kMake, "malloc");
  size_t inlined = builder.AddLocation(exe, inlined_malloc, kMake);
  size_t in_library = builder.AddLocation(lib, CallSite(kShapes, kMakeGrid, "calloc"), kMakeGrid);
  Profile& p = builder.profile();

  SymbolizeReport report = Symbolize(p, {.debug_roots = {scratch_}});
  ASSERT_EQ(report.warnings.size(), 1u);
  EXPECT_THAT(report.warnings[0], HasSubstr("/opt/gone/libsymbolize_shapes.so (build ID " + no_such_build +
                                            "): binary not found"));
  ExpectMatchesAddr2Line(p, inlined, kPie, inlined_malloc, scratch_);
  // The library's location keeps the preload's name; its mapping says it
  // has no file names.
  ASSERT_EQ(p.locations[in_library].lines.size(), 1u);
  EXPECT_EQ(FunctionOf(p, p.locations[in_library], 0).system_name, kMakeGrid);
  EXPECT_EQ(FunctionOf(p, p.locations[in_library], 0).name, "shapes::MakeGrid");
  EXPECT_FALSE(p.mappings[lib].has_filenames || p.mappings[lib].has_line_numbers);
  EXPECT_TRUE(p.mappings[exe].has_line_numbers);
  EXPECT_TRUE(p.CheckValid().ok());
}

TEST_F(SymbolizeTest, SymbolizingTwiceChangesNothing) {
  PreloadProfile builder;
  size_t exe = builder.AddMapping(kPie, kPieLoadBase, kPie);
  size_t lib = builder.AddMapping(kShapes, kLibraryLoadBase, kShapes);
  builder.AddLocation(exe, CallSite(kPie, kMake, "malloc"), kMake);
  builder.AddLocation(exe, CallSite(kPie, "main", kMake), "main");
  builder.AddLocation(lib, CallSite(kShapes, kMakeGrid, "calloc"), kMakeGrid);
  Profile& p = builder.profile();
  ASSERT_THAT(Symbolize(p, {}).warnings, IsEmpty());
  std::string once = Dump(p);

  // Again with the binaries at hand, forced: the same records.
  EXPECT_THAT(Symbolize(p, {.force = true}).warnings, IsEmpty());
  EXPECT_EQ(Dump(p), once);
  // Again with no binaries anywhere: symbolized mappings are left alone,
  // without a warning.
  for (Mapping& m : p.mappings)
    m.filename = "/opt/gone/" + std::filesystem::path(m.filename).filename().string();
  std::string moved = Dump(p);
  SymbolizeReport again = Symbolize(p, {});
  EXPECT_THAT(again.warnings, IsEmpty());
  EXPECT_EQ(again.mappings_symbolized, 0u);
  EXPECT_EQ(Dump(p), moved);
}

TEST_F(SymbolizeTest, LeavesLocationsThatAlreadyHaveFileAndLine) {
  // A location that came with a file and a line (as Go writes them) is not
  // replaced, even when the mapping's flags are unset.
  PreloadProfile builder;
  size_t exe = builder.AddMapping(kPie, kPieLoadBase, kPie);
  size_t location = builder.AddLocation(exe, CallSite(kPie, kMake, "malloc"), kMake);
  Profile& p = builder.profile();
  p.functions[0].filename = "/src/given.cc";
  p.locations[location].lines[0].line = 12;
  std::string before = Dump(p);
  SymbolizeReport report = Symbolize(p, {});
  EXPECT_THAT(report.warnings, IsEmpty());
  EXPECT_EQ(report.locations_symbolized, 0u);
  EXPECT_EQ(Dump(p), before);
}

// Splits `binary` into a stripped copy at scratch/`stripped` (with a
// .gnu_debuglink to `debug_name`) and its debug info at scratch/`debug`.
void SplitDebugInfo(const std::string& binary, const std::string& stripped, const std::string& debug) {
  std::filesystem::create_directories(std::filesystem::path(stripped).parent_path());
  std::filesystem::create_directories(std::filesystem::path(debug).parent_path());
  RunOrFail("objcopy --only-keep-debug " + binary + " " + debug);
  RunOrFail("objcopy --strip-debug --add-gnu-debuglink=" + debug + " " + binary + " " + stripped);
}

TEST_F(SymbolizeTest, SeparateDebugInfoByBuildIdUnderDebugRoot) {
  std::string build_id = ReadLayout(kPie).build_id;
  std::string stripped = scratch_ + "/bin/symbolize_pie";
  SplitDebugInfo(
      kPie, stripped,
      scratch_ + "/debug/.build-id/" + build_id.substr(0, 2) + "/" + build_id.substr(2) + ".debug");
  ExpectInlinedMallocMatchesAddr2Line(stripped, stripped, {.debug_roots = {scratch_ + "/debug"}}, scratch_);
}

TEST_F(SymbolizeTest, SeparateDebugInfoByDebuglink) {
  std::string stripped = scratch_ + "/bin/symbolize_pie";
  SplitDebugInfo(kPie, stripped, scratch_ + "/bin/.debug/symbolize_pie.debug");
  ExpectInlinedMallocMatchesAddr2Line(stripped, stripped, {.debug_roots = {}}, scratch_);
}

TEST_F(SymbolizeTest, WithoutDebugInfoKeepsNamesAndNamesTheUnnamedFromTheSymbolTable) {
  // The debuglink points at another program's debug info: refused by build
  // ID, so the mapping has no DWARF.
  std::string stripped = scratch_ + "/bin/symbolize_pie";
  SplitDebugInfo(kPie, stripped, scratch_ + "/bin/symbolize_pie.debug");
  RunOrFail("objcopy --only-keep-debug " + kNoPie + " " + scratch_ + "/bin/symbolize_pie.debug");
  PreloadProfile builder;
  size_t exe = builder.AddMapping(stripped, kPieLoadBase, stripped);
  size_t named = builder.AddLocation(exe, CallSite(kPie, kMake, "malloc"), "preload_given_name");
  size_t unnamed = builder.AddLocation(exe, CallSite(kPie, "main", kMake), "");
  Profile& p = builder.profile();

  SymbolizeReport report = Symbolize(p, {.debug_roots = {}});
  ASSERT_EQ(report.warnings.size(), 1u);
  EXPECT_THAT(report.warnings[0], HasSubstr(": no debug info in " + stripped + ","));
  ASSERT_EQ(p.locations[named].lines.size(), 1u);
  EXPECT_EQ(FunctionOf(p, p.locations[named], 0).system_name, "preload_given_name");
  ASSERT_EQ(p.locations[unnamed].lines.size(), 1u);
  EXPECT_EQ(FunctionOf(p, p.locations[unnamed], 0).name, "main");
  EXPECT_TRUE(p.mappings[exe].has_functions);
  EXPECT_FALSE(p.mappings[exe].has_filenames || p.mappings[exe].has_line_numbers);
  // Idempotent here too.
  std::string once = Dump(p);
  Symbolize(p, {.debug_roots = {}});
  EXPECT_EQ(Dump(p), once);
}

TEST_F(SymbolizeTest, TruncatedBinaryIsAWarningNotACrash) {
  // The first page keeps the ELF header, the program headers and the build
  // ID note; the code, the symbols and the DWARF are cut off.
  std::string truncated = Copy(kPie, "bin/symbolize_pie");
  std::filesystem::resize_file(truncated, kPageSize);
  PreloadProfile builder;
  size_t exe = builder.AddMapping(kPie, kPieLoadBase, truncated);
  size_t location = builder.AddLocation(exe, CallSite(kPie, kMake, "malloc"), kMake);
  Profile& p = builder.profile();
  SymbolizeReport report = Symbolize(p, {.debug_roots = {}});
  ASSERT_EQ(report.warnings.size(), 1u);
  EXPECT_THAT(report.warnings[0], HasSubstr(truncated));
  EXPECT_EQ(FunctionOf(p, p.locations[location], 0).system_name, kMake);
  EXPECT_TRUE(p.CheckValid().ok());
}

TEST_F(SymbolizeTest, WarnsAboutAddressesOutsideTheMapping) {
  PreloadProfile builder;
  size_t exe = builder.AddMapping(kPie, kPieLoadBase, kPie);
  builder.AddLocation(exe, CallSite(kPie, kMake, "malloc"), kMake);
  Profile& p = builder.profile();
  p.locations[0].address = p.mappings[exe].memory_limit + 16;
  SymbolizeReport report = Symbolize(p, {});
  ASSERT_EQ(report.warnings.size(), 1u);
  EXPECT_THAT(report.warnings[0], HasSubstr("1 location(s) outside"));
  EXPECT_EQ(FunctionOf(p, p.locations[0], 0).system_name, kMake);
}

// True when `binary` has DWARF (this test binary has none in a Release
// build, where the tests that read it have nothing to compare).
bool HasDwarf(const std::string& binary) {
  elf_version(EV_CURRENT);
  int fd = open(binary.c_str(), O_RDONLY);
  if (fd < 0) return false;
  Elf* elf = elf_begin(fd, ELF_C_READ, nullptr);
  size_t names = 0;
  bool found = false;
  if (elf && elf_getshdrstrndx(elf, &names) == 0) {
    for (Elf_Scn* section = nullptr; (section = elf_nextscn(elf, section)) != nullptr;) {
      GElf_Shdr header;
      const char* name = gelf_getshdr(section, &header) ? elf_strptr(elf, names, header.sh_name) : nullptr;
      found = found || (name && std::string_view(name) == ".debug_info");
    }
  }
  if (elf) elf_end(elf);
  close(fd);
  return found;
}

// The return address of its call, minus 1, as the preload records frames.
__attribute__((noinline)) uint64_t CallerAddress() {
  uint64_t address = reinterpret_cast<uintptr_t>(__builtin_return_address(0)) - 1;
  asm volatile("" ::: "memory");  // keep the call a call, not a jump
  return address;
}

// The executable mapping of this process holding `address`, from
// /proc/self/maps, as the preload writes it.
std::optional<Mapping> LiveMapping(uint64_t address) {
  std::ifstream maps("/proc/self/maps");
  std::string line;
  while (std::getline(maps, line)) {
    uint64_t start = 0, limit = 0, offset = 0;
    char perms[5] = {};
    int path_at = 0;
    if (std::sscanf(line.c_str(), "%lx-%lx %4s %lx %*s %*s %n", &start, &limit, perms, &offset, &path_at) <
        4) {
      continue;
    }
    if (perms[2] != 'x' || address < start || address >= limit || path_at == 0) continue;
    std::string path = line.substr(path_at);
    return Mapping{.id = 1,
                   .memory_start = start,
                   .memory_limit = limit,
                   .file_offset = offset,
                   .filename = path,
                   .build_id = ReadLayout(path).build_id};
  }
  return std::nullopt;
}

TEST_F(SymbolizeTest, LiveAddressOfThisProcessAtItsRealLoadAddress) {
  if (!HasDwarf("/proc/self/exe")) GTEST_SKIP() << "this test binary was built without -g";
  // This test's own call site, wherever the loader put this executable.
  // One statement, so that the call and __LINE__ share a line.
  const auto [address, call_line] = std::pair<uint64_t, int64_t>(CallerAddress(), __LINE__);
  std::optional<Mapping> mapping = LiveMapping(address);
  ASSERT_TRUE(mapping.has_value());
  Profile p;
  p.mappings.push_back(*mapping);
  p.locations.push_back({.id = 1, .mapping = 0, .address = address});
  SymbolizeReport report = Symbolize(p, {});
  EXPECT_THAT(report.warnings, IsEmpty());
  ASSERT_FALSE(p.locations[0].lines.empty());
  EXPECT_EQ(p.locations[0].lines[0].line, call_line);
  EXPECT_THAT(FunctionOf(p, p.locations[0], 0).filename, ::testing::EndsWith("/symbolize_test.cc"));
  EXPECT_THAT(
      FunctionOf(p, p.locations[0], 0).name,
      ::testing::EndsWith("SymbolizeTest_LiveAddressOfThisProcessAtItsRealLoadAddress_Test::TestBody"));
}

struct SymbolizerFrame {
  std::string function;
  std::string file;
  int64_t line = 0;
  int64_t column = 0;
};

// What llvm-symbolizer (the tool upstream pprof runs) says about each of
// `addresses`, innermost frame first, with functions' linkage names: for
// each address, pairs of lines "function" / "file:line:column", then an
// empty line.
std::vector<std::vector<SymbolizerFrame>> LlvmSymbolizer(const std::string& symbolizer,
                                                         const std::string& binary,
                                                         const std::vector<uint64_t>& addresses,
                                                         const std::string& scratch) {
  std::string input_path = scratch + "/symbolizer.input";
  {
    std::ofstream input(input_path);
    for (uint64_t address : addresses) input << absl::StrFormat("0x%x\n", address);
  }
  std::istringstream output(
      CommandOutput(symbolizer + " --inlines --no-demangle --obj=" + binary + " < " + input_path));
  std::vector<std::vector<SymbolizerFrame>> result(1);
  std::string function, location;
  while (std::getline(output, function)) {
    if (function.empty()) {
      result.emplace_back();
      continue;
    }
    if (!std::getline(output, location)) break;
    // GCC's clones of a function ("_Z1fv.cold", "_Z1fv.part.0", from the
    // symbol table) are that function.
    if (function.starts_with("_Z")) function.resize(std::min(function.find('.'), function.size()));
    SymbolizerFrame frame{.function = function};
    size_t column_colon = location.rfind(':');
    size_t line_colon = location.rfind(':', column_colon - 1);
    frame.file = location.substr(0, line_colon);
    frame.line = std::atoll(location.c_str() + line_colon + 1);
    frame.column = std::atoll(location.c_str() + column_colon + 1);
    result.back().push_back(frame);
  }
  if (!result.empty() && result.back().empty()) result.pop_back();
  EXPECT_EQ(result.size(), addresses.size());
  result.resize(addresses.size());
  return result;
}

std::string DescribeFrames(const Profile& p, const Location& location) {
  std::string out;
  for (size_t k = 0; k < location.lines.size(); ++k) {
    const Function& function = FunctionOf(p, location, k);
    absl::StrAppendFormat(&out, "  %s %s:%d:%d\n", function.system_name, function.filename,
                          location.lines[k].line, location.lines[k].column);
  }
  return out;
}

std::string DescribeFrames(const std::vector<SymbolizerFrame>& frames) {
  std::string out;
  for (const SymbolizerFrame& frame : frames)
    absl::StrAppendFormat(&out, "  %s %s:%d:%d\n", frame.function, frame.file, frame.line, frame.column);
  return out;
}

std::string FindLlvmSymbolizer() {
  for (std::string candidate : {"llvm-symbolizer", "/usr/lib/llvm-14/bin/llvm-symbolizer"}) {
    if (std::system(("command -v " + candidate + " >/dev/null 2>&1").c_str()) == 0) return candidate;
  }
  return "";
}

TEST_F(SymbolizeTest, MatchesLlvmSymbolizerAtCallSitesOfThisTestBinary) {
  // A large C++ binary with deep inlining (gtest, abseil, the standard
  // library; inlined at -O2, the default RelWithDebInfo build): this test
  // executable, at every k-th call instruction. The
  // oracle is llvm-symbolizer rather than addr2line here: binutils 2.40
  // misnames files at some DWARF 5 sites (those using the line program's
  // initial file register) and inlined functions without a linkage name.
  constexpr size_t kMaxSites = 3000;  // about a second, even under ASan
  std::string symbolizer = FindLlvmSymbolizer();
  if (symbolizer.empty())
    GTEST_SKIP() << "llvm-symbolizer (Debian llvm-14, which clang brings) is not installed";
  std::string binary = std::filesystem::read_symlink("/proc/self/exe").string();
  if (!HasDwarf(binary)) GTEST_SKIP() << "this test binary was built without -g";
  std::vector<Instruction> instructions = Disassemble(binary, "");
  std::vector<uint64_t> sites;
  for (size_t i = 0; i + 1 < instructions.size(); ++i) {
    if (instructions[i].text.starts_with("call")) sites.push_back(instructions[i + 1].address - 1);
  }
  ASSERT_GT(sites.size(), 1000u);
  size_t stride = (sites.size() + kMaxSites - 1) / kMaxSites;
  std::vector<uint64_t> sampled;
  for (size_t i = 0; i < sites.size(); i += stride) sampled.push_back(sites[i]);

  PreloadProfile builder;
  size_t exe = builder.AddMapping(binary, kPieLoadBase, binary);
  for (uint64_t site : sampled) builder.AddLocation(exe, site, "");
  Profile& p = builder.profile();
  EXPECT_THAT(Symbolize(p, {}).warnings, IsEmpty());

  std::vector<std::vector<SymbolizerFrame>> expected = LlvmSymbolizer(symbolizer, binary, sampled, scratch_);
  size_t compared = 0, compared_names = 0;
  for (size_t i = 0; i < sampled.size(); ++i) {
    // Code without DWARF (Debian's libgtest.a): no line to compare.
    if (expected[i].empty() || expected[i][0].line == 0) continue;
    ++compared;
    const Location& location = p.locations[i];
    ASSERT_EQ(location.lines.size(), expected[i].size())
        << absl::StrFormat("at 0x%x", sampled[i]) << ": we say\n"
        << DescribeFrames(p, location) << "llvm-symbolizer says\n"
        << DescribeFrames(expected[i]);
    for (size_t k = 0; k < expected[i].size(); ++k) {
      SCOPED_TRACE(absl::StrFormat("frame %d at 0x%x", k, sampled[i]));
      // Names must agree, demangled the same way (from a linkage name in
      // DWARF, or from the symbol table, where either of two aliases, such as
      // a constructor's C1 and C2, may be chosen). For a function without a
      // linkage name, llvm-symbolizer prints the bare DW_AT_name of inlined
      // frames ("TestBody") where we qualify it (tested above); for one the
      // GNU demangler fails on, we show the qualified DWARF name.
      const Function& function = FunctionOf(p, location, k);
      if (function.system_name.starts_with("_Z")) {
        EXPECT_EQ(function.system_name.find('.'), std::string::npos)
            << "a clone suffix: " << function.system_name;
        if (Demangled(function.system_name) != function.system_name &&
            expected[i][k].function.starts_with("_Z")) {
          EXPECT_EQ(function.name, ShortFunctionName(Demangled(expected[i][k].function)));
          ++compared_names;
        }
      }
      ASSERT_EQ(FunctionOf(p, location, k).filename, expected[i][k].file);
      ASSERT_EQ(location.lines[k].line, expected[i][k].line);
      ASSERT_EQ(location.lines[k].column, expected[i][k].column);
    }
  }
  EXPECT_GT(compared, sampled.size() / 4);
  EXPECT_GT(compared_names, compared);
}

// How many compile units of `binary` list `vaddr` in their address ranges
// (read with libdw directly, not through the code under test).
int UnitsClaiming(const std::string& binary, uint64_t vaddr) {
  int fd = open(binary.c_str(), O_RDONLY);
  if (fd < 0) return 0;
  Dwarf* dwarf = dwarf_begin(fd, DWARF_C_READ);
  int claiming = 0;
  Dwarf_CU* cu = nullptr;
  Dwarf_Die unit;
  Dwarf_Half version;
  uint8_t unit_type;
  while (dwarf && dwarf_get_units(dwarf, cu, &cu, &version, &unit_type, &unit, nullptr) == 0) {
    Dwarf_Addr base = 0, start = 0, end = 0;
    ptrdiff_t offset = 0;
    bool claims = false;
    while ((offset = dwarf_ranges(&unit, offset, &base, &start, &end)) > 0) claims |= start <= vaddr && vaddr < end;
    claiming += claims;
  }
  if (dwarf) dwarf_end(dwarf);
  close(fd);
  return claiming;
}

// The 1-based line of `file` holding `text`, or 0.
int64_t LineHolding(const std::string& file, const std::string& text) {
  std::ifstream input(file);
  std::string line;
  for (int64_t number = 1; std::getline(input, line); ++number) {
    if (line.find(text) != std::string::npos) return number;
  }
  return 0;
}

TEST_F(SymbolizeTest, TheKeptCopyOfACOMDATFunctionDescribesIt) {
  // tests/programs/symbolize/comdat_gather.h: Gather's two copies differ in
  // their inlining; the linker keeps the first in link order and points the
  // other's DWARF at it. Whichever comes first, its frames are the answer.
  struct Case {
    std::string binary;
    std::vector<std::string> functions;  // innermost first
    std::string innermost_text;          // the source text of the malloc call's line
  };
  const Case cases[] = {
      {kComdatDirectFirst, {"Gather"}, "int* values = static_cast<int*>(std::malloc(count * 3));"},
      {kComdatViaAllocateFirst, {"Allocate", "Gather"}, "inline void* Allocate(int count) { return std::malloc"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.binary);
    uint64_t site = CallSite(c.binary, "_Z6Gatheri", "malloc");
    // The premise: both copies' units claim the call (else this binary
    // tests nothing).
    ASSERT_EQ(UnitsClaiming(c.binary, site), 2);
    PreloadProfile builder;
    size_t exe = builder.AddMapping(c.binary, kPieLoadBase, c.binary);
    builder.AddLocation(exe, site, "");
    Profile& p = builder.profile();
    EXPECT_THAT(Symbolize(p, {}).warnings, IsEmpty());
    const Location& location = p.locations[0];
    ASSERT_EQ(location.lines.size(), c.functions.size()) << DescribeFrames(p, location);
    for (size_t k = 0; k < c.functions.size(); ++k)
      EXPECT_EQ(FunctionOf(p, location, k).name, c.functions[k]) << DescribeFrames(p, location);
    const std::string& header = FunctionOf(p, location, 0).filename;
    EXPECT_THAT(header, ::testing::EndsWith("/comdat_gather.h"));
    EXPECT_EQ(location.lines[0].line, LineHolding(header, c.innermost_text));
    if (c.functions.size() == 2) {
      EXPECT_EQ(location.lines[1].line, LineHolding(header, "(Allocate(count));"));
    }
  }
}

TEST_F(SymbolizeTest, SkipsPseudoMappingsAndInvalidProfiles) {
  Profile p;
  p.mappings.push_back({.id = 1, .memory_start = 0x1000, .memory_limit = 0x2000, .filename = "[vdso]"});
  p.locations.push_back({.id = 1, .mapping = 0, .address = 0x1010});
  SymbolizeReport report = Symbolize(p, {});
  EXPECT_THAT(report.warnings, IsEmpty());
  EXPECT_TRUE(p.locations[0].lines.empty());

  p.locations.push_back({.id = 1, .mapping = 0, .address = 0x1020});  // id used twice
  report = Symbolize(p, {});
  ASSERT_EQ(report.warnings.size(), 1u);
  EXPECT_THAT(report.warnings[0], HasSubstr("invalid profile"));
}

}  // namespace
}  // namespace heapwatch
