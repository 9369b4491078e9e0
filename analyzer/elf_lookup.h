// Finding the ELF files behind a profile's mappings on this machine: a
// mapping's binary by path and GNU build ID, and the binary's separate debug
// info by build ID and .gnu_debuglink. Used by Symbolize (symbolize.h, where
// the search order is documented); reads only local files, never the network.
//
// Not for reading DWARF: that is libdwfl's job, in symbolize.cc.

#ifndef HEAPWATCH_ANALYZER_ELF_LOOKUP_H_
#define HEAPWATCH_ANALYZER_ELF_LOOKUP_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"

namespace heapwatch {

// What the lookup needs to know about an ELF file.
struct ElfFacts {
  struct LoadSegment {
    uint64_t file_offset = 0;
    uint64_t file_size = 0;
    uint64_t virtual_address = 0;
  };
  std::string build_id;            // GNU build ID, lower-case hex; "" if the file has none
  std::vector<LoadSegment> loads;  // the PT_LOAD program headers

  // The ELF virtual address of the byte at `file_offset`, through the PT_LOAD
  // segment holding it; nullopt when no segment does.
  std::optional<uint64_t> VirtualAddress(uint64_t file_offset) const;
};

// Reads `path`'s build ID and load segments; nullopt if it cannot be opened
// or is not an ELF file.
std::optional<ElfFacts> ReadElfFacts(const std::string& path);

// A GNU build ID as the profile spells it, lower-cased; "" when it is not
// hexadecimal (Go's build IDs, say), which cannot be looked up or verified.
std::string NormalizeBuildId(std::string_view build_id);

class ElfLocator {
 public:
  ElfLocator(std::vector<std::string> binary_path, std::vector<std::string> debug_roots);

  struct Found {
    std::string path;  // "" when nothing acceptable was found
    ElfFacts facts;
    // Files that exist but were refused, with the reason
    // ("/x/server: build ID 12ab..., want 34cd...").
    std::vector<std::string> refused;
  };

  // The binary of a mapping whose file is `filename` and whose build ID is
  // `build_id` (normalized, possibly ""). With a build ID, only a file with
  // that build ID is accepted.
  Found FindBinary(const std::string& filename, const std::string& build_id);

  // A separate debug-info file for the binary at `binary_path`: by build ID
  // first, then by the binary's .gnu_debuglink name (`debuglink`, may be
  // null) whose CRC-32 is `debuglink_crc`. Returns "" when there is none.
  std::string FindDebugFile(const std::string& binary_path, const std::string& build_id,
                            const char* debuglink, uint32_t debuglink_crc);

 private:
  // Build ID -> path of the ELF files directly in `dir` (read once).
  const absl::flat_hash_map<std::string, std::string>& DirectoryBuildIds(const std::string& dir);

  std::vector<std::string> binary_path_;
  std::vector<std::string> debug_roots_;
  absl::flat_hash_map<std::string, absl::flat_hash_map<std::string, std::string>> directory_build_ids_;
};

}  // namespace heapwatch

#endif  // HEAPWATCH_ANALYZER_ELF_LOOKUP_H_
