// Leak suppressions in LeakSanitizer's file format, for `heapwatch check`.
//
// One suppression per line, `leak:<pattern>`; blank lines and lines whose
// first non-blank character is '#' are ignored. A pattern matches a stack
// when it matches the name of any of its frames (as heapwatch shows them:
// "Cache::Insert", no parameters) the way LeakSanitizer matches: '*' stands
// for any run of characters, '^' at the start and '$' at the end anchor the
// pattern, and otherwise it may match anywhere in the name ("Cache" matches
// "LruCache::Insert"). LeakSanitizer also matches module and file names;
// heapwatch matches function names only.
//
// A suppressed stack is left out of every roll-up and verdict; check lists
// it as suppressed when it leaked.

#ifndef HEAPWATCH_ANALYZER_SUPPRESSIONS_H_
#define HEAPWATCH_ANALYZER_SUPPRESSIONS_H_

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace heapwatch {

class Suppressions {
 public:
  // Parses the text of a suppressions file; the error names the line
  // ("line 3: unknown suppression type 'race' (only leak: is supported)").
  static absl::StatusOr<Suppressions> Parse(std::string_view text);
  // Reads and parses the file at `path`; errors start with the path.
  static absl::StatusOr<Suppressions> ReadFile(const std::string& path);

  void Add(std::string pattern) { patterns_.push_back(std::move(pattern)); }
  bool empty() const { return patterns_.empty(); }
  const std::vector<std::string>& patterns() const { return patterns_; }

  // The first pattern that matches a frame of `stack`, if any.
  std::optional<std::string> Match(const std::vector<std::string>& stack) const;

 private:
  std::vector<std::string> patterns_;
};

// LeakSanitizer's pattern match of one name (see above).
bool MatchesSuppression(std::string_view pattern, std::string_view name);

}  // namespace heapwatch

#endif  // HEAPWATCH_ANALYZER_SUPPRESSIONS_H_
