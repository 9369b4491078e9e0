// Small helpers the verbs share for their command lines: strict number
// parsing and the "heapwatch <verb>: <message>" error convention.

#ifndef HEAPWATCH_ANALYZER_CLI_ARGS_H_
#define HEAPWATCH_ANALYZER_CLI_ARGS_H_

#include <getopt.h>

#include <cstddef>
#include <optional>
#include <string_view>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"

namespace heapwatch {

// A non-negative decimal count ("0", "25"); nullopt for anything else,
// including signs, spaces and values above 10^9.
std::optional<size_t> ParseCount(std::string_view text);

// An option's count argument (ParseCount) into *count: nullopt when it is
// one, else the exit status after saying "<option> wants a number, got ...".
std::optional<int> ParseCountOption(std::string_view verb, std::string_view option, const char* argument,
                                    size_t* count);

// Prints "heapwatch <verb>: <message>" on stderr and returns 2 (usage or
// input error), for `return Fail("top", ...)`.
int Fail(std::string_view verb, std::string_view message);
// The same with a status's message (absl's own string_view does not convert).
int Fail(std::string_view verb, const absl::Status& status);

// Walks a verb's options with getopt_long, from the first (its state is
// global), handing each of the verb's own to `handle`, which returns nullopt
// to go on or the exit status to stop with. -h/--help prints `usage` on
// stdout and stops with 0; an unknown or incomplete option prints it on
// stderr and stops with 2. nullopt once every option is taken: the operands
// start at optind. `long_options` ends with a zero entry and has "help".
std::optional<int> ParseVerbOptions(std::string_view verb, int argc, char** argv, const char* short_options,
                                    const option* long_options, const char* usage,
                                    absl::FunctionRef<std::optional<int>(int option, const char* argument)> handle);

}  // namespace heapwatch

#endif  // HEAPWATCH_ANALYZER_CLI_ARGS_H_
