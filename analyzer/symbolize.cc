#include "analyzer/symbolize.h"

#include <memory>
#include <optional>
#include <tuple>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "analyzer/dwarf_frames.h"
#include "analyzer/elf_lookup.h"

namespace heapwatch {
namespace {

// Function entries keyed by content, as pprof's symbolizer keys them.
class FunctionTable {
 public:
  explicit FunctionTable(Profile& profile) : profile_(profile) {
    for (size_t i = 0; i < profile.functions.size(); ++i) {
      const Function& f = profile.functions[i];
      index_.try_emplace(Key{f.name, f.system_name, f.filename, f.start_line}, i);
    }
  }

  size_t Intern(const SourceFrame& frame) {
    auto [it, inserted] = index_.try_emplace(
        Key{frame.name, frame.system_name, frame.filename, frame.start_line}, profile_.functions.size());
    if (inserted) {
      profile_.functions.push_back({.name = frame.name,
                                    .system_name = frame.system_name,
                                    .filename = frame.filename,
                                    .start_line = frame.start_line});
    }
    return it->second;
  }

 private:
  using Key = std::tuple<std::string, std::string, std::string, int64_t>;
  Profile& profile_;
  absl::flat_hash_map<Key, size_t> index_;
};

bool SameLines(const std::vector<Line>& a, const std::vector<Line>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].function != b[i].function || a[i].line != b[i].line || a[i].column != b[i].column) return false;
  }
  return true;
}

// True when every frame of the location already has a file and a line.
bool HasSourceLines(const Profile& profile, const Location& location) {
  if (location.lines.empty()) return false;
  for (const Line& line : location.lines) {
    if (line.line <= 0 || profile.functions[line.function].filename.empty()) return false;
  }
  return true;
}

// Drops functions no location refers to and numbers the rest 1..n.
void CompactFunctions(Profile& profile) {
  std::vector<bool> used(profile.functions.size(), false);
  for (const Location& location : profile.locations) {
    for (const Line& line : location.lines) used[line.function] = true;
  }
  std::vector<size_t> new_index(profile.functions.size(), 0);
  std::vector<Function> kept;
  for (size_t i = 0; i < profile.functions.size(); ++i) {
    if (!used[i]) continue;
    new_index[i] = kept.size();
    kept.push_back(std::move(profile.functions[i]));
    kept.back().id = kept.size();
  }
  profile.functions = std::move(kept);
  for (Location& location : profile.locations) {
    for (Line& line : location.lines) line.function = new_index[line.function];
  }
}

std::string MappingName(const Mapping& mapping) {
  std::string name = mapping.filename.empty() ? absl::StrFormat("mapping %d", mapping.id) : mapping.filename;
  if (!mapping.build_id.empty()) name += absl::StrFormat(" (build ID %s)", mapping.build_id);
  return name;
}

}  // namespace

SymbolizeReport Symbolize(Profile& profile, const SymbolizeOptions& options) {
  SymbolizeReport report;
  if (absl::Status valid = profile.CheckValid(); !valid.ok()) {
    report.warnings.push_back(absl::StrFormat("not symbolized: invalid profile: %s", valid.message()));
    return report;
  }
  std::vector<std::vector<size_t>> locations_of(profile.mappings.size());
  for (size_t i = 0; i < profile.locations.size(); ++i) {
    if (profile.locations[i].mapping) locations_of[*profile.locations[i].mapping].push_back(i);
  }

  ElfLocator locator(options.binary_path, options.debug_roots);
  // Opened binaries by path (several mappings may share one file), or why
  // one could not be read.
  struct OpenedBinary {
    std::unique_ptr<DwarfFrames> frames;
    std::string error;
  };
  absl::flat_hash_map<std::string, OpenedBinary> opened;
  FunctionTable functions(profile);
  bool changed = false;

  for (size_t m = 0; m < profile.mappings.size(); ++m) {
    Mapping& mapping = profile.mappings[m];
    if (!options.force && mapping.has_functions && mapping.has_filenames && mapping.has_line_numbers)
      continue;
    std::vector<size_t> pending;
    for (size_t i : locations_of[m]) {
      if (options.force || !HasSourceLines(profile, profile.locations[i])) pending.push_back(i);
    }
    if (pending.empty()) continue;
    // Pseudo-files ([vdso], [heap], [kernel.kallsyms]) and anonymous code
    // have nothing on disk to read.
    std::string build_id = NormalizeBuildId(mapping.build_id);
    if (mapping.filename.starts_with('[') || (mapping.filename.empty() && build_id.empty())) continue;

    ElfLocator::Found found = locator.FindBinary(mapping.filename, build_id);
    if (found.path.empty()) {
      std::string warning = absl::StrFormat("%s: binary not found", MappingName(mapping));
      if (!found.refused.empty())
        warning += absl::StrFormat(" (refused %s)", absl::StrJoin(found.refused, "; "));
      report.warnings.push_back(std::move(warning));
      continue;
    }
    auto [it, inserted] = opened.try_emplace(found.path);
    if (inserted)
      it->second.frames = DwarfFrames::Open(found.path, found.facts.build_id, &locator, &it->second.error);
    DwarfFrames* info = it->second.frames.get();
    if (!info) {
      report.warnings.push_back(
          absl::StrFormat("%s: cannot read %s: %s", MappingName(mapping), found.path, it->second.error));
      continue;
    }
    ++report.mappings_symbolized;
    if (!info->has_dwarf()) {
      report.warnings.push_back(
          absl::StrFormat("%s: no debug info in %s, nor a separate debug file by build ID or .gnu_debuglink; "
                          "kept symbol names",
                          MappingName(mapping), found.path));
    }

    size_t outside = 0;
    for (size_t i : pending) {
      Location& location = profile.locations[i];
      std::optional<uint64_t> vaddr;
      if (location.address >= mapping.memory_start &&
          (mapping.memory_limit == 0 || location.address < mapping.memory_limit)) {
        vaddr = found.facts.VirtualAddress(location.address - mapping.memory_start + mapping.file_offset);
      }
      if (!vaddr) {
        ++outside;
        continue;
      }
      std::vector<SourceFrame> frames = info->Frames(*vaddr);
      // The symbol table only for locations with no name at all: the
      // preload's names are as good, and must not be lost.
      if (frames.empty() && location.lines.empty()) {
        if (std::optional<SourceFrame> symbol = info->SymbolFrame(*vaddr))
          frames.push_back(std::move(*symbol));
      }
      if (frames.empty()) continue;
      std::vector<Line> lines;
      for (const SourceFrame& frame : frames) {
        lines.push_back({.function = functions.Intern(frame), .line = frame.line, .column = frame.column});
      }
      if (!SameLines(lines, location.lines)) {
        location.lines = std::move(lines);
        changed = true;
      }
      ++report.locations_symbolized;
    }
    if (outside > 0) {
      report.warnings.push_back(absl::StrFormat(
          "%s: %d location(s) outside the mapping or the loadable segments of %s (wrong binary?)",
          MappingName(mapping), outside, found.path));
    }

    bool all_named = true;
    for (size_t i : locations_of[m]) all_named = all_named && !profile.locations[i].lines.empty();
    mapping.has_functions = mapping.has_functions || all_named;
    if (info->has_dwarf()) {
      mapping.has_filenames = mapping.has_line_numbers = mapping.has_inline_frames = true;
    }
  }
  if (changed) CompactFunctions(profile);
  return report;
}

}  // namespace heapwatch
