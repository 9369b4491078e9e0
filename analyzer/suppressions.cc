// Implementation of suppressions.h.

#include "analyzer/suppressions.h"


#include "absl/strings/str_format.h"
#include "analyzer/text_file.h"

namespace heapwatch {
namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

// Glob match of all of `name` against all of `pattern` ('*' only), by the
// usual backtracking over the last star: linear in practice, no recursion.
bool GlobMatch(std::string_view pattern, std::string_view name) {
  size_t p = 0, n = 0, star = std::string_view::npos, resume = 0;
  while (n < name.size()) {
    if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      resume = n;
    } else if (p < pattern.size() && pattern[p] == name[n]) {
      ++p, ++n;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      n = ++resume;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

}  // namespace

bool MatchesSuppression(std::string_view pattern, std::string_view name) {
  bool anchored_start = pattern.starts_with('^'), anchored_end = pattern.ends_with('$');
  if (anchored_start) pattern.remove_prefix(1);
  if (anchored_end && !pattern.empty()) pattern.remove_suffix(1);
  std::string glob;
  if (!anchored_start) glob += '*';
  glob += pattern;
  if (!anchored_end) glob += '*';
  return GlobMatch(glob, name);
}

absl::StatusOr<Suppressions> Suppressions::Parse(std::string_view text) {
  Suppressions result;
  size_t line_number = 0;
  while (!text.empty()) {
    size_t end = text.find('\n');
    std::string_view line = Trim(text.substr(0, end));
    text = end == std::string_view::npos ? std::string_view() : text.substr(end + 1);
    ++line_number;
    if (line.empty() || line.front() == '#') continue;
    size_t colon = line.find(':');
    if (colon == std::string_view::npos) {
      return absl::InvalidArgumentError(
          absl::StrFormat("line %d: expected leak:<pattern>, got '%s'", line_number, std::string(line)));
    }
    std::string_view type = Trim(line.substr(0, colon)), pattern = Trim(line.substr(colon + 1));
    if (type != "leak") {
      return absl::InvalidArgumentError(absl::StrFormat(
          "line %d: unknown suppression type '%s' (only leak: is supported)", line_number, std::string(type)));
    }
    if (pattern.empty()) {
      return absl::InvalidArgumentError(absl::StrFormat("line %d: empty pattern", line_number));
    }
    result.Add(std::string(pattern));
  }
  return result;
}

absl::StatusOr<Suppressions> Suppressions::ReadFile(const std::string& path) {
  return ParseTextFile(path, [](std::string_view text) { return Parse(text); });
}

std::optional<std::string> Suppressions::Match(const std::vector<std::string>& stack) const {
  for (const std::string& pattern : patterns_) {
    for (const std::string& frame : stack) {
      if (MatchesSuppression(pattern, frame)) return pattern;
    }
  }
  return std::nullopt;
}

}  // namespace heapwatch
