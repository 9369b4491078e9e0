// The preload through the lives processes lead: fork, exec, dlopen, the
// ways a process ends.
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "tests/e2e/preload_harness.h"
#include "tests/unit/shell_and_files.h"

namespace heapwatch::testing {
namespace {

bool Exists(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0;
}

TEST(PreloadProcessTest, ForkedChildWritesItsOwnProfile) {
  std::string dir = MakeTempDir("out");
  ProcessResult r = RunUnderPreload({TestProgram("fork_child"), "simple"}, dir, {{"HEAPWATCH_RATE", "1"}});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::vector<pid_t> children = ChildPids(r.out);
  ASSERT_EQ(children.size(), 1u);
  std::vector<std::string> all = ProfileFiles(dir);
  ASSERT_EQ(all.size(), 2u);
  std::string child_file = ExitProfilePath(dir, children[0]);
  ASSERT_TRUE(Exists(child_file));
  std::string parent_file = all[0] == child_file ? all[1] : all[0];

  perftools::profiles::Profile child = ReadProfile(child_file);
  EXPECT_EQ(CommentValue(child, "pid"), std::to_string(children[0]));
  EXPECT_EQ(TotalsAtLeaf(child, "KeepInChild"), (HeapTotals{7, 7 * 2222, 7, 7 * 2222}));
  // What the parent allocated before the fork is really in the child's heap.
  EXPECT_EQ(TotalsAtLeaf(child, "KeepInParent").inuse_space, 5 * 1111);

  perftools::profiles::Profile parent = ReadProfile(parent_file);
  EXPECT_EQ(TotalsAtLeaf(parent, "KeepInParent"), (HeapTotals{5, 5 * 1111, 5, 5 * 1111}));
  EXPECT_EQ(TotalsAtLeaf(parent, "KeepInChild"), HeapTotals{}) << "the child's allocations are not the parent's";
}

TEST(PreloadProcessTest, ForkWhileOtherThreadsAllocateDoesNotDeadlock) {
  std::string dir = MakeTempDir("out");
  // A low rate keeps the profiler's locks and ring busy in every thread.
  ProcessResult r = RunUnderPreload({TestProgram("fork_child"), "stress"}, dir, {{"HEAPWATCH_RATE", "256"}}, 120);
  ASSERT_FALSE(r.timed_out) << "deadlock";
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::vector<pid_t> children = ChildPids(r.out);
  ASSERT_EQ(children.size(), 30u);
  for (pid_t child : children) {
    std::string file = ExitProfilePath(dir, child);
    ASSERT_TRUE(Exists(file)) << file;
    perftools::profiles::Profile p = ReadProfile(file);
    EXPECT_EQ(CommentValue(p, "pid"), std::to_string(child));
  }
}

TEST(PreloadProcessTest, ExecutedChildIsProfiledUnlessTurnedOff) {
  for (bool children_on : {true, false}) {
    std::string dir = MakeTempDir(children_on ? "on" : "off");
    ProcessResult r = RunUnderPreload({TestProgram("exec_child"), TestProgram("alloc_sites")}, dir,
                                  {{"HEAPWATCH_RATE", "1"}, {"HEAPWATCH_CHILDREN", children_on ? "1" : "0"}});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    std::vector<pid_t> children = ChildPids(r.out);
    ASSERT_EQ(children.size(), 1u);
    std::string child_file = ExitProfilePath(dir, children[0]);
    EXPECT_EQ(Exists(child_file), children_on) << child_file;
    EXPECT_EQ(ProfileFiles(dir).size(), children_on ? 2u : 1u) << "the parent always writes its own";
    if (children_on && Exists(child_file)) {
      EXPECT_EQ(TotalsAtLeaf(ReadProfile(child_file), "KeepBlocks").inuse_objects, 40);
    }
  }
}

TEST(PreloadProcessTest, ExecInPlaceKeepsEachImagesProfiles) {
  // A process that exec()s keeps its pid. The second image must number its
  // profiles after the first image's, not over them, and say it is another
  // run of that pid.
  std::string dir = MakeTempDir("out");
  ProcessResult r = RunUnderPreload({TestProgram("exec_self"), "first", "1200"}, dir,
                                    {{"HEAPWATCH_RATE", "1"}, {"HEAPWATCH_INTERVAL", "0.2"}});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ASSERT_EQ(r.out.rfind("pid ", 0), 0u);
  pid_t pid = std::stoi(r.out.substr(4));
  std::vector<std::string> files = ProfileFiles(dir, pid);
  std::string first_run, second_run;
  int first_files = 0, second_files = 0;
  bool second_started = false;
  for (const std::string& file : files) {  // sorted: 0001, 0002, ..., exit
    perftools::profiles::Profile p = ReadProfile(file);
    std::string run = CommentValue(p, "run");
    bool first = TotalsAtLeaf(p, "KeepFirst").inuse_objects == 1;
    bool second = TotalsAtLeaf(p, "KeepSecond").inuse_objects == 1;
    ASSERT_NE(first, second) << file << ": each profile belongs to exactly one image";
    if (first) {
      EXPECT_FALSE(second_started) << file << ": a first-image profile numbered after the second's";
      if (first_run.empty()) first_run = run;
      EXPECT_EQ(run, first_run) << file;
      ++first_files;
    } else {
      second_started = true;
      if (second_run.empty()) second_run = run;
      EXPECT_EQ(run, second_run) << file;
      ++second_files;
    }
  }
  EXPECT_GE(first_files, 2) << "the first image's periodic profiles must survive the second";
  EXPECT_GE(second_files, 3) << "periodic profiles and the exit profile of the second image";
  EXPECT_NE(first_run, second_run);
  EXPECT_EQ(first_run.size(), 16u);
}

TEST(PreloadProcessTest, ExitPaths) {
  struct Case {
    const char* mode;
    bool exit_profile;
  } cases[] = {{"exit", true}, {"return", true}, {"_exit", false}};
  for (const Case& c : cases) {
    std::string dir = MakeTempDir(c.mode);
    ProcessResult r = RunUnderPreload({TestProgram("exit_paths"), c.mode, "1500"}, dir,
                                  {{"HEAPWATCH_RATE", "1"}, {"HEAPWATCH_INTERVAL", "0.2"}});
    ASSERT_EQ(r.exit_code, 0) << c.mode << ": " << r.err;
    std::vector<std::string> files = ProfileFiles(dir);
    bool has_exit = false;
    for (const std::string& file : files) {
      perftools::profiles::Profile p = ReadProfile(file);  // every file complete
      EXPECT_EQ(TotalsAtLeaf(p, "KeepAtExit").inuse_space, 3 * 5555) << file;
      has_exit |= file.find(".exit.") != std::string::npos;
    }
    EXPECT_EQ(has_exit, c.exit_profile) << c.mode;
    EXPECT_GE(files.size(), c.exit_profile ? 2u : 1u) << c.mode << ": periodic profiles stay whatever the exit";
  }
}

std::string Plugin() { return std::string(HEAPWATCH_BINARY_DIR) + "/tests/programs/libheapwatch_test_plugin.so"; }

// The mapping file name of the leaf frame of the first sample at `function`.
std::string LeafMappingFile(const perftools::profiles::Profile& p, const std::string& function) {
  for (const auto& sample : p.sample()) {
    if (FrameNames(p, sample).empty() || FrameNames(p, sample)[0] != function) continue;
    for (const auto& location : p.location()) {
      if (location.id() != sample.location_id(0)) continue;
      if (location.mapping_id() == 0) return "";
      return p.string_table(p.mapping(location.mapping_id() - 1).filename());
    }
  }
  return "";
}

TEST(PreloadProcessTest, LeakInDlopenedLibraryIsNamed) {
  std::string dir = MakeTempDir("out");
  ProcessResult r = RunUnderPreload({TestProgram("dlopen_host"), Plugin(), "once"}, dir, {{"HEAPWATCH_RATE", "1"}});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::vector<std::string> files = ProfileFiles(dir);
  ASSERT_EQ(files.size(), 1u);
  perftools::profiles::Profile p = ReadProfile(files[0]);
  EXPECT_EQ(TotalsAtLeaf(p, "PluginKeep"), (HeapTotals{20, 20 * 333, 20, 20 * 333}));
  EXPECT_NE(LeafMappingFile(p, "PluginKeep").find("libheapwatch_test_plugin.so"), std::string::npos);
}

// RTLD_DEEPBIND puts the library's own dependencies (libc) before us in its
// symbol lookups: its malloc calls are redirected to our hooks after it loads.
TEST(PreloadProcessTest, DeepboundLibraryIsStillProfiled) {
  std::string dir = MakeTempDir("out");
  ProcessResult r = RunUnderPreload({TestProgram("dlopen_host"), Plugin(), "deepbind"}, dir, {{"HEAPWATCH_RATE", "1"}});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  perftools::profiles::Profile p = ReadProfile(ProfileFiles(dir).at(0));
  EXPECT_EQ(TotalsAtLeaf(p, "PluginKeep"), (HeapTotals{20, 20 * 333, 20, 20 * 333}));
}

TEST(PreloadProcessTest, DlopenKeepsTheCallersSearchPath) {
  // dlopen of a bare name searches the calling object's RUNPATH: our dlopen
  // must not become "the caller". dlopen_host gets a RUNPATH to the plugin's
  // directory from a copy built with -Wl,-rpath (see tests/programs).
  std::string dir = MakeTempDir("out");
  for (const char* mode : {"once", "deepbind"}) {
    ProcessResult r = RunUnderPreload({TestProgram("dlopen_host_runpath"), "libheapwatch_test_plugin.so", mode}, dir,
                                      {{"HEAPWATCH_RATE", "1"}});
    EXPECT_EQ(r.exit_code, 0) << mode << ": " << r.err;
  }
}

TEST(PreloadProcessTest, DlcloseAndReopenKeepsNames) {
  std::string dir = MakeTempDir("out");
  ProcessResult r = RunUnderPreload({TestProgram("dlopen_host"), Plugin(), "reopen"}, dir, {{"HEAPWATCH_RATE", "1"}});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  perftools::profiles::Profile p = ReadProfile(ProfileFiles(dir).at(0));
  // Frames from both loads are named, whether or not the library came back
  // at the same address.
  EXPECT_EQ(TotalsAtLeaf(p, "PluginKeep"), (HeapTotals{40, 40 * 333, 40, 40 * 333}));
}

// Names are found late (when a profile is written) but never after the
// library is gone: our dlclose hook names its frames first.
TEST(PreloadProcessTest, FramesOfAnUnloadedAndDeletedLibraryAreNamed) {
  std::string dir = MakeTempDir("out");
  std::string copy = MakeTempDir("plugin") + "/libcopied_plugin.so";
  ASSERT_EQ(test_support::RunShell("cp '" + Plugin() + "' '" + copy + "'").exit_status, 0);
  ProcessResult r = RunUnderPreload({TestProgram("dlopen_host"), copy, "delete"}, dir, {{"HEAPWATCH_RATE", "1"}});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ASSERT_NE(access(copy.c_str(), F_OK), 0) << "the program deletes the library";
  perftools::profiles::Profile p = ReadProfile(ProfileFiles(dir).at(0));
  EXPECT_EQ(TotalsAtLeaf(p, "PluginKeep"), (HeapTotals{20, 20 * 333, 20, 20 * 333}));
  EXPECT_NE(LeafMappingFile(p, "PluginKeep").find("libcopied_plugin.so"), std::string::npos);
}

}  // namespace
}  // namespace heapwatch::testing
