// Reading small text files the user names on the command line (suppression
// lists, baselines), with errors that start with the file's path.

#ifndef HEAPWATCH_ANALYZER_TEXT_FILE_H_
#define HEAPWATCH_ANALYZER_TEXT_FILE_H_

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"

namespace heapwatch {

// The whole file; "PATH: is a directory" or "PATH: <reason>" when it cannot
// be read.
absl::StatusOr<std::string> ReadTextFile(const std::string& path);

// Reads `path` and returns parse(text), an absl::StatusOr<T>, with the path
// in front of a parse error's message.
template <typename Parse>
auto ParseTextFile(const std::string& path, Parse parse) -> decltype(parse(std::string_view())) {
  absl::StatusOr<std::string> text = ReadTextFile(path);
  if (!text.ok()) return text.status();
  auto parsed = parse(std::string_view(*text));
  if (!parsed.ok()) return absl::InvalidArgumentError(absl::StrCat(path, ": ", parsed.status().message()));
  return parsed;
}

}  // namespace heapwatch

#endif  // HEAPWATCH_ANALYZER_TEXT_FILE_H_
