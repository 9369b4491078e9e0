// Running programs from tests: the heapwatch CLI, `go run`, `go tool pprof`.
//
// Captures stdout and stderr in memory files (no pipes to deadlock on, no
// temporary files to clean up) and reports how the child ended. The child
// runs in a process group of its own; with a timeout, the whole group is
// killed when it expires (a hang is what some tests look for).

#ifndef HEAPWATCH_TESTS_UNIT_SUBPROCESS_H_
#define HEAPWATCH_TESTS_UNIT_SUBPROCESS_H_

#include <string>
#include <vector>

namespace heapwatch::testing {

struct ProcessResult {
  int exit_code = -1;  // -1 unless the child exited
  int signal = 0;      // the signal that ended the child, else 0
  bool timed_out = false;
  std::string out;
  std::string err;
  bool Exited(int code) const { return signal == 0 && exit_code == code; }
};

struct RunOptions {
  int timeout_seconds = 0;  // 0: wait as long as it takes
  std::string cwd;          // empty: the test's own
};

// Runs argv[0] (looked up in PATH when it has no slash) with the current
// environment plus `env` ("NAME=value", overriding); stdin is /dev/null.
ProcessResult RunProcess(const std::vector<std::string>& argv, const std::vector<std::string>& env = {},
                         const RunOptions& options = {});

// `go` with an environment that keeps it inside the build tree and offline:
// GOCACHE, GOPATH (and HOME when unset) under HEAPWATCH_BINARY_DIR/go,
// GOPROXY=off, GOTOOLCHAIN=local, GOFLAGS empty.
ProcessResult RunGo(const std::vector<std::string>& args);

// A fresh, empty directory under HEAPWATCH_BINARY_DIR/test-tmp named after
// `name` and the process id (so parallel tests never share one).
std::string FreshTestDir(const std::string& name);

}  // namespace heapwatch::testing

#endif  // HEAPWATCH_TESTS_UNIT_SUBPROCESS_H_
