// The leaks a previous `heapwatch check` (or trend) reported, read back from
// its JSON output, so that check can fail only on new ones.
//
// Processes are not matched (pids change from run to run); leaks are, by
// what stays: a leaking function by its name (the report's "site"), a single
// leaking stack by its frames ("stack", with "level": "stack"). A function
// leak is known when the baseline lists any leak at that function; a stack
// leak when the baseline lists the whole function, or that stack.

#ifndef HEAPWATCH_ANALYZER_LEAK_BASELINE_H_
#define HEAPWATCH_ANALYZER_LEAK_BASELINE_H_

#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "analyzer/trend.h"

namespace heapwatch {

class LeakBaseline {
 public:
  // Parses a check or trend JSON report; fails on anything else.
  static absl::StatusOr<LeakBaseline> Parse(std::string_view json_text);
  // Reads and parses the file at `path`; errors start with the path.
  static absl::StatusOr<LeakBaseline> ReadFile(const std::string& path);

  void AddFunction(const std::string& site);
  void AddStack(const std::string& site, const std::vector<std::string>& stack);
  bool Contains(const SiteTrend& leak) const;
  size_t size() const { return entries_; }

 private:
  absl::flat_hash_set<std::string> sites_;      // any leak at the function
  absl::flat_hash_set<std::string> functions_;  // the whole function leaked
  absl::flat_hash_set<std::vector<std::string>> stacks_;
  size_t entries_ = 0;
};

}  // namespace heapwatch

#endif  // HEAPWATCH_ANALYZER_LEAK_BASELINE_H_
