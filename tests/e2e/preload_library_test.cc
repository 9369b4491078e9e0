// The library's contract with the process it lives in: what it exports,
// what it drags in, how it treats bad settings.
#include <sys/stat.h>

#include <algorithm>
#include <map>
#include <set>
#include <sstream>

#include <gtest/gtest.h>

#include "tests/e2e/preload_harness.h"

namespace heapwatch::testing {
namespace {

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) lines.push_back(line);
  }
  return lines;
}

TEST(PreloadLibraryTest, ExportsOnlyTheInterposedFunctionsAndOurApi) {
  ProcessResult r = RunProgram({"/usr/bin/nm", "-D", "--defined-only", PreloadLibrary()}, {});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::set<std::string> exported;
  for (const std::string& line : Lines(r.out)) exported.insert(line.substr(line.rfind(' ') + 1));
  std::set<std::string> expected = {
      "malloc", "free", "calloc", "realloc", "reallocarray", "memalign", "posix_memalign", "aligned_alloc",
      "valloc", "pvalloc", "malloc_usable_size", "heapwatch_dump", "heapwatch_is_active",
      "heapwatch_sample_rate", "dlopen", "dlclose",
      // operator new / new[]: plain, nothrow, aligned, aligned + nothrow
      "_Znwm", "_Znam", "_ZnwmRKSt9nothrow_t", "_ZnamRKSt9nothrow_t", "_ZnwmSt11align_val_t",
      "_ZnamSt11align_val_t", "_ZnwmSt11align_val_tRKSt9nothrow_t", "_ZnamSt11align_val_tRKSt9nothrow_t",
      // operator delete / delete[]: plain, nothrow, sized, aligned, sized + aligned, aligned + nothrow
      "_ZdlPv", "_ZdaPv", "_ZdlPvRKSt9nothrow_t", "_ZdaPvRKSt9nothrow_t", "_ZdlPvm", "_ZdaPvm",
      "_ZdlPvSt11align_val_t", "_ZdaPvSt11align_val_t", "_ZdlPvmSt11align_val_t", "_ZdaPvmSt11align_val_t",
      "_ZdlPvSt11align_val_tRKSt9nothrow_t", "_ZdaPvSt11align_val_tRKSt9nothrow_t"};
  EXPECT_EQ(exported, expected);
}

TEST(PreloadLibraryTest, LoadsNoProtobufAbseilOrCxxRuntime) {
  ProcessResult ldd = RunProgram({"/usr/bin/ldd", PreloadLibrary()}, {});
  ASSERT_EQ(ldd.exit_code, 0) << ldd.err;
  // Nor libm: what a program did not load, it should not pay for
  // (preload/elementary_functions.h).
  for (const char* forbidden : {"libprotobuf", "libabsl", "libstdc++", "libz.so", "libm.so"}) {
    EXPECT_EQ(ldd.out.find(forbidden), std::string::npos) << forbidden << " in\n" << ldd.out;
  }
  // And in a running C program: what is mapped is what the program loaded.
  std::string dir = MakeTempDir("out");
  ProcessResult maps = RunUnderPreload({"/bin/cat", "/proc/self/maps"}, dir, {});
  ASSERT_EQ(maps.exit_code, 0) << maps.err;
  EXPECT_NE(maps.out.find("libheapwatch.so"), std::string::npos) << "the preload was not loaded";
  for (const char* forbidden : {"libprotobuf", "libabsl", "libstdc++"}) {
    EXPECT_EQ(maps.out.find(forbidden), std::string::npos) << forbidden;
  }
}

// The large tables (the sampled-block filter and its counts, the bootstrap
// pool) must stay zero-initialized, i.e. in .bss: one non-zero member moves
// its whole object into the file-backed .data, whose pages are read in and
// count as resident by the dozen as soon as anything near them is touched.
TEST(PreloadLibraryTest, LargeTablesStayInBss) {
  ProcessResult r = RunProgram({"/usr/bin/size", "-A", PreloadLibrary()}, {});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::map<std::string, long> sections;
  for (const std::string& line : Lines(r.out)) {
    std::istringstream fields(line);
    std::string name;
    long bytes = 0;
    if (fields >> name >> bytes) sections[name] = bytes;
  }
  ASSERT_TRUE(sections.count(".data") && sections.count(".bss")) << r.out;
  EXPECT_LT(sections[".data"], 64 * 1024) << r.out;
  EXPECT_GT(sections[".bss"], 1024 * 1024) << "the tables are expected here:\n" << r.out;
}

TEST(PreloadLibraryTest, BadSettingsWarnOnceAndTheProgramRuns) {
  std::string dir = MakeTempDir("out");
  ProcessResult r = RunUnderPreload({TestProgram("alloc_sites")}, dir,
                                {{"HEAPWATCH_RATE", "lots"}, {"HEAPWATCH_DEPTH", "-3"}, {"HEAPWATCH_INTERVAL", "soon"}});
  EXPECT_EQ(r.exit_code, 0);
  std::vector<std::string> lines = Lines(r.err);
  ASSERT_EQ(lines.size(), 3u) << r.err;
  EXPECT_NE(lines[0].find("HEAPWATCH_RATE='lots'"), std::string::npos) << lines[0];
  EXPECT_NE(lines[1].find("HEAPWATCH_DEPTH='-3'"), std::string::npos) << lines[1];
  EXPECT_NE(lines[2].find("HEAPWATCH_INTERVAL='soon'"), std::string::npos) << lines[2];
  std::vector<std::string> files = ProfileFiles(dir);
  ASSERT_EQ(files.size(), 1u);
  EXPECT_EQ(ReadProfile(files[0]).period(), 524288) << "the default rate replaces the bad one";
}

TEST(PreloadLibraryTest, UnusableOutputDirectoryStepsAside) {
  // A path below a regular file cannot be created, even by root.
  for (const char* out : {"/etc/passwd/profiles", "/proc/heapwatch-cannot-create"}) {
    ProcessResult r = RunUnderPreload({TestProgram("alloc_sites")}, out, {{"HEAPWATCH_RATE", "1"}});
    EXPECT_EQ(r.exit_code, 0) << out;
    std::vector<std::string> lines = Lines(r.err);
    ASSERT_EQ(lines.size(), 1u) << r.err;
    EXPECT_NE(lines[0].find("cannot write profiles to"), std::string::npos) << lines[0];
    EXPECT_NE(lines[0].find(out), std::string::npos) << lines[0];
  }
}

TEST(PreloadLibraryTest, DefaultDirectoryIsAnnouncedOnceAndSharedWithChildren) {
  std::string cwd = MakeTempDir("cwd");
  std::map<std::string, std::string> env = {{"LD_PRELOAD", PreloadLibrary()}, {"HEAPWATCH_RATE", "1"}};
  ProcessResult r = RunProgram({TestProgram("exec_child"), TestProgram("alloc_sites")}, env, 60, cwd);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::string expected_dir = cwd + "/heapwatch-profiles";
  std::vector<std::string> lines = Lines(r.err);
  ASSERT_EQ(lines.size(), 1u) << "the child inherits the directory silently:\n" << r.err;
  EXPECT_NE(lines[0].find("writing heap profiles to " + expected_dir), std::string::npos) << lines[0];
  EXPECT_EQ(ProfileFiles(expected_dir).size(), 2u);
  struct stat st;
  ASSERT_EQ(stat(ProfileFiles(expected_dir)[0].c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u) << "profiles are private to their owner";
}

TEST(PreloadLibraryTest, SymlinkAtTheFinalNameIsReplacedNotFollowed) {
  std::string dir = MakeTempDir("out");
  std::string victim = dir + "/victim";
  ASSERT_EQ(RunProgram({"/bin/sh", "-c", "echo precious > '" + victim + "'"}, {}).exit_code, 0);
  // The program's pid is not known in advance: plant links for a range of
  // pids around the next ones, all pointing at the victim.
  ProcessResult probe = RunProgram({"/bin/sh", "-c", "echo $$"}, {});
  int base = std::stoi(probe.out);
  for (int pid = base; pid < base + 200; ++pid) {
    symlink(victim.c_str(), (dir + "/heap." + std::to_string(pid) + ".exit.pb.gz").c_str());
  }
  ProcessResult r = RunUnderPreload({TestProgram("alloc_sites")}, dir, {{"HEAPWATCH_RATE", "1"}});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ProcessResult cat = RunProgram({"/bin/cat", victim}, {});
  EXPECT_EQ(cat.out, "precious\n") << "a symlink at the final name must not be written through";
  // The program's profile replaced its link: exactly one regular file.
  int regular = 0;
  for (const std::string& file : ProfileFiles(dir)) {
    struct stat st;
    ASSERT_EQ(lstat(file.c_str(), &st), 0);
    if (S_ISREG(st.st_mode)) {
      ++regular;
      EXPECT_EQ(TotalsAtLeaf(ReadProfile(file), "KeepBlocks").inuse_objects, 40);
    }
  }
  EXPECT_EQ(regular, 1);
}

}  // namespace
}  // namespace heapwatch::testing
