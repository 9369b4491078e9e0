// Running programs under libheapwatch.so and reading what it wrote, for the
// end-to-end tests.
//
// Profiles are parsed with the classes protoc generates from
// proto/profile.proto, not with our own code: every end-to-end test is also
// a check of the preload's hand-written encoder against the real parser.

#ifndef HEAPWATCH_TESTS_E2E_PRELOAD_HARNESS_H_
#define HEAPWATCH_TESTS_E2E_PRELOAD_HARNESS_H_

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "profile.pb.h"
#include "tests/unit/subprocess.h"

namespace heapwatch::testing {

// build/lib/libheapwatch.so and friends.
std::string PreloadLibrary();
std::string TestProgram(const std::string& name);  // build/tests/programs/<name>
std::string HeapwatchCommand();                     // build/bin/heapwatch

// A fresh empty directory under the build tree, named after the running
// test and `tag`, unique per call.
std::string MakeTempDir(const std::string& tag);

// RunProcess (tests/unit/subprocess.h) with `env` as a map, a timeout and a
// working directory.
ProcessResult RunProgram(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env,
                         int timeout_seconds = 60, const std::string& cwd = "");

// Runs `argv` under the preload writing to `out_dir`, with
// HEAPWATCH_INTERVAL=0 unless `env` says otherwise; `env` adds
// HEAPWATCH_RATE etc.
ProcessResult RunUnderPreload(const std::vector<std::string>& argv, const std::string& out_dir,
                              std::map<std::string, std::string> env, int timeout_seconds = 60);

// Reads a gzip (or plain) profile; fails the test (and returns an empty
// profile) if it does not parse.
perftools::profiles::Profile ReadProfile(const std::string& path);

// Files in `dir` named heap.<pid>.*.pb.gz, sorted; any pid when pid < 0.
std::vector<std::string> ProfileFiles(const std::string& dir, pid_t pid = -1);
std::string ExitProfilePath(const std::string& dir, pid_t pid);

struct HeapTotals {
  int64_t alloc_objects = 0, alloc_space = 0, inuse_objects = 0, inuse_space = 0;
  bool operator==(const HeapTotals&) const = default;
};

// Sums over the samples whose leaf frame (the caller of the allocation
// function) is in function `name`.
HeapTotals TotalsAtLeaf(const perftools::profiles::Profile& profile, const std::string& name);

// The function name of each frame of `sample`, leaf first ("" if unnamed).
std::vector<std::string> FrameNames(const perftools::profiles::Profile& profile,
                                    const perftools::profiles::Sample& sample);

// The comment "key=value" value for `key`, or "".
std::string CommentValue(const perftools::profiles::Profile& profile, const std::string& key);

// The pids in "child <pid>" lines of a test program's output.
std::vector<pid_t> ChildPids(const std::string& output);

}  // namespace heapwatch::testing

#endif  // HEAPWATCH_TESTS_E2E_PRELOAD_HARNESS_H_
