#include "analyzer/dwarf_frames.h"

#include <cxxabi.h>
#include <dwarf.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwfl.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string_view>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "analyzer/elf_lookup.h"
#include "analyzer/frames.h"

namespace heapwatch {
namespace {

// DW_AT_abstract_origin / DW_AT_specification links followed at most (libdw's
// dwarf_attr_integrate stops at 16 too): a guard against cyclic DWARF.
constexpr int kMaxReferenceHops = 16;
// Deeper DIE nesting is not indexed. Real code nests a few dozen levels;
// this bounds the recursion on corrupt DWARF.
constexpr int kMaxDieDepth = 256;

std::string Demangle(const std::string& name) {
  if (!name.starts_with("_Z")) return name;
  int status = 0;
  char* demangled = abi::__cxa_demangle(name.c_str(), nullptr, nullptr, &status);
  std::string result = status == 0 && demangled ? demangled : name;
  std::free(demangled);
  return result;
}

// The symbol of the function that GCC cloned into `symbol`: its hot/cold
// split ("f.cold") or a specialization ("f.part.0", "f.isra.0",
// "f.constprop.0"), which pprof shows as the function itself.
std::string WithoutCloneSuffix(std::string_view symbol) {
  // A mangled name has no dots of its own.
  if (symbol.starts_with("_Z")) return std::string(symbol.substr(0, symbol.find('.')));
  // A C name may ("_GLOBAL__sub_I_main.cc"): strip known suffixes only.
  static constexpr std::string_view kClones[] = {".cold", ".part.", ".isra.", ".constprop.", ".lto_priv."};
  for (bool stripped = true; stripped;) {
    stripped = false;
    for (std::string_view clone : kClones) {
      size_t at = symbol.rfind(clone);
      if (at == std::string_view::npos || at == 0) continue;
      std::string_view rest = symbol.substr(at + clone.size());
      if (clone == ".cold" ? rest.empty()
                           : !rest.empty() && rest.find_first_not_of("0123456789") == rest.npos) {
        symbol = symbol.substr(0, at);
        stripped = true;
      }
    }
  }
  return std::string(symbol);
}

// A source path from DWARF, made absolute when it is relative to the
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

// The DIE that declares a function: an inlined or out-of-line instance
// points to its abstract origin, a definition to its declaration.
Dwarf_Die DeclaringDie(Dwarf_Die die) {
  for (int hops = 0; hops < kMaxReferenceHops; ++hops) {
    Dwarf_Attribute attr;
    Dwarf_Die next;
    Dwarf_Attribute* reference = dwarf_attr(&die, DW_AT_abstract_origin, &attr);
    if (!reference) reference = dwarf_attr(&die, DW_AT_specification, &attr);
    if (!reference || !dwarf_formref_die(reference, &next)) break;
    die = next;
  }
  return die;
}

using AddressRange = std::pair<Dwarf_Addr, Dwarf_Addr>;  // [low, high)

std::vector<AddressRange> Ranges(Dwarf_Die* die) {
  std::vector<AddressRange> ranges;
  Dwarf_Addr base = 0, start = 0, end = 0;
  ptrdiff_t offset = 0;
  while ((offset = dwarf_ranges(die, offset, &base, &start, &end)) > 0) {
    if (start < end) ranges.emplace_back(start, end);
  }
  return ranges;
}

bool InRanges(const std::vector<AddressRange>& ranges, Dwarf_Addr pc) {
  for (const AddressRange& range : ranges) {
    if (range.first <= pc && pc < range.second) return true;
  }
  return false;
}

// Address intervals [low, high), each with a value, for stabbing queries:
// sorted by low, with the running maximum of high, so that a backward scan
// from an address stops as soon as no earlier interval can reach it.
template <typename T>
class IntervalIndex {
 public:
  void Add(Dwarf_Addr low, Dwarf_Addr high, T value) { entries_.push_back({low, high, std::move(value)}); }

  // After the last Add.
  void Build() {
    std::sort(entries_.begin(), entries_.end(), [](const Entry& a, const Entry& b) { return a.low < b.low; });
    Dwarf_Addr highest = 0;
    for (const Entry& entry : entries_) max_high_.push_back(highest = std::max(highest, entry.high));
  }

  // Calls visit(value) for each interval holding `pc`, the latest starting
  // first, until it returns false.
  template <typename Visit>
  void ForEachHolding(Dwarf_Addr pc, Visit visit) const {
    size_t j = std::upper_bound(entries_.begin(), entries_.end(), pc,
                                [](Dwarf_Addr pc, const Entry& entry) { return pc < entry.low; }) -
               entries_.begin();
    while (j > 0 && max_high_[j - 1] > pc) {
      --j;
      if (pc < entries_[j].high && !visit(entries_[j].value)) return;
    }
  }

 private:
  struct Entry {
    Dwarf_Addr low;
    Dwarf_Addr high;
    T value;
  };
  std::vector<Entry> entries_;
  std::vector<Dwarf_Addr> max_high_;  // max_high_[i]: the highest `high` in entries_[0..i]
};

// One compile unit's functions with code (each subprogram with its inlined
// instances nested as in the DIE tree) and the scopes that qualify names
// (namespaces, types, functions), from a single walk of its DIEs.
class CompileUnitIndex {
 public:
  explicit CompileUnitIndex(Dwarf_Die* unit) {
    Walk(unit, -1, -1, 0);
    subprograms_.Build();
  }

  // The subprogram containing `pc` and the inlined instances around it,
  // innermost first; empty when no subprogram has code there.
  std::vector<Dwarf_Die> FunctionsAt(Dwarf_Addr pc) const {
    // The subprogram range holding pc that starts last.
    std::optional<size_t> node;
    subprograms_.ForEachHolding(pc, [&node](size_t code) {
      node = code;
      return false;
    });
    if (!node) return {};
    std::vector<Dwarf_Die> chain = {code_[*node].die};
    for (bool deeper = true; deeper;) {
      deeper = false;
      for (size_t child : code_[*node].inlined) {
        if (InRanges(code_[child].ranges, pc)) {
          node = child;
          chain.push_back(code_[child].die);
          deeper = true;
          break;
        }
      }
    }
    std::reverse(chain.begin(), chain.end());
    return chain;
  }

  // The scopes enclosing `die`, innermost first; empty when `die` is not a
  // namespace, type or function of this unit.
  std::vector<Dwarf_Die> EnclosingScopes(const Dwarf_Die& die) const {
    std::vector<Dwarf_Die> scopes;
    auto it = scope_index_.find(die.addr);
    if (it == scope_index_.end()) return scopes;
    for (int parent = scopes_[it->second].parent; parent >= 0; parent = scopes_[parent].parent) {
      scopes.push_back(scopes_[parent].die);
    }
    return scopes;
  }

 private:
  struct CodeNode {
    Dwarf_Die die;
    std::vector<AddressRange> ranges;
    std::vector<size_t> inlined;  // indices into code_ of the instances directly inside
  };
  struct Scope {
    Dwarf_Die die;
    int parent;  // index into scopes_, -1 at the top
  };

  int AddScope(const Dwarf_Die& die, int parent) {
    scopes_.push_back({die, parent});
    scope_index_[die.addr] = scopes_.size() - 1;
    return static_cast<int>(scopes_.size() - 1);
  }

  // `code_parent`: the code node the children's inlined instances belong to
  // (-1: none); `scope_parent`: the scope naming them.
  void Walk(Dwarf_Die* parent, int code_parent, int scope_parent, int depth) {
    Dwarf_Die child;
    if (depth >= kMaxDieDepth || dwarf_child(parent, &child) != 0) return;
    do {
      int code = code_parent;
      int scope = scope_parent;
      switch (dwarf_tag(&child)) {
        case DW_TAG_subprogram: {
          // Every subprogram with code is a root: a nested function or a
          // local class's method is not inlined into its enclosing function.
          scope = AddScope(child, scope_parent);
          code = -1;
          std::vector<AddressRange> ranges = Ranges(&child);
          if (!ranges.empty()) {
            code = static_cast<int>(code_.size());
            for (const AddressRange& range : ranges)
              subprograms_.Add(range.first, range.second, code_.size());
            code_.push_back({child, std::move(ranges), {}});
          }
          break;
        }
        case DW_TAG_inlined_subroutine: {
          std::vector<AddressRange> ranges = Ranges(&child);
          if (code_parent >= 0 && !ranges.empty()) {
            code = static_cast<int>(code_.size());
            code_[code_parent].inlined.push_back(code_.size());
            code_.push_back({child, std::move(ranges), {}});
          }
          break;
        }
        case DW_TAG_namespace:
        case DW_TAG_class_type:
        case DW_TAG_structure_type:
        case DW_TAG_union_type:
          scope = AddScope(child, scope_parent);
          break;
        default:
          break;
      }
      if (dwarf_haschildren(&child)) Walk(&child, code, scope, depth + 1);
    } while (dwarf_siblingof(&child, &child) == 0);
  }

  std::vector<CodeNode> code_;
  IntervalIndex<size_t> subprograms_;  // subprogram ranges -> index into code_
  std::vector<Scope> scopes_;
  absl::flat_hash_map<const void*, size_t> scope_index_;  // DIE address -> index into scopes_
};

// The compile units with code, by address range. Where several units claim
// an address, the first in .debug_info describes it: GNU ld keeps the first
// copy of a COMDAT function (an inline or template function emitted by many
// translation units) and points the debug info of every discarded copy of
// the same size at the kept one, so later units describe code the linker
// threw away (different inlining, other lines). libdwfl's
// dwfl_module_addrdie may answer with any of them; llvm-symbolizer, like
// this, takes the first.
class UnitRanges {
 public:
  explicit UnitRanges(Dwarf* dwarf) {
    Dwarf_CU* cu = nullptr;
    Dwarf_CU* next = nullptr;
    Dwarf_Half version = 0;
    uint8_t unit_type = 0;
    Dwarf_Die unit;
    size_t order = 0;
    while (dwarf_get_units(dwarf, cu, &next, &version, &unit_type, &unit, nullptr) == 0) {
      cu = next;
      if (unit_type != DW_UT_compile && unit_type != DW_UT_partial) continue;
      for (const AddressRange& range : Ranges(&unit)) ranges_.Add(range.first, range.second, order);
      units_.push_back(unit);
      ++order;
    }
    ranges_.Build();
  }

  // The first unit whose ranges hold `pc`, if any.
  std::optional<Dwarf_Die> UnitAt(Dwarf_Addr pc) const {
    std::optional<size_t> first;
    ranges_.ForEachHolding(pc, [&first](size_t unit) {
      if (!first || unit < *first) first = unit;
      return true;
    });
    if (!first) return std::nullopt;
    return units_[*first];
  }

 private:
  std::vector<Dwarf_Die> units_;      // in .debug_info order
  IntervalIndex<size_t> ranges_;      // unit ranges -> index into units_
};

struct DwflDeleter {
  void operator()(Dwfl* dwfl) const { dwfl_end(dwfl); }
};

// Never called (dwfl_report_elf is handed the file), but libdwfl wants one.
int NoElfToFind(Dwfl_Module*, void**, const char*, Dwarf_Addr, char**, Elf**) { return -1; }

}  // namespace

class DwarfFrames::Impl {
 public:
  Impl(std::string path, std::string build_id, ElfLocator* locator)
      : path_(std::move(path)), build_id_(std::move(build_id)), locator_(locator) {}

  bool Open(std::string* error) {
    // libdwfl's standard find_debuginfo callback also asks debuginfod
    // servers (the network) when DEBUGINFOD_URLS is set, as it is by default
    // on Debian, and cannot search our --binary-path: ours reads local files.
    static const Dwfl_Callbacks callbacks = {
        .find_elf = NoElfToFind,
        .find_debuginfo = FindDebugInfo,
        .section_address = dwfl_offline_section_address,
        .debuginfo_path = nullptr,
    };
    dwfl_.reset(dwfl_begin(&callbacks));
    if (!dwfl_) {
      *error = dwfl_errmsg(-1);
      return false;
    }
    dwfl_report_begin(dwfl_.get());
    // An ET_DYN file placed at 0: module addresses are ELF virtual addresses
    // plus the bias libdwfl reports (0 unless the file was prelinked).
    module_ = dwfl_report_elf(dwfl_.get(), path_.c_str(), path_.c_str(), -1, 0, false);
    dwfl_report_end(dwfl_.get(), nullptr, nullptr);
    if (!module_) {
      *error = dwfl_errmsg(-1);
      return false;
    }
    void** userdata = nullptr;
    dwfl_module_info(module_, &userdata, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr);
    *userdata = this;
    GElf_Addr bias = 0;
    if (!dwfl_module_getelf(module_, &bias)) {
      *error = dwfl_errmsg(-1);
      return false;
    }
    bias_ = bias;
    Dwarf_Addr dwarf_bias = 0;
    has_dwarf_ = dwfl_module_getdwarf(module_, &dwarf_bias) != nullptr;
    return true;
  }

  bool has_dwarf() const { return has_dwarf_; }

  std::vector<SourceFrame> Frames(uint64_t vaddr) {
    if (!has_dwarf_) return {};
    Dwarf_Addr address = vaddr + bias_;
    Dwarf_Addr dwarf_bias = 0;
    Dwarf* dwarf = dwfl_module_getdwarf(module_, &dwarf_bias);
    if (!dwarf) return {};
    if (!unit_ranges_) unit_ranges_ = std::make_unique<UnitRanges>(dwarf);
    Dwarf_Addr pc = address - dwarf_bias;
    std::optional<Dwarf_Die> unit = unit_ranges_->UnitAt(pc);
    if (!unit) {
      // No unit lists the address in its ranges (split DWARF's skeletons,
      // say): libdwfl's lookup through .debug_aranges.
      Dwarf_Die* found = dwfl_module_addrdie(module_, address, &dwarf_bias);
      if (!found) return {};
      unit = *found;
    }
    std::vector<Dwarf_Die> functions = UnitIndex(&*unit).FunctionsAt(pc);

    SourceFrame innermost;
    // The line from the same unit's line table: a discarded COMDAT copy's
    // rows for the address describe other code.
    if (Dwarf_Line* line = dwarf_getsrc_die(&*unit, pc)) {
      int line_number = 0;
      int column = 0;
      dwarf_lineno(line, &line_number);
      dwarf_linecol(line, &column);
      innermost.filename = SourcePath(dwarf_linesrc(line, nullptr, nullptr), CompDir(&*unit));
      innermost.line = line_number;
      innermost.column = column;
    }
    if (functions.empty()) {
      // A line but no function DIE (assembly, say): the symbol names it.
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
      bool outermost = k + 1 == functions.size();
      NameFrame(&functions[k], outermost ? std::optional<uint64_t>(vaddr) : std::nullopt, &frame);
      frame.start_line = StartLine(&functions[k], frame.filename);
      frames.push_back(std::move(frame));
    }
    return frames;
  }

  std::optional<SourceFrame> SymbolFrame(uint64_t vaddr) {
    GElf_Off offset = 0;
    GElf_Sym symbol;
    const char* name =
        dwfl_module_addrinfo(module_, vaddr + bias_, &offset, &symbol, nullptr, nullptr, nullptr);
    if (!name || !name[0]) return std::nullopt;
    SourceFrame frame;
    frame.system_name = WithoutCloneSuffix(name);
    frame.name = ShortFunctionName(Demangle(frame.system_name));
    return frame;
  }

 private:
  static int FindDebugInfo(Dwfl_Module*, void** userdata, const char*, Dwarf_Addr, const char*,
                           const char* debuglink_file, GElf_Word debuglink_crc, char** debuginfo_file_name) {
    const Impl* self = static_cast<const Impl*>(*userdata);
    if (!self) return -1;
    std::string path =
        self->locator_->FindDebugFile(self->path_, self->build_id_, debuglink_file, debuglink_crc);
    if (path.empty()) return -1;
    int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    *debuginfo_file_name = strdup(path.c_str());  // libdwfl owns and frees it
    return fd;
  }

  CompileUnitIndex& UnitIndex(Dwarf_Die* unit) {
    std::unique_ptr<CompileUnitIndex>& index = units_[unit->addr];
    if (!index) index = std::make_unique<CompileUnitIndex>(unit);
    return *index;
  }

  // Names `frame` after `function` (a subprogram or an inlined instance).
  // `vaddr` is set for the outermost frame, whose symbol-table entry can
  // supply the mangled name when DWARF has none.
  void NameFrame(Dwarf_Die* function, std::optional<uint64_t> vaddr, SourceFrame* frame) {
    std::string linkage_name = IntegratedString(function, DW_AT_linkage_name);
    if (linkage_name.empty()) linkage_name = IntegratedString(function, DW_AT_MIPS_linkage_name);
    if (!linkage_name.empty()) {
      frame->system_name = linkage_name;
      std::string demangled = Demangle(linkage_name);
      // The GNU demangler fails on some names (templated conversion
      // operators): the qualified DWARF name reads better than the mangled one.
      if (demangled == linkage_name && linkage_name.starts_with("_Z")) {
        std::string qualified = QualifiedName(function);
        if (!qualified.empty()) demangled = qualified;
      }
      frame->name = ShortFunctionName(demangled);
      return;
    }
    // GCC gives no linkage name to C functions nor to C++ functions with
    // internal linkage (in an anonymous namespace, a lambda's operator()).
    // The outermost frame's symbol-table entry names such a function as the
    // preload and pprof do, when it is the same function (its shortened name
    // ends with the DWARF name). Otherwise qualify the DWARF name with its
    // namespaces and classes, as the demangler would.
    if (vaddr) {
      std::string dwarf_name = IntegratedString(function, DW_AT_name);
      std::optional<SourceFrame> symbol = SymbolFrame(*vaddr);
      if (symbol && !dwarf_name.empty() &&
          (symbol->name == dwarf_name || symbol->name.ends_with("::" + dwarf_name))) {
        *frame = {.name = symbol->name,
                  .system_name = symbol->system_name,
                  .filename = frame->filename,
                  .line = frame->line,
                  .column = frame->column};
        return;
      }
    }
    frame->name = frame->system_name = ShortFunctionName(QualifiedName(function));
    if (frame->name.empty()) frame->name = frame->system_name = "??";
  }

  // "ns::(anonymous namespace)::Class::method" for a function DIE.
  std::string QualifiedName(Dwarf_Die* function) {
    Dwarf_Die declaration = DeclaringDie(*function);
    // Inserted empty first: a cycle of enclosing functions ends here.
    if (auto [it, inserted] = qualified_names_.try_emplace(declaration.addr); !inserted) return it->second;
    const char* name = dwarf_diename(&declaration);
    std::string qualified = name ? name : "";
    Dwarf_Die unit;
    if (dwarf_diecu(&declaration, &unit, nullptr, nullptr)) {
      for (Dwarf_Die& scope : UnitIndex(&unit).EnclosingScopes(declaration)) {
        const char* scope_name = dwarf_diename(&scope);
        int tag = dwarf_tag(&scope);
        if (tag == DW_TAG_subprogram) {
          // A local class's method: the enclosing function's name is
          // qualified already.
          std::string linkage_name = IntegratedString(&scope, DW_AT_linkage_name);
          qualified =
              (linkage_name.empty() ? QualifiedName(&scope) : Demangle(linkage_name)) + "::" + qualified;
          break;
        }
        if (tag == DW_TAG_namespace) {
          qualified = (scope_name ? scope_name : "(anonymous namespace)") + std::string("::") + qualified;
        } else {
          qualified = (scope_name ? scope_name : "{unnamed type}") + std::string("::") + qualified;
        }
      }
    }
    return qualified_names_[declaration.addr] = qualified;
  }

  std::string path_;
  std::string build_id_;
  ElfLocator* locator_;
  std::unique_ptr<Dwfl, DwflDeleter> dwfl_;
  Dwfl_Module* module_ = nullptr;
  GElf_Addr bias_ = 0;  // module address minus ELF virtual address
  bool has_dwarf_ = false;
  std::unique_ptr<UnitRanges> unit_ranges_;  // built on the first lookup
  // Compile-unit indices by unit DIE (its address in the mapped DWARF).
  absl::flat_hash_map<const void*, std::unique_ptr<CompileUnitIndex>> units_;
  // Qualified names by declaring DIE.
  absl::flat_hash_map<const void*, std::string> qualified_names_;
};

std::unique_ptr<DwarfFrames> DwarfFrames::Open(const std::string& path, const std::string& build_id,
                                               ElfLocator* locator, std::string* error) {
  auto impl = std::make_unique<Impl>(path, build_id, locator);
  if (!impl->Open(error)) return nullptr;
  return std::unique_ptr<DwarfFrames>(new DwarfFrames(std::move(impl)));
}

DwarfFrames::DwarfFrames(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
DwarfFrames::~DwarfFrames() = default;
bool DwarfFrames::has_dwarf() const { return impl_->has_dwarf(); }
std::vector<SourceFrame> DwarfFrames::Frames(uint64_t vaddr) { return impl_->Frames(vaddr); }
std::optional<SourceFrame> DwarfFrames::SymbolFrame(uint64_t vaddr) { return impl_->SymbolFrame(vaddr); }

}  // namespace heapwatch
