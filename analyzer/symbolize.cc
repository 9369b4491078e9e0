#include "analyzer/symbolize.h"

#include <cxxabi.h>
#include <dwarf.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwfl.h>
#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <memory>
#include <optional>
#include <tuple>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "analyzer/elf_lookup.h"
#include "analyzer/frames.h"

namespace heapwatch {
namespace {

// One frame of a location's inline chain.
struct SourceFrame {
  std::string name;         // demangled and shortened (ShortFunctionName)
  std::string system_name;  // the linkage (mangled) name
  std::string filename;
  int64_t start_line = 0;
  int64_t line = 0;
  int64_t column = 0;
};

std::string Demangle(const std::string& name) {
  if (!name.starts_with("_Z")) return name;
  int status = 0;
  char* demangled = abi::__cxa_demangle(name.c_str(), nullptr, nullptr, &status);
  std::string result = status == 0 && demangled ? demangled : name;
  std::free(demangled);
  return result;
}

void SetNames(const std::string& linkage_name, SourceFrame* frame) {
  frame->system_name = linkage_name;
  frame->name = ShortFunctionName(Demangle(linkage_name));
}

// A source path from DWARF made absolute: DWARF paths may be relative to the
// compilation directory.
std::string SourcePath(const char* file, const char* comp_dir) {
  if (!file) return "";
  if (file[0] == '/' || !comp_dir || !comp_dir[0]) return file;
  std::string path = comp_dir;
  if (!path.ends_with('/')) path += '/';
  return path + file;
}

// A string attribute of `die`, following DW_AT_abstract_origin and
// DW_AT_specification (an inlined instance names its function only there).
std::string IntegratedString(Dwarf_Die* die, unsigned int name) {
  Dwarf_Attribute attr;
  const char* value = dwarf_formstring(dwarf_attr_integrate(die, name, &attr));
  return value ? value : "";
}

int64_t UnsignedAttribute(Dwarf_Die* die, unsigned int name) {
  Dwarf_Attribute attr;
  Dwarf_Word value = 0;
  return dwarf_formudata(dwarf_attr(die, name, &attr), &value) == 0 ? static_cast<int64_t>(value) : 0;
}

const char* CompDir(Dwarf_Die* cu) {
  Dwarf_Attribute attr;
  return dwarf_formstring(dwarf_attr(cu, DW_AT_comp_dir, &attr));
}

// The source file an inlined instance was called from (DW_AT_call_file).
std::string CallFile(Dwarf_Die* inlined) {
  Dwarf_Attribute attr;
  Dwarf_Word index = 0;
  Dwarf_Die cu;
  Dwarf_Files* files = nullptr;
  size_t count = 0;
  if (dwarf_formudata(dwarf_attr(inlined, DW_AT_call_file, &attr), &index) != 0 ||
      !dwarf_diecu(inlined, &cu, nullptr, nullptr) || dwarf_getsrcfiles(&cu, &files, &count) != 0 ||
      index >= count) {
    return "";
  }
  return SourcePath(dwarf_filesrc(files, index, nullptr, nullptr), CompDir(&cu));
}

// The function's declaration line, when it is declared in `filename` (a
// start line in another file would only mislead).
int64_t StartLine(Dwarf_Die* function, const std::string& filename) {
  Dwarf_Die cu;
  int line = 0;
  if (!dwarf_diecu(function, &cu, nullptr, nullptr) || dwarf_decl_line(function, &line) != 0) return 0;
  return SourcePath(dwarf_decl_file(function), CompDir(&cu)) == filename ? line : 0;
}

// libdwfl's standard find_debuginfo callback would also query debuginfod
// servers (the network) when DEBUGINFOD_URLS is set, as it is by default on
// Debian, and cannot search our --binary-path; this one reads local files only.
int FindSeparateDebugInfo(Dwfl_Module*, void** userdata, const char*, Dwarf_Addr, const char*,
                          const char* debuglink_file, GElf_Word debuglink_crc, char** debuginfo_file_name);

// Never called (dwfl_report_elf is handed the file), but libdwfl requires it.
int NoElfToFind(Dwfl_Module*, void**, const char*, Dwarf_Addr, char**, Elf**) { return -1; }

const Dwfl_Callbacks kDwflCallbacks = {
    .find_elf = NoElfToFind,
    .find_debuginfo = FindSeparateDebugInfo,
    .section_address = dwfl_offline_section_address,
    .debuginfo_path = nullptr,
};

struct DwflDeleter {
  void operator()(Dwfl* dwfl) const { dwfl_end(dwfl); }
};

// One binary opened with libdwfl at its link-time addresses, with its DWARF
// (from the binary itself or a separate debug file) when there is any.
class DebugInfo {
 public:
  // Null with *error set when libdwfl cannot read the file.
  static std::unique_ptr<DebugInfo> Open(const std::string& path, const std::string& build_id, ElfLocator* locator,
                                         std::string* error) {
    std::unique_ptr<DebugInfo> info(new DebugInfo(path, build_id, locator));
    info->dwfl_.reset(dwfl_begin(&kDwflCallbacks));
    if (!info->dwfl_) {
      *error = dwfl_errmsg(-1);
      return nullptr;
    }
    dwfl_report_begin(info->dwfl_.get());
    // ET_DYN placed at 0, so module addresses are ELF virtual addresses plus
    // the bias libdwfl reports (0 unless the file was prelinked).
    info->module_ = dwfl_report_elf(info->dwfl_.get(), path.c_str(), path.c_str(), -1, 0, false);
    dwfl_report_end(info->dwfl_.get(), nullptr, nullptr);
    if (!info->module_) {
      *error = dwfl_errmsg(-1);
      return nullptr;
    }
    void** userdata = nullptr;
    dwfl_module_info(info->module_, &userdata, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr);
    *userdata = info.get();
    GElf_Addr bias = 0;
    if (!dwfl_module_getelf(info->module_, &bias)) {
      *error = dwfl_errmsg(-1);
      return nullptr;
    }
    info->bias_ = bias;
    Dwarf_Addr dwarf_bias = 0;
    info->has_dwarf_ = dwfl_module_getdwarf(info->module_, &dwarf_bias) != nullptr;
    return info;
  }

  bool has_dwarf() const { return has_dwarf_; }

  // The inline chain at ELF virtual address `vaddr`, innermost first; empty
  // when no DWARF covers it.
  std::vector<SourceFrame> Frames(uint64_t vaddr) {
    Dwarf_Addr address = vaddr + bias_;
    Dwarf_Addr dwarf_bias = 0;
    Dwarf_Die* cu = has_dwarf_ ? dwfl_module_addrdie(module_, address, &dwarf_bias) : nullptr;
    if (!cu) return {};

    // The subprogram and the inlined instances around the address, innermost
    // first. dwarf_getscopes continues from an inlined instance into its
    // abstract definition; the caller is its parent in the DIE tree, which
    // dwarf_getscopes_die follows (as elfutils' addr2line -i does).
    std::vector<Dwarf_Die> functions;
    Dwarf_Die* scopes = nullptr;
    int count = dwarf_getscopes(cu, address - dwarf_bias, &scopes);
    if (count > 0) {
      Dwarf_Die innermost = scopes[0];
      std::free(scopes);
      scopes = nullptr;
      count = dwarf_getscopes_die(&innermost, &scopes);
      for (int i = 0; i < count; ++i) {
        int tag = dwarf_tag(&scopes[i]);
        if (tag == DW_TAG_inlined_subroutine || tag == DW_TAG_subprogram) functions.push_back(scopes[i]);
        if (tag == DW_TAG_subprogram) break;
      }
    }
    std::free(scopes);

    SourceFrame innermost;
    if (Dwfl_Line* line = dwfl_module_getsrc(module_, address)) {
      int line_number = 0;
      int column = 0;
      innermost.filename =
          SourcePath(dwfl_lineinfo(line, nullptr, &line_number, &column, nullptr, nullptr), dwfl_line_comp_dir(line));
      innermost.line = line_number;
      innermost.column = column;
    }
    if (functions.empty()) {
      // Line info but no function DIE (assembly, say): the symbol names it.
      std::optional<SourceFrame> symbol = SymbolFrame(vaddr);
      if (!symbol || innermost.filename.empty()) return {};
      innermost.name = symbol->name;
      innermost.system_name = symbol->system_name;
      return {innermost};
    }

    std::vector<SourceFrame> frames;
    for (size_t k = 0; k < functions.size(); ++k) {
      SourceFrame frame;
      if (k == 0) {
        frame = innermost;
      } else {
        // Where the callee (one level in) was inlined into this function.
        frame.filename = CallFile(&functions[k - 1]);
        frame.line = UnsignedAttribute(&functions[k - 1], DW_AT_call_line);
        frame.column = UnsignedAttribute(&functions[k - 1], DW_AT_call_column);
      }
      std::string linkage_name = IntegratedString(&functions[k], DW_AT_linkage_name);
      if (linkage_name.empty()) linkage_name = IntegratedString(&functions[k], DW_AT_MIPS_linkage_name);
      if (linkage_name.empty()) linkage_name = IntegratedString(&functions[k], DW_AT_name);
      if (linkage_name.empty() && k + 1 == functions.size()) {
        if (std::optional<SourceFrame> symbol = SymbolFrame(vaddr)) linkage_name = symbol->system_name;
      }
      SetNames(linkage_name.empty() ? "??" : linkage_name, &frame);
      frame.start_line = StartLine(&functions[k], frame.filename);
      frames.push_back(std::move(frame));
    }
    return frames;
  }

  // The symbol-table function holding ELF virtual address `vaddr`.
  std::optional<SourceFrame> SymbolFrame(uint64_t vaddr) {
    GElf_Off offset = 0;
    GElf_Sym symbol;
    const char* name =
        dwfl_module_addrinfo(module_, vaddr + bias_, &offset, &symbol, nullptr, nullptr, nullptr);
    if (!name || !name[0]) return std::nullopt;
    SourceFrame frame;
    SetNames(name, &frame);
    return frame;
  }

 private:
  friend int FindSeparateDebugInfo(Dwfl_Module*, void**, const char*, Dwarf_Addr, const char*, const char*,
                                   GElf_Word, char**);

  DebugInfo(std::string path, std::string build_id, ElfLocator* locator)
      : path_(std::move(path)), build_id_(std::move(build_id)), locator_(locator) {}

  std::string path_;
  std::string build_id_;
  ElfLocator* locator_;
  std::unique_ptr<Dwfl, DwflDeleter> dwfl_;
  Dwfl_Module* module_ = nullptr;
  GElf_Addr bias_ = 0;  // module address minus ELF virtual address
  bool has_dwarf_ = false;
};

int FindSeparateDebugInfo(Dwfl_Module*, void** userdata, const char*, Dwarf_Addr, const char*,
                          const char* debuglink_file, GElf_Word debuglink_crc, char** debuginfo_file_name) {
  const DebugInfo* info = static_cast<const DebugInfo*>(*userdata);
  if (!info) return -1;
  std::string path = info->locator_->FindDebugFile(info->path_, info->build_id_, debuglink_file, debuglink_crc);
  if (path.empty()) return -1;
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  *debuginfo_file_name = strdup(path.c_str());  // libdwfl owns and frees it
  return fd;
}

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
    auto [it, inserted] = index_.try_emplace(Key{frame.name, frame.system_name, frame.filename, frame.start_line},
                                             profile_.functions.size());
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
  // Opened binaries by path: several mappings may share one file.
  absl::flat_hash_map<std::string, std::unique_ptr<DebugInfo>> opened;
  FunctionTable functions(profile);
  bool changed = false;

  for (size_t m = 0; m < profile.mappings.size(); ++m) {
    Mapping& mapping = profile.mappings[m];
    if (!options.force && mapping.has_functions && mapping.has_filenames && mapping.has_line_numbers) continue;
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
      if (!found.refused.empty()) warning += absl::StrFormat(" (refused %s)", absl::StrJoin(found.refused, "; "));
      report.warnings.push_back(std::move(warning));
      continue;
    }
    auto [it, inserted] = opened.try_emplace(found.path);
    if (inserted) {
      std::string error;
      it->second = DebugInfo::Open(found.path, found.facts.build_id, &locator, &error);
      if (!it->second) report.warnings.push_back(absl::StrFormat("%s: cannot read %s: %s", MappingName(mapping),
                                                                 found.path, error));
    }
    DebugInfo* info = it->second.get();
    if (!info) continue;
    ++report.mappings_symbolized;
    if (!info->has_dwarf()) {
      report.warnings.push_back(absl::StrFormat(
          "%s: no debug info in %s, nor a separate debug file by build ID or .gnu_debuglink; kept symbol names",
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
        if (std::optional<SourceFrame> symbol = info->SymbolFrame(*vaddr)) frames.push_back(std::move(*symbol));
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
