// Small helpers the verbs share for their command lines: strict number
// parsing and the "heapwatch <verb>: <message>" error convention.

#ifndef HEAPWATCH_ANALYZER_CLI_ARGS_H_
#define HEAPWATCH_ANALYZER_CLI_ARGS_H_

#include <cstddef>
#include <optional>
#include <string_view>

#include "absl/status/status.h"

namespace heapwatch {

// A non-negative decimal count ("0", "25"); nullopt for anything else,
// including signs, spaces and values above 10^9.
std::optional<size_t> ParseCount(std::string_view text);

// Prints "heapwatch <verb>: <message>" on stderr and returns 2 (usage or
// input error), for `return Fail("top", ...)`.
int Fail(std::string_view verb, std::string_view message);
// The same with a status's message (absl's own string_view does not convert).
int Fail(std::string_view verb, const absl::Status& status);

}  // namespace heapwatch

#endif  // HEAPWATCH_ANALYZER_CLI_ARGS_H_
