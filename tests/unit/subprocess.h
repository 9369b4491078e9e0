// Running programs from tests: the heapwatch CLI, `go run`, `go tool pprof`.
//
// Captures stdout and stderr in memory files (no pipes to deadlock on, no
// temporary files to clean up) and reports how the child ended. Test-only:
// waits without a timeout; ctest's timeout ends a hung test.

#ifndef HEAPWATCH_TESTS_UNIT_SUBPROCESS_H_
#define HEAPWATCH_TESTS_UNIT_SUBPROCESS_H_

#include <string>
#include <vector>

namespace heapwatch::testing {

struct ProcessResult {
  int exit_code = -1;  // -1 unless the child exited
  int signal = 0;      // the signal that ended the child, else 0
  std::string out;
  std::string err;
  bool Exited(int code) const { return signal == 0 && exit_code == code; }
};

// Runs argv[0] (looked up in PATH when it has no slash) with the current
// environment plus `env` ("NAME=value", overriding).
ProcessResult RunProcess(const std::vector<std::string>& argv, const std::vector<std::string>& env = {});

// `go` with an environment that keeps it inside the build tree and offline:
// GOCACHE, GOPATH (and HOME when unset) under HEAPWATCH_BINARY_DIR/go,
// GOPROXY=off, GOTOOLCHAIN=local, GOFLAGS empty.
ProcessResult RunGo(const std::vector<std::string>& args);

// A fresh, empty directory under HEAPWATCH_BINARY_DIR/test-tmp named after
// `name` and the process id (so parallel tests never share one).
std::string FreshTestDir(const std::string& name);

}  // namespace heapwatch::testing

#endif  // HEAPWATCH_TESTS_UNIT_SUBPROCESS_H_
