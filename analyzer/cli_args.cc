#include "analyzer/cli_args.h"

#include <cstdio>
#include <string>

namespace heapwatch {

std::optional<size_t> ParseCount(std::string_view text) {
  // 9 digits: below 10^9, far more entries than any report shows.
  if (text.empty() || text.size() > 9) return std::nullopt;
  size_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + static_cast<size_t>(c - '0');
  }
  return value;
}

int Fail(std::string_view verb, std::string_view message) {
  std::fprintf(stderr, "heapwatch %.*s: %.*s\n", static_cast<int>(verb.size()), verb.data(),
               static_cast<int>(message.size()), message.data());
  return 2;
}

int Fail(std::string_view verb, const absl::Status& status) {
  return Fail(verb, std::string(status.message().data(), status.message().size()));
}

}  // namespace heapwatch
