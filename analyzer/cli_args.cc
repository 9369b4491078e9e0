#include "analyzer/cli_args.h"

#include <cstdio>
#include <string>

#include "absl/strings/str_cat.h"

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

std::optional<int> ParseCountOption(std::string_view verb, std::string_view option, const char* argument,
                                    size_t* count) {
  std::optional<size_t> n = ParseCount(argument);
  if (!n) return Fail(verb, absl::StrCat(std::string(option), " wants a number, got '", argument, "'"));
  *count = *n;
  return std::nullopt;
}

std::optional<int> ParseVerbOptions(std::string_view verb, int argc, char** argv, const char* short_options,
                                    const option* long_options, const char* usage,
                                    absl::FunctionRef<std::optional<int>(int option, const char* argument)> handle) {
  optind = 0;  // getopt_long state is global: start over for this verb
  opterr = 0;
  for (int c; (c = getopt_long(argc, argv, short_options, long_options, nullptr)) != -1;) {
    if (c == 'h') {
      std::fputs(usage, stdout);
      return 0;
    }
    if (c == '?' || c == ':') {
      std::fputs(usage, stderr);
      return Fail(verb, absl::StrCat("unknown or incomplete option '", argv[optind - 1], "'"));
    }
    if (std::optional<int> status = handle(c, optarg)) return status;
  }
  return std::nullopt;
}

}  // namespace heapwatch
