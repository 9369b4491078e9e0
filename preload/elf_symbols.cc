#include "preload/elf_symbols.h"

#include <elf.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

namespace heapwatch {
namespace {

// A function symbol while Load sorts them out (scratch memory, unmapped at
// the end of Load). 16 bytes, as small as the table it becomes: the
// scratch is what a large symbol table (libc's debug file: ~7,000
// functions) costs in peak memory on top of the table.
struct Candidate {
  uint64_t address;
  uint32_t size;  // clamped, as in the table
  uint32_t name_and_rank;
  static constexpr uint32_t kNameLimit = uint32_t{1} << 30;
  uint32_t name() const { return name_and_rank & (kNameLimit - 1); }  // offset in the string table
  uint8_t binding_rank() const { return static_cast<uint8_t>(name_and_rank >> 30); }  // 0 GLOBAL .. 3 other
};
static_assert(sizeof(Candidate) == 16);

uint8_t BindingRank(unsigned char info) {
  switch (ELF64_ST_BIND(info)) {
    case STB_GLOBAL:
    case STB_GNU_UNIQUE:
      return 0;
    case STB_WEAK:
      return 1;
    case STB_LOCAL:
      return 2;
    default:
      return 3;
  }
}

size_t BaseLength(const char* name) {
  const char* at = std::strchr(name, '@');
  return at != nullptr ? static_cast<size_t>(at - name) : std::strlen(name);
}

size_t LeadingUnderscores(const char* name, size_t length) {
  size_t count = 0;
  while (count < length && name[count] == '_') ++count;
  return count;
}

// 0: unversioned, 1: default version "@@", 2: other version "@".
int VersionRank(const char* name, size_t base_length) {
  if (name[base_length] == '\0') return 0;
  return name[base_length + 1] == '@' ? 1 : 2;
}

// True when `a` names an address better than `b` (see the header).
bool Preferred(const Candidate& a, const Candidate& b, const char* strings) {
  if (a.binding_rank() != b.binding_rank()) return a.binding_rank() < b.binding_rank();
  const char* a_name = strings + a.name();
  const char* b_name = strings + b.name();
  size_t a_length = BaseLength(a_name);
  size_t b_length = BaseLength(b_name);
  if ((a_length == 0) != (b_length == 0)) return b_length == 0;  // an empty name names nothing
  size_t a_underscores = LeadingUnderscores(a_name, a_length);
  size_t b_underscores = LeadingUnderscores(b_name, b_length);
  if (a_underscores != b_underscores) return a_underscores < b_underscores;
  if (a_length != b_length) return a_length < b_length;
  int a_version = VersionRank(a_name, a_length);
  int b_version = VersionRank(b_name, b_length);
  if (a_version != b_version) return a_version < b_version;
  return std::strcmp(a_name, b_name) < 0;
}

bool IsFunction(const ElfW(Sym)& symbol) {
  int type = ELF64_ST_TYPE(symbol.st_info);
  return (type == STT_FUNC || type == STT_GNU_IFUNC) && symbol.st_shndx != SHN_UNDEF;
}

// Writes "<root>/.build-id/<first two hex digits>/<the rest>.debug".
bool DebugFilePath(const char* root, const char* build_id, char* path, size_t path_size) {
  size_t length = 0;
  auto append = [&](const char* text, size_t count) {
    if (count >= path_size - length) return false;
    std::memcpy(path + length, text, count);
    length += count;
    path[length] = '\0';
    return true;
  };
  static constexpr char kDirectory[] = "/.build-id/";
  static constexpr char kSuffix[] = ".debug";
  return append(root, std::strlen(root)) && append(kDirectory, sizeof(kDirectory) - 1) &&
         append(build_id, 2) && append("/", 1) && append(build_id + 2, std::strlen(build_id + 2)) &&
         append(kSuffix, sizeof(kSuffix) - 1);
}

size_t RoundUp(size_t value, size_t multiple) { return (value + multiple - 1) / multiple * multiple; }

// Reads the symbol table front to back in windows, giving each window's
// pages back once read: Load passes over the whole table twice, and a debug
// file's table (libc's: 240 KiB) would otherwise be resident all at once,
// on top of the scratch. The pages stay in the page cache; a later read
// brings them back.
template <typename Fn>
void ForEachSymbol(const ElfW(Sym)* symbols, size_t count, Fn&& fn) {
  constexpr size_t kWindow = 64 * 1024;
  uintptr_t page = static_cast<uintptr_t>(sysconf(_SC_PAGESIZE));
  uintptr_t first = reinterpret_cast<uintptr_t>(symbols) / page * page;
  uintptr_t released = first;
  auto release_to = [&](uintptr_t end) {
    // From the start each time: the kernel maps pages in around a fault,
    // behind the window too.
    madvise(reinterpret_cast<void*>(first), end - first, MADV_DONTNEED);
    released = end;
  };
  for (size_t i = 1; i < count; ++i) {  // 0 is the null symbol
    fn(symbols[i]);
    uintptr_t read = reinterpret_cast<uintptr_t>(symbols + i + 1) / page * page;
    if (read - released >= kWindow) release_to(read);
  }
  release_to(RoundUp(reinterpret_cast<uintptr_t>(symbols + count), page));
}

// The end of the allocated section holding `address` (a link-time
// address), or 0: how far a size-0 symbol there may reach.
uint64_t SectionEnd(const ElfFile& file, uint64_t address) {
  for (size_t i = 0; i < file.section_count(); ++i) {
    const ElfW(Shdr)* section = file.section(i);
    if ((section->sh_flags & SHF_ALLOC) != 0 && address >= section->sh_addr &&
        address - section->sh_addr < section->sh_size) {
      return section->sh_addr + section->sh_size;
    }
  }
  return 0;
}

}  // namespace

bool ElfSymbolTable::Load(const char* path, const char* expected_build_id, InternalArena* arena,
                          const char* debug_root) {
  Reset();
  ElfFile file;
  if (!file.Open(path)) return false;
  char build_id[kBuildIdHexCapacity];
  size_t build_id_length = file.BuildId(build_id, sizeof(build_id));
  if (expected_build_id != nullptr && expected_build_id[0] != '\0' &&
      (build_id_length == 0 || std::strcmp(build_id, expected_build_id) != 0)) {
    return false;  // not the file the process loaded
  }
  if (build_id_length > 2 && debug_root != nullptr && debug_root[0] != '\0') {
    // PATH_MAX on Linux; a longer root simply finds no debug file.
    char debug_path[4096];
    ElfFile debug;
    char debug_build_id[kBuildIdHexCapacity];
    if (DebugFilePath(debug_root, build_id, debug_path, sizeof(debug_path)) && debug.Open(debug_path) &&
        debug.BuildId(debug_build_id, sizeof(debug_build_id)) == build_id_length &&
        std::strcmp(debug_build_id, build_id) == 0 && LoadFrom(&debug, SHT_SYMTAB, arena)) {
      source_ = Source::kDebugFile;
      return true;
    }
  }
  if (LoadFrom(&file, SHT_SYMTAB, arena)) {
    source_ = Source::kSymtab;
    return true;
  }
  if (LoadFrom(&file, SHT_DYNSYM, arena)) {
    source_ = Source::kDynsym;
    return true;
  }
  return false;
}

bool ElfSymbolTable::LoadFrom(ElfFile* file, uint32_t section_type, InternalArena* arena) {
  const ElfW(Shdr)* table = nullptr;
  for (size_t i = 0; i < file->section_count() && table == nullptr; ++i) {
    if (file->section(i)->sh_type == section_type) table = file->section(i);
  }
  if (table == nullptr || table->sh_entsize != sizeof(ElfW(Sym)) ||
      table->sh_offset % alignof(ElfW(Sym)) != 0) {
    return false;
  }
  const ElfW(Sym)* symbols = reinterpret_cast<const ElfW(Sym)*>(file->SectionData(*table));
  const ElfW(Shdr)* string_section = file->section(table->sh_link);
  if (symbols == nullptr || string_section == nullptr || string_section->sh_type != SHT_STRTAB) return false;
  const char* strings = reinterpret_cast<const char*>(file->SectionData(*string_section));
  if (strings == nullptr) return false;
  // Every name must end inside the table: only offsets before its last NUL
  // are names.
  uint64_t names_end = string_section->sh_size;
  while (names_end > 0 && strings[names_end - 1] != '\0') --names_end;
  size_t symbol_count = table->sh_size / sizeof(ElfW(Sym));
  // Names are not read here (only aliases' are, below), so the string
  // table's pages stay out of memory until Lookup returns their names.
  auto usable = [&](const ElfW(Sym)& symbol) {
    return IsFunction(symbol) && symbol.st_name != 0 && symbol.st_name < names_end &&
           symbol.st_name < Candidate::kNameLimit;
  };

  size_t count = 0;
  ForEachSymbol(symbols, symbol_count, [&](const ElfW(Sym)& symbol) { count += usable(symbol) ? 1 : 0; });
  if (count == 0) return false;
  size_t scratch_bytes = count * sizeof(Candidate);
  Candidate* candidates = static_cast<Candidate*>(MapPages(scratch_bytes));
  if (candidates == nullptr) return false;
  size_t filled = 0;
  ForEachSymbol(symbols, symbol_count, [&](const ElfW(Sym)& symbol) {
    if (!usable(symbol)) return;
    Candidate& candidate = candidates[filled++];
    candidate.address = symbol.st_value;
    candidate.size = static_cast<uint32_t>(std::min<uint64_t>(symbol.st_size, UINT32_MAX));
    candidate.name_and_rank = static_cast<uint32_t>(symbol.st_name) | uint32_t{BindingRank(symbol.st_info)} << 30;
  });
  std::sort(candidates, candidates + count,
            [](const Candidate& a, const Candidate& b) { return a.address < b.address; });

  // One candidate per address: the preferred name, the largest size. Only
  // aliases have their names read here.
  size_t distinct = 0;
  for (size_t i = 0; i < count;) {
    Candidate best = candidates[i];
    size_t j = i + 1;
    for (; j < count && candidates[j].address == best.address; ++j) {
      const Candidate& alias = candidates[j];
      uint32_t size = std::max(best.size, alias.size);
      if (Preferred(alias, best, strings)) best = alias;
      best.size = size;
    }
    candidates[distinct++] = best;
    i = j;
  }

  // Give size-0 symbols (assembly without .size) a range: up to the next
  // symbol or the end of their section. One inside a sized function (a
  // label in hand-written assembly) is dropped so the function keeps its
  // whole range.
  size_t kept = 0;
  uint64_t covered_end = 0;  // end of the sized functions so far
  for (size_t i = 0; i < distinct; ++i) {
    Candidate candidate = candidates[i];
    if (candidate.size == 0) {
      if (candidate.address < covered_end) continue;
      uint64_t end = i + 1 < distinct ? candidates[i + 1].address : UINT64_MAX;
      uint64_t section_end = SectionEnd(*file, candidate.address);
      if (section_end > candidate.address && section_end < end) end = section_end;
      candidate.size = static_cast<uint32_t>(std::min<uint64_t>(end == UINT64_MAX ? 1 : end - candidate.address,
                                                                UINT32_MAX));
    } else {
      uint64_t end = candidate.address + candidate.size;
      if (end < candidate.address) end = UINT64_MAX;
      covered_end = std::max(covered_end, end);
    }
    candidates[kept++] = candidate;
  }

  Entry* entries = arena->AllocateArray<Entry>(kept);
  if (entries == nullptr) {
    UnmapPages(candidates, scratch_bytes);
    return false;
  }
  for (size_t i = 0; i < kept; ++i) {
    entries[i].address = candidates[i].address;
    entries[i].size = candidates[i].size;
    entries[i].name = candidates[i].name();
  }
  UnmapPages(candidates, scratch_bytes);

  // Keep only the string table's pages of the file mapping. (The section
  // headers go with the rest: read what is needed first.)
  size_t strings_offset = string_section->sh_offset;
  size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  size_t keep_begin = strings_offset / page * page;
  size_t keep_end = RoundUp(strings_offset + string_section->sh_size, page);
  void* base = nullptr;
  size_t file_bytes = 0;
  file->ReleaseMapping(&base, &file_bytes);
  char* bytes = static_cast<char*>(base);
  size_t mapped_end = RoundUp(file_bytes, page);
  if (keep_begin > 0) munmap(bytes, keep_begin);
  if (mapped_end > keep_end) munmap(bytes + keep_end, mapped_end - keep_end);
  // Load read the names of aliases (and the kernel mapped their neighbours):
  // drop those pages from this process (they stay in the page cache), so
  // only names Lookup returns come back.
  madvise(bytes + keep_begin, keep_end - keep_begin, MADV_DONTNEED);

  entries_ = entries;
  count_ = kept;
  strings_ = bytes + strings_offset;
  mapping_ = bytes + keep_begin;
  mapping_size_ = keep_end - keep_begin;
  return true;
}

const char* ElfSymbolTable::Lookup(uint64_t address, ElfSymbol* symbol) const {
  const Entry* end = entries_ + count_;
  const Entry* after = std::upper_bound(
      entries_, end, address, [](uint64_t value, const Entry& entry) { return value < entry.address; });
  if (after == entries_) return nullptr;
  const Entry& entry = after[-1];
  if (address - entry.address >= entry.size) return nullptr;
  const char* name = strings_ + entry.name;
  if (name[0] == '\0') return nullptr;  // a malformed table's empty name
  if (symbol != nullptr) {
    symbol->name = name;
    symbol->name_length = BaseLength(name);
    symbol->start = entry.address;
    symbol->size = entry.size;
  }
  return name;
}

void ElfSymbolTable::ReleaseNamePages() {
  if (mapping_ != nullptr) madvise(mapping_, mapping_size_, MADV_DONTNEED);
}

void ElfSymbolTable::Reset() {
  if (mapping_ != nullptr) munmap(mapping_, mapping_size_);
  entries_ = nullptr;
  count_ = 0;
  strings_ = nullptr;
  mapping_ = nullptr;
  mapping_size_ = 0;
  source_ = Source::kNone;
}

}  // namespace heapwatch
