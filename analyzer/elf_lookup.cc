#include "analyzer/elf_lookup.h"

#include <elfutils/libdwelf.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <filesystem>
#include <utility>

#include "absl/strings/str_format.h"

namespace heapwatch {
namespace {

// A directory scanned for build IDs (a --binary-path entry) is read up to
// this many entries, so pointing it at a huge tree stays bounded.
constexpr size_t kMaxScannedDirectoryEntries = 4096;

std::string HexString(const unsigned char* bytes, size_t size) {
  std::string hex;
  hex.reserve(2 * size);
  for (size_t i = 0; i < size; ++i) hex += absl::StrFormat("%02x", bytes[i]);
  return hex;
}

std::string BaseName(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

std::string DirName(const std::string& path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

// `dir` and `rest` joined by exactly one slash; `rest` may be absolute
// ("/bin" + "/usr/bin/ls" -> "/bin/usr/bin/ls", as pprof and gdb mirror paths).
std::string JoinPath(const std::string& dir, std::string_view rest) {
  while (rest.starts_with('/')) rest.remove_prefix(1);
  if (dir.empty()) return std::string(rest);
  return dir.ends_with('/') ? dir + std::string(rest) : dir + "/" + std::string(rest);
}

bool IsRegularFile(const std::string& path) {
  std::error_code error;
  return std::filesystem::is_regular_file(path, error);
}

bool SameFile(const std::string& a, const std::string& b) {
  std::error_code error;
  return std::filesystem::equivalent(a, b, error);
}

// The debug-info file of a build ID under `root`: root/.build-id/xx/yyyy.debug.
std::string BuildIdPath(const std::string& root, const std::string& build_id, std::string_view suffix) {
  return JoinPath(root,
                  ".build-id/" + build_id.substr(0, 2) + "/" + build_id.substr(2) + std::string(suffix));
}

// CRC-32 of a whole file, as .gnu_debuglink records it (the same polynomial
// and conditioning as zlib's crc32, so zlib computes it).
std::optional<uint32_t> FileCrc32(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  uLong crc = crc32(0L, Z_NULL, 0);
  std::array<unsigned char, 1 << 16> buffer;
  ssize_t n;
  while ((n = read(fd, buffer.data(), buffer.size())) > 0)
    crc = crc32(crc, buffer.data(), static_cast<uInt>(n));
  close(fd);
  if (n < 0) return std::nullopt;
  return static_cast<uint32_t>(crc);
}

}  // namespace

std::optional<uint64_t> ElfFacts::VirtualAddress(uint64_t file_offset) const {
  for (const LoadSegment& load : loads) {
    if (file_offset >= load.file_offset && file_offset - load.file_offset < load.file_size) {
      return file_offset - load.file_offset + load.virtual_address;
    }
  }
  return std::nullopt;
}

std::optional<ElfFacts> ReadElfFacts(const std::string& path) {
  static const bool elf_ready = elf_version(EV_CURRENT) != EV_NONE;
  if (!elf_ready) return std::nullopt;
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  std::optional<ElfFacts> facts;
  Elf* elf = elf_begin(fd, ELF_C_READ_MMAP, nullptr);
  if (elf && elf_kind(elf) == ELF_K_ELF) {
    facts.emplace();
    const void* bits = nullptr;
    ssize_t size = dwelf_elf_gnu_build_id(elf, &bits);
    if (size > 0)
      facts->build_id = HexString(static_cast<const unsigned char*>(bits), static_cast<size_t>(size));
    size_t count = 0;
    if (elf_getphdrnum(elf, &count) == 0) {
      for (size_t i = 0; i < count; ++i) {
        GElf_Phdr phdr;
        if (gelf_getphdr(elf, static_cast<int>(i), &phdr) && phdr.p_type == PT_LOAD) {
          facts->loads.push_back(
              {.file_offset = phdr.p_offset, .file_size = phdr.p_filesz, .virtual_address = phdr.p_vaddr});
        }
      }
    }
  }
  if (elf) elf_end(elf);
  close(fd);
  return facts;
}

std::string NormalizeBuildId(std::string_view build_id) {
  std::string id;
  for (char c : build_id) {
    if (!std::isxdigit(static_cast<unsigned char>(c))) return "";
    id.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  }
  // Shorter than "xx" + something cannot name a .build-id/xx/yyyy file.
  return id.size() > 2 ? id : "";
}

ElfLocator::ElfLocator(std::vector<std::string> binary_path, std::vector<std::string> debug_roots)
    : binary_path_(std::move(binary_path)), debug_roots_(std::move(debug_roots)) {}

const absl::flat_hash_map<std::string, std::string>& ElfLocator::DirectoryBuildIds(const std::string& dir) {
  auto [it, inserted] = directory_build_ids_.try_emplace(dir);
  if (!inserted) return it->second;
  std::error_code error;
  std::filesystem::directory_iterator entries(dir, error);
  size_t seen = 0;
  for (; !error && entries != std::filesystem::directory_iterator() && seen < kMaxScannedDirectoryEntries;
       entries.increment(error), ++seen) {
    std::string path = entries->path().string();
    if (!IsRegularFile(path)) continue;
    std::optional<ElfFacts> facts = ReadElfFacts(path);
    if (facts && !facts->build_id.empty()) it->second.try_emplace(facts->build_id, path);
  }
  return it->second;
}

ElfLocator::Found ElfLocator::FindBinary(const std::string& filename, const std::string& build_id) {
  Found found;
  std::vector<std::string> tried;
  // True when `path` is acceptable; records refusals in `found`.
  auto accept = [&](const std::string& path) {
    if (std::find(tried.begin(), tried.end(), path) != tried.end() || !IsRegularFile(path)) return false;
    tried.push_back(path);
    std::optional<ElfFacts> facts = ReadElfFacts(path);
    if (!facts) {
      found.refused.push_back(absl::StrFormat("%s: not an ELF file", path));
      return false;
    }
    if (!build_id.empty() && facts->build_id != build_id) {
      found.refused.push_back(absl::StrFormat("%s: build ID %s, want %s", path,
                                              facts->build_id.empty() ? "none" : facts->build_id, build_id));
      return false;
    }
    found.path = path;
    found.facts = std::move(*facts);
    return true;
  };

  // By name first: pprof's layouts under each --binary-path directory, then
  // the mapping's own path.
  std::vector<std::string> named;
  std::string base = BaseName(filename);
  for (const std::string& dir : binary_path_) {
    if (!build_id.empty()) {
      if (!filename.empty()) named.push_back(JoinPath(dir, build_id + "/" + base));
      std::error_code error;
      std::filesystem::directory_iterator entries(JoinPath(dir, build_id), error);
      for (; !error && entries != std::filesystem::directory_iterator(); entries.increment(error)) {
        named.push_back(entries->path().string());
      }
      if (!filename.empty()) named.push_back(JoinPath(dir, filename + "/" + build_id));  // perf's layout
    }
    if (!filename.empty()) {
      named.push_back(JoinPath(dir, base));
      named.push_back(JoinPath(dir, filename));
    }
  }
  if (!filename.empty()) named.push_back(filename);
  for (const std::string& path : named) {
    if (accept(path)) return found;
  }
  if (build_id.empty()) return found;

  // Then by build ID alone: any file directly in a --binary-path directory,
  // then the debug roots' .build-id trees.
  for (const std::string& dir : binary_path_) {
    const auto& by_build_id = DirectoryBuildIds(dir);
    if (auto it = by_build_id.find(build_id); it != by_build_id.end() && accept(it->second)) return found;
  }
  for (const std::string& root : debug_roots_) {
    if (accept(BuildIdPath(root, build_id, "")) || accept(BuildIdPath(root, build_id, ".debug")))
      return found;
  }
  return found;
}

std::string ElfLocator::FindDebugFile(const std::string& binary_path, const std::string& build_id,
                                      const char* debuglink, uint32_t debuglink_crc) {
  auto acceptable = [&](const std::string& path, bool by_build_id) {
    if (!IsRegularFile(path) || SameFile(path, binary_path)) return false;
    std::optional<ElfFacts> facts = ReadElfFacts(path);
    if (!facts) return false;
    if (!build_id.empty()) return facts->build_id == build_id;
    // Without a build ID, a debuglink match is checked by its CRC.
    if (by_build_id) return false;
    std::optional<uint32_t> crc = FileCrc32(path);
    return crc && *crc == debuglink_crc;
  };
  if (!build_id.empty()) {
    std::vector<std::string> roots = debug_roots_;
    roots.insert(roots.end(), binary_path_.begin(), binary_path_.end());
    for (const std::string& root : roots) {
      std::string path = BuildIdPath(root, build_id, ".debug");
      if (acceptable(path, true)) return path;
    }
  }
  if (debuglink && *debuglink && std::string_view(debuglink).find('/') == std::string_view::npos) {
    // gdb's places: next to the binary, in its .debug/ subdirectory, and
    // under each debug root followed by the binary's directory.
    std::string dir = DirName(binary_path);
    std::vector<std::string> paths = {JoinPath(dir, debuglink),
                                      JoinPath(dir, std::string(".debug/") + debuglink)};
    for (const std::string& root : debug_roots_) paths.push_back(JoinPath(JoinPath(root, dir), debuglink));
    for (const std::string& path : paths) {
      if (acceptable(path, false)) return path;
    }
  }
  return "";
}

}  // namespace heapwatch
