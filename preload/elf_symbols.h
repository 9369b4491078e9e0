// Function names of one ELF object, for the preload's collector thread.
//
// `go tool pprof` cannot symbolize C/C++ shared libraries, so the profiles
// the preload writes carry function names. ElfSymbolTable finds them inside
// the target process, off the hot path, without malloc:
//  - Load() maps the file read-only (open + fstat + mmap) and collects its
//    function symbols (STT_FUNC, STT_GNU_IFUNC) with link-time address and
//    size: from /usr/lib/debug/.build-id/xx/yyyy.debug's .symtab when the
//    object has a GNU build ID and that file exists (Debian's -dbgsym
//    packages), else the object's .symtab, else its .dynsym.
//  - The address table (16 bytes per distinct function address) comes from
//    the caller's InternalArena; names stay in the file's string table, of
//    which only the pages are kept mapped, and after Load only the pages of
//    names Lookup returned are resident. Scratch space during Load is mmap'd
//    and returned.
//  - Lookup() is a binary search; it returns the function containing a
//    link-time address (runtime address minus dl_iterate_phdr's dlpi_addr).
//
// Aliases at one address resolve to one name: GLOBAL over WEAK over LOCAL,
// then fewer leading underscores ("malloc" over "__libc_malloc"), then the
// shorter name, then the default version ("f@@V" over "f@V"), then byte
// order. A symbol of size 0 covers up to the next symbol (or the end of its
// section), unless it lies inside a sized function, which then wins.
//
// Files that are truncated, corrupt, stripped or not ELF load as empty: every
// offset is checked against the file. Passing the build ID read from the
// loaded image (BuildIdFromProgramHeaders) makes Load reject a file that was
// replaced on disk since the process loaded it.
//
// Not thread safe during Load; Lookup on a loaded table may run on any
// thread. Not for DWARF, file:line or inlined frames: the CLI's symbolize
// does those, outside the target.

#ifndef HEAPWATCH_PRELOAD_ELF_SYMBOLS_H_
#define HEAPWATCH_PRELOAD_ELF_SYMBOLS_H_

#include <cstddef>
#include <cstdint>

#include "preload/elf_file.h"
#include "preload/internal_arena.h"

namespace heapwatch {

// One function found by ElfSymbolTable::Lookup.
struct ElfSymbol {
  // The symbol as in the file, NUL-terminated, in the mapped string table
  // (valid while the table lives). A .symtab may spell versioned symbols
  // "name@VERSION" or "name@@VERSION".
  const char* name = nullptr;
  // Length of the name without any "@VERSION" suffix.
  size_t name_length = 0;
  uint64_t start = 0;  // link-time address of the function
  uint64_t size = 0;   // bytes covered, after extending a size-0 symbol
};

class ElfSymbolTable {
 public:
  enum class Source : uint8_t {
    kNone,       // nothing loaded
    kDebugFile,  // .symtab of <debug_root>/.build-id/xx/yyyy.debug
    kSymtab,     // the object's own .symtab
    kDynsym,     // the object's .dynsym (a stripped object: exported functions only)
  };

  static constexpr const char* kDefaultDebugRoot = "/usr/lib/debug";

  ElfSymbolTable() = default;
  ElfSymbolTable(const ElfSymbolTable&) = delete;
  ElfSymbolTable& operator=(const ElfSymbolTable&) = delete;
  ~ElfSymbolTable() { Reset(); }

  // Loads the function symbols of the object at `path`. When
  // `expected_build_id` is non-empty, the file must carry that GNU build ID
  // (hex), else nothing is loaded. `debug_root` ("" or nullptr: do not look)
  // is where separate debug files are searched by build ID. The address table
  // comes from `arena`, which must outlive this table. Returns true if any
  // function was found. Loading again first drops what was loaded (its arena
  // memory stays with the arena).
  bool Load(const char* path, const char* expected_build_id, InternalArena* arena,
            const char* debug_root = kDefaultDebugRoot);

  // The name of the function containing `address` (a link-time address), or
  // nullptr when no function does. Fills `*symbol` when given and found.
  const char* Lookup(uint64_t address, ElfSymbol* symbol = nullptr) const;

  // Drops the string table's pages that Lookup brought in (and the ones the
  // kernel mapped around them) from this process; they stay in the page
  // cache, so the next Lookup is cheap. For callers that have copied the
  // names they needed: a name pointer from Lookup stays valid (it reads the
  // page back in), but the memory it costs is given back.
  void ReleaseNamePages();

  // Unmaps the string table and forgets the symbols.
  void Reset();

  size_t symbol_count() const { return count_; }
  Source source() const { return source_; }
  // Arena bytes of the address table.
  size_t table_bytes() const { return count_ * sizeof(Entry); }
  // Bytes of the file kept mapped (the string table's pages); only pages of
  // names Lookup returned since the last ReleaseNamePages are resident.
  size_t mapped_bytes() const { return mapping_size_; }

 private:
  // One function, sorted by address. Sizes beyond 4 GiB are clamped; names
  // are offsets into the string table.
  struct Entry {
    uint64_t address;
    uint32_t size;
    uint32_t name;
  };
  static_assert(sizeof(Entry) == 16, "the table is the preload's per-symbol memory cost");

  bool LoadFrom(ElfFile* file, uint32_t section_type, InternalArena* arena);

  const Entry* entries_ = nullptr;
  size_t count_ = 0;
  const char* strings_ = nullptr;  // the string table
  void* mapping_ = nullptr;        // the pages holding it
  size_t mapping_size_ = 0;
  Source source_ = Source::kNone;
};

}  // namespace heapwatch

#endif  // HEAPWATCH_PRELOAD_ELF_SYMBOLS_H_
