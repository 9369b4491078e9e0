// The analyzer's in-memory pprof profile.
//
// This is the resolved form every analysis works on: strings are strings and
// references are indices into the owning Profile's vectors. String-table
// indices and wire ids exist only at the codec boundary (profile_codec.h), as
// in google/pprof's profile package. Ids are kept so a profile read and
// written again keeps its ids, but nothing in the analyzer matches by id:
// merges and diffs key samples by content (frame names, object + offset).
//
// Invariants (checked by CheckValid): every index is in range; mapping,
// location and function ids are non-zero and unique; every sample has one
// value per sample type.

#ifndef HEAPWATCH_ANALYZER_PROFILE_H_
#define HEAPWATCH_ANALYZER_PROFILE_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"

namespace heapwatch {

struct ValueType {
  std::string type;  // e.g. "inuse_space"
  std::string unit;  // e.g. "bytes"
  bool operator==(const ValueType&) const = default;
};

struct Mapping {
  uint64_t id = 0;
  uint64_t memory_start = 0;
  uint64_t memory_limit = 0;
  uint64_t file_offset = 0;
  std::string filename;
  std::string build_id;
  bool has_functions = false;
  bool has_filenames = false;
  bool has_line_numbers = false;
  bool has_inline_frames = false;
};

struct Function {
  uint64_t id = 0;
  std::string name;         // demangled
  std::string system_name;  // as in the symbol table
  std::string filename;
  int64_t start_line = 0;
};

struct Line {
  size_t function = 0;  // index into Profile::functions
  int64_t line = 0;
  int64_t column = 0;
};

struct Location {
  uint64_t id = 0;
  std::optional<size_t> mapping;  // index into Profile::mappings
  uint64_t address = 0;
  // Innermost (inlined) first; the last entry is the outermost caller.
  std::vector<Line> lines;
  bool is_folded = false;
};

struct Label {
  std::string key;
  // A label carries either a string or a number (with an optional unit).
  std::optional<std::string> str;
  std::optional<int64_t> num;
  std::string num_unit;
  bool operator==(const Label&) const = default;
};

struct Sample {
  std::vector<size_t> locations;  // indices into Profile::locations, leaf first
  std::vector<int64_t> values;    // one per Profile::sample_types
  std::vector<Label> labels;
};

struct Profile {
  std::vector<ValueType> sample_types;
  std::vector<Sample> samples;
  std::vector<Mapping> mappings;
  std::vector<Location> locations;
  std::vector<Function> functions;

  std::string drop_frames;
  std::string keep_frames;
  int64_t time_nanos = 0;
  int64_t duration_nanos = 0;
  ValueType period_type;
  int64_t period = 0;
  std::vector<std::string> comments;
  std::string default_sample_type;
  std::string doc_url;

  // Index of the sample type named `type`, if present.
  std::optional<size_t> SampleTypeIndex(std::string_view type) const;

  // The value of a "key=value" word in the comments (words are separated by
  // spaces, tabs or commas), if any: heapwatch writes pid=, run=, rate=,
  // rss_bytes= and more there.
  std::optional<std::string_view> CommentValue(std::string_view key) const;

  // Checks the invariants above; the error says which one failed and where.
  absl::Status CheckValid() const;
};

}  // namespace heapwatch

#endif  // HEAPWATCH_ANALYZER_PROFILE_H_
