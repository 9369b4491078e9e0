// Reading and writing pprof profiles: gzip or plain protobuf in, gzip out.
//
// The only place where string-table indices and wire ids exist; everything
// above works on the resolved Profile of profile.h. Input is untrusted: sizes
// are bounded (a gzip bomb stops at kMaxDecompressedBytes), every index is
// range-checked, and every error names what was wrong, prefixed by the file
// name when there is one ("heap.1.0001.pb.gz: decompressing: ...").

#ifndef HEAPWATCH_ANALYZER_PROFILE_CODEC_H_
#define HEAPWATCH_ANALYZER_PROFILE_CODEC_H_

#include <cstddef>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "analyzer/profile.h"

namespace heapwatch {

// Profiles larger than this once decompressed are refused.
inline constexpr size_t kMaxDecompressedBytes = size_t{1} << 30;

// Parses a profile from `data`, gzip-compressed or not.
absl::StatusOr<Profile> ParseProfile(std::string_view data);

// Reads and parses the file at `path`; errors start with the path.
absl::StatusOr<Profile> ReadProfileFile(const std::string& path);

// Encodes `profile` as uncompressed protobuf bytes. Ids are written as they
// are in the profile, except that zero ids are assigned densely first.
std::string SerializeProfile(const Profile& profile);

// Writes `profile` gzip-compressed to `path` (through a temporary file and a
// rename, so a reader never sees half a file). A file replaced keeps its
// permissions; a new one gets 0666 less the umask.
absl::Status WriteProfileFile(const Profile& profile, const std::string& path);

}  // namespace heapwatch

#endif  // HEAPWATCH_ANALYZER_PROFILE_CODEC_H_
