#include "analyzer/profile.h"

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_format.h"

namespace heapwatch {

std::optional<size_t> Profile::SampleTypeIndex(std::string_view type) const {
  for (size_t i = 0; i < sample_types.size(); ++i) {
    if (sample_types[i].type == type) return i;
  }
  return std::nullopt;
}

std::optional<std::string_view> Profile::CommentValue(std::string_view key) const {
  auto separator = [](char c) { return c == ' ' || c == '\t' || c == ','; };
  for (const std::string& comment : comments) {
    std::string_view text = comment;
    for (size_t at = text.find(key); at != std::string_view::npos; at = text.find(key, at + 1)) {
      size_t value = at + key.size();
      if ((at != 0 && !separator(text[at - 1])) || value >= text.size() || text[value] != '=') continue;
      size_t end = value + 1;
      while (end < text.size() && !separator(text[end])) ++end;
      return text.substr(value + 1, end - value - 1);
    }
  }
  return std::nullopt;
}

namespace {

// Ids must be non-zero and unique within their kind.
template <typename T>
absl::Status CheckIds(const std::vector<T>& items, const char* kind) {
  absl::flat_hash_set<uint64_t> seen;
  for (size_t i = 0; i < items.size(); ++i) {
    if (items[i].id == 0) return absl::InvalidArgumentError(absl::StrFormat("%s #%d has id 0", kind, i));
    if (!seen.insert(items[i].id).second) {
      return absl::InvalidArgumentError(absl::StrFormat("%s id %d is used twice", kind, items[i].id));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status Profile::CheckValid() const {
  if (absl::Status s = CheckIds(mappings, "mapping"); !s.ok()) return s;
  if (absl::Status s = CheckIds(locations, "location"); !s.ok()) return s;
  if (absl::Status s = CheckIds(functions, "function"); !s.ok()) return s;
  for (const Location& loc : locations) {
    if (loc.mapping && *loc.mapping >= mappings.size()) {
      return absl::InvalidArgumentError(absl::StrFormat("location %d refers to a missing mapping", loc.id));
    }
    for (const Line& line : loc.lines) {
      if (line.function >= functions.size()) {
        return absl::InvalidArgumentError(absl::StrFormat("location %d refers to a missing function", loc.id));
      }
    }
  }
  for (size_t i = 0; i < samples.size(); ++i) {
    const Sample& sample = samples[i];
    if (sample.values.size() != sample_types.size()) {
      return absl::InvalidArgumentError(absl::StrFormat("sample #%d has %d values for %d sample types", i,
                                                        sample.values.size(), sample_types.size()));
    }
    for (size_t loc : sample.locations) {
      if (loc >= locations.size()) {
        return absl::InvalidArgumentError(absl::StrFormat("sample #%d refers to a missing location", i));
      }
    }
  }
  return absl::OkStatus();
}

}  // namespace heapwatch
