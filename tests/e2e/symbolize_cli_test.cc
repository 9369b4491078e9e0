// `heapwatch symbolize` on a profile the preload wrote: the inline chains it
// adds equal addr2line's on the same binaries, `go tool pprof` shows them
// once the binaries are gone, and the verb's options and errors behave.
// Profiles are read back with the protoc-generated parser, not our codec.

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "tests/e2e/preload_harness.h"

namespace heapwatch::testing {
namespace {

namespace fs = std::filesystem;
using perftools::profiles::Profile;

ProcessResult Heapwatch(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {HeapwatchCommand()};
  argv.insert(argv.end(), args.begin(), args.end());
  return RunProgram(argv, {});
}

ProcessResult GoToolPprof(const std::vector<std::string>& args, const std::string& home) {
  std::vector<std::string> argv = {GO_EXECUTABLE, "tool", "pprof"};
  argv.insert(argv.end(), args.begin(), args.end());
  // A home and a cache of their own under the build tree; never the network.
  return RunProgram(
      argv, {{"HOME", home}, {"GOCACHE", home + "/gocache"}, {"PPROF_TMPDIR", home}, {"GOFLAGS", ""}}, 120);
}

// The ELF virtual address of file offset `offset` in `binary`, through the
// executable PT_LOAD segment as readelf lists it.
uint64_t VirtualAddress(const std::string& binary, uint64_t offset) {
  ProcessResult readelf = RunProgram({"readelf", "-lW", binary}, {});
  std::istringstream lines(readelf.out);
  std::string line;
  while (std::getline(lines, line)) {
    std::istringstream fields(line);
    std::string type, flags;
    uint64_t file_offset = 0, vaddr = 0, paddr = 0, file_size = 0, mem_size = 0;
    fields >> type >> std::hex >> file_offset >> vaddr >> paddr >> file_size >> mem_size;
    std::getline(fields, flags);
    if (type == "LOAD" && flags.find('E') != std::string::npos && offset >= file_offset &&
        offset < file_offset + file_size) {
      return offset - file_offset + vaddr;
    }
  }
  ADD_FAILURE() << "no executable segment holds offset " << offset << " in " << binary;
  return 0;
}

struct SourceLine {
  std::string function;  // as addr2line -C prints it
  std::string file;
  int64_t line = 0;
};

// `addr2line -i -f -C` at `vaddr`, innermost frame first.
std::vector<SourceLine> Addr2Line(const std::string& binary, uint64_t vaddr) {
  char address[32];
  std::snprintf(address, sizeof(address), "0x%llx", static_cast<unsigned long long>(vaddr));
  ProcessResult r = RunProgram({"addr2line", "-i", "-f", "-C", "-e", binary, address}, {});
  std::istringstream lines(r.out);
  std::vector<SourceLine> frames;
  std::string function, location;
  while (std::getline(lines, function) && std::getline(lines, location)) {
    if (size_t discriminator = location.find(" (discriminator"); discriminator != std::string::npos) {
      location.resize(discriminator);
    }
    size_t colon = location.rfind(':');
    frames.push_back({function, location.substr(0, colon), std::atoll(location.c_str() + colon + 1)});
  }
  return frames;
}

const std::string& Str(const Profile& p, int64_t index) { return p.string_table(static_cast<int>(index)); }

const perftools::profiles::Function& FunctionById(const Profile& p, uint64_t id) {
  for (const auto& function : p.function()) {
    if (function.id() == id) return function;
  }
  static const perftools::profiles::Function kNone;
  ADD_FAILURE() << "no function " << id;
  return kNone;
}

// One location of ours with what addr2line says about it.
struct Expected {
  uint64_t location_id;
  std::vector<SourceLine> frames;
};

// A run of symbolize_pie (and its library, both copied to work/bin) under
// the preload at rate 1: the profile, and addr2line's frames for every
// location in the two binaries.
class SymbolizeCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    work_ = MakeTempDir("symbolize");
    bin_ = work_ + "/bin";
    fs::create_directories(bin_);
    fs::copy_file(TestProgram("symbolize_pie"), bin_ + "/symbolize_pie");
    fs::copy_file(TestProgram("libsymbolize_shapes.so"), bin_ + "/libsymbolize_shapes.so");
    // The executable's RUNPATH names the build tree; LD_LIBRARY_PATH comes
    // first, so the library copy is the one loaded (checked below).
    ProcessResult run = RunUnderPreload({bin_ + "/symbolize_pie"}, work_ + "/profiles",
                                    {{"HEAPWATCH_RATE", "1"}, {"LD_LIBRARY_PATH", bin_}});
    ASSERT_EQ(run.exit_code, 0) << run.err;
    std::vector<std::string> files = ProfileFiles(work_ + "/profiles");
    ASSERT_EQ(files.size(), 1u);
    profile_path_ = files[0];
  }

  std::vector<Expected> ExpectedFrames() {
    Profile raw = ReadProfile(profile_path_);
    std::map<uint64_t, std::string> ours;  // mapping id -> binary
    for (const auto& mapping : raw.mapping()) {
      const std::string& file = Str(raw, mapping.filename());
      if (file == bin_ + "/symbolize_pie" || file == bin_ + "/libsymbolize_shapes.so")
        ours[mapping.id()] = file;
    }
    EXPECT_EQ(ours.size(), 2u) << "the copies in " << bin_ << " were not the ones loaded";
    std::vector<Expected> expected;
    for (const auto& location : raw.location()) {
      auto it = ours.find(location.mapping_id());
      if (it == ours.end()) continue;
      const auto& mapping = raw.mapping(static_cast<int>(location.mapping_id() - 1));
      EXPECT_EQ(mapping.id(), location.mapping_id());
      uint64_t vaddr =
          VirtualAddress(it->second, location.address() - mapping.memory_start() + mapping.file_offset());
      std::vector<SourceLine> frames = Addr2Line(it->second, vaddr);
      // Code without DWARF (_start, from crt1.o) keeps its symbol name.
      if (frames.size() == 1 && frames[0].file == "??") continue;
      expected.push_back({location.id(), frames});
    }
    return expected;
  }

  std::string work_, bin_, profile_path_;
};

TEST_F(SymbolizeCliTest, InlineChainsMatchAddr2LineAndPprofShowsThemWithoutTheBinaries) {
  std::vector<Expected> expected = ExpectedFrames();
  ASSERT_GE(expected.size(), 4u);  // Buffers::Make, main's three calls, MakeGrid's two
  std::string symbolized = work_ + "/symbolized.pb.gz";
  ProcessResult r = Heapwatch({"symbolize", profile_path_, symbolized});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("locations symbolized"), std::string::npos) << r.err;

  Profile p = ReadProfile(symbolized);
  bool saw_inline_chain = false;
  for (const Expected& want : expected) {
    const perftools::profiles::Location* location = nullptr;
    for (const auto& l : p.location()) {
      if (l.id() == want.location_id) location = &l;
    }
    ASSERT_NE(location, nullptr);
    ASSERT_EQ(location->line_size(), static_cast<int>(want.frames.size())) << location->DebugString();
    for (size_t k = 0; k < want.frames.size(); ++k) {
      const auto& line = location->line(static_cast<int>(k));
      const auto& function = FunctionById(p, line.function_id());
      EXPECT_EQ(Str(p, function.filename()), want.frames[k].file);
      EXPECT_EQ(line.line(), want.frames[k].line);
      // addr2line prints "int* demo::MakeBuffer<int>(unsigned long)", the
      // profile the name pprof shows: "demo::MakeBuffer".
      std::string name = Str(p, function.name());
      size_t last = name.rfind("::");
      std::string unqualified = last == std::string::npos ? name : name.substr(last + 2);
      EXPECT_FALSE(name.empty());
      EXPECT_NE(want.frames[k].function.find(unqualified), std::string::npos)
          << name << " vs " << want.frames[k].function;
    }
    saw_inline_chain = saw_inline_chain || want.frames.size() >= 3;
  }
  EXPECT_TRUE(saw_inline_chain) << "RawAllocate <- MakeBuffer <- Buffers::Make was not captured";
  for (const auto& mapping : p.mapping()) {
    const std::string& file = Str(p, mapping.filename());
    if (file.starts_with(bin_)) {
      EXPECT_TRUE(mapping.has_functions() && mapping.has_filenames() && mapping.has_line_numbers() &&
                  mapping.has_inline_frames())
          << file;
    }
  }

  // With the binaries gone, pprof shows what the profile carries.
  std::string stash = work_ + "/stash";
  fs::rename(bin_, stash);
  ProcessResult raw = GoToolPprof({"-raw", symbolized}, work_);
  ASSERT_EQ(raw.exit_code, 0) << raw.err;
  ProcessResult top = GoToolPprof({"-top", "-lines", "-nodefraction=0", symbolized}, work_);
  ASSERT_EQ(top.exit_code, 0) << top.err;
  for (const Expected& want : expected) {
    for (const SourceLine& frame : want.frames) {
      std::string file_line = frame.file + ":" + std::to_string(frame.line);
      EXPECT_NE(raw.out.find(" " + file_line + " "), std::string::npos) << file_line << " not in:\n"
                                                                        << raw.out;
      EXPECT_NE(top.out.find(" " + file_line), std::string::npos) << file_line << " not in:\n" << top.out;
    }
  }
  for (const char* name :
       {"demo::RawAllocate", "demo::MakeBuffer", "demo::Buffers::Make", "shapes::MakeGrid"}) {
    EXPECT_NE(top.out.find(name), std::string::npos) << name << " not in:\n" << top.out;
  }

  // In place, again, with the binaries gone: nothing changes, and our
  // mappings, already symbolized, get no warning.
  std::string before = p.DebugString();
  ProcessResult again = Heapwatch({"symbolize", symbolized});
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_EQ(again.err.find("symbolize_pie"), std::string::npos) << again.err;
  EXPECT_EQ(again.err.find("libsymbolize_shapes"), std::string::npos) << again.err;
  EXPECT_EQ(ReadProfile(symbolized).DebugString(), before);

  // --binary-path finds them where they went, with the same result.
  std::string from_stash = work_ + "/from_stash.pb.gz";
  ProcessResult found =
      Heapwatch({"symbolize", "--binary-path", work_ + "/nowhere:" + stash, profile_path_, from_stash});
  ASSERT_EQ(found.exit_code, 0) << found.err;
  EXPECT_EQ(ReadProfile(from_stash).DebugString(), before);

  // Without it, a warning per missing binary; the preload's names stay.
  std::string unfound = work_ + "/unfound.pb.gz";
  ProcessResult missing = Heapwatch({"symbolize", profile_path_, unfound});
  ASSERT_EQ(missing.exit_code, 0) << missing.err;
  EXPECT_NE(missing.err.find("warning: " + bin_ + "/symbolize_pie (build ID"), std::string::npos)
      << missing.err;
  EXPECT_NE(missing.err.find("warning: " + bin_ + "/libsymbolize_shapes.so (build ID"), std::string::npos)
      << missing.err;
  Profile kept = ReadProfile(unfound);
  bool named = false;
  for (const auto& function : kept.function())
    named = named || Str(kept, function.name()) == "demo::Buffers::Make";
  EXPECT_TRUE(named);

  // -q: not a word.
  ProcessResult quiet = Heapwatch({"symbolize", "-q", profile_path_, work_ + "/quiet.pb.gz"});
  ASSERT_EQ(quiet.exit_code, 0);
  EXPECT_EQ(quiet.err, "");
}

TEST_F(SymbolizeCliTest, UsageAndInputErrors) {
  ProcessResult help = Heapwatch({"symbolize", "--help"});
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_NE(help.out.find("usage: heapwatch symbolize [options] IN [OUT]"), std::string::npos) << help.out;

  for (const std::vector<std::string>& args :
       std::vector<std::vector<std::string>>{{"symbolize"},
                                             {"symbolize", profile_path_, work_ + "/a", work_ + "/b"},
                                             {"symbolize", "--no-such-option", profile_path_}}) {
    ProcessResult r = Heapwatch(args);
    EXPECT_EQ(r.exit_code, 2) << args.size();
    EXPECT_NE(r.err.find("heapwatch symbolize: "), std::string::npos) << r.err;
  }

  ProcessResult missing = Heapwatch({"symbolize", work_ + "/no-such.pb.gz"});
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_NE(missing.err.find("heapwatch symbolize: " + work_ + "/no-such.pb.gz"), std::string::npos)
      << missing.err;

  std::string garbage = work_ + "/garbage.pb.gz";
  {
    std::FILE* f = std::fopen(garbage.c_str(), "w");
    std::fputs("\x1f\x8b not really gzip", f);
    std::fclose(f);
  }
  ProcessResult bad = Heapwatch({"symbolize", garbage});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("heapwatch symbolize: " + garbage), std::string::npos) << bad.err;

  ProcessResult unwritable = Heapwatch({"symbolize", profile_path_, work_ + "/no/such/dir/out.pb.gz"});
  EXPECT_EQ(unwritable.exit_code, 2);
  EXPECT_NE(unwritable.err.find("heapwatch symbolize: "), std::string::npos) << unwritable.err;
}

std::string ReadBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

TEST(SymbolizeCliInputsTest, MalformedProfilesAreRefusedAndLeftUntouched) {
  // In place (no OUT), the file must survive a refusal byte for byte.
  std::string work = MakeTempDir("malformed");
  size_t files = 0;
  for (const fs::directory_entry& entry :
       fs::directory_iterator(std::string(HEAPWATCH_SOURCE_DIR) + "/tests/corpus/malformed")) {
    if (entry.path().filename() == "README.md") continue;
    SCOPED_TRACE(entry.path().string());
    ++files;
    std::string copy = work + "/" + entry.path().filename().string();
    fs::copy_file(entry.path(), copy);
    ProcessResult r = Heapwatch({"symbolize", copy});
    EXPECT_EQ(r.signal, 0) << r.err;
    EXPECT_EQ(r.exit_code, 2) << r.err;
    EXPECT_TRUE(r.err.starts_with("heapwatch symbolize: " + copy + ": ")) << r.err;
    EXPECT_EQ(ReadBytes(copy), ReadBytes(entry.path().string()));
  }
  EXPECT_GE(files, 20u);
}

}  // namespace
}  // namespace heapwatch::testing
