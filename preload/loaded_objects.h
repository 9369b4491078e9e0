// The executable code mapped into the process: the program and its shared
// objects, as the dynamic loader reports them (dl_iterate_phdr), each with
// its path, load address and GNU build ID, and each executable segment of
// each object (one pprof Mapping apiece). Collector-owned.
//
// Objects are only ever added: a library that dlclose() unmapped stays known,
// so frames captured while it was loaded keep their mapping and names; a
// library loaded later at the same address is a newer entry and wins for new
// frames.

#ifndef HEAPWATCH_PRELOAD_LOADED_OBJECTS_H_
#define HEAPWATCH_PRELOAD_LOADED_OBJECTS_H_

#include <link.h>

#include <cstddef>
#include <cstdint>

#include "preload/elf_symbols.h"
#include "preload/internal_arena.h"
#include "preload/page_vector.h"
#include "preload/string_table.h"

namespace heapwatch {

struct LoadedObject {
  const char* path;       // absolute
  const char* build_id;   // hex, "" if none
  uintptr_t load_bias;    // runtime address minus link-time address
  uint32_t path_string;   // indices into the StringTable
  uint32_t build_id_string;
  bool has_functions;     // some frame in it was named from its symbols
  bool symbols_loaded;    // `symbols` was loaded (possibly empty)
  bool names_read;        // FunctionAt found a name since ReleaseSymbolNamePages
  ElfSymbolTable* symbols;
};

struct LoadedSegment {
  uintptr_t start;        // runtime, page-aligned down as in /proc/self/maps
  uintptr_t limit;
  uint64_t file_offset;   // of `start`, page-aligned down likewise
  uint32_t object;        // index into objects
};

class LoadedObjects {
 public:
  // `main_program_path`: the executable's absolute path (the loader reports
  // it with an empty name).
  void Init(const char* main_program_path, StringTable* strings);

  // Adds objects loaded since the last call. Cheap when nothing was loaded:
  // the loader counts its loads (dlpi_adds), and we stop at the first object
  // if the count has not moved.
  void Refresh();

  // The newest segment containing `pc`, or -1.
  int FindSegment(uintptr_t pc) const;

  size_t segment_count() const { return segments_.size(); }
  const LoadedSegment& segment(size_t i) const { return segments_[i]; }
  size_t object_count() const { return objects_.size(); }
  const LoadedObject& object(size_t i) const { return objects_[i]; }
  void MarkHasFunctions(size_t i) { objects_[i].has_functions = true; }

  // The function of object `i` containing runtime address `pc`, from the
  // object's symbol table, read from its file on first use. A file replaced
  // on disk since it was loaded (different build ID) names nothing.
  bool FunctionAt(size_t i, uintptr_t pc, ElfSymbol* symbol);

  // Gives back the pages of symbol names that FunctionAt read (the names
  // were copied by then): ElfSymbolTable::ReleaseNamePages for every object
  // whose names were read since the last call.
  void ReleaseSymbolNamePages();

  // Our memory (symbol tables included, not the file pages they map).
  size_t bytes_mapped() const { return objects_.bytes_mapped() + segments_.bytes_mapped() + arena_.bytes_mapped(); }

 private:
  static int AddObject(dl_phdr_info* info, size_t, void* self);
  bool Known(uintptr_t load_bias, const char* path) const;

  const char* main_program_path_ = "";
  unsigned long long loads_seen_ = 0;  // dlpi_adds at the last refresh (0: never)
  bool refreshing_ = false;
  StringTable* strings_ = nullptr;
  PageVector<LoadedObject> objects_;
  PageVector<LoadedSegment> segments_;
  InternalArena arena_;  // paths, build IDs, symbol tables
};

}  // namespace heapwatch

#endif  // HEAPWATCH_PRELOAD_LOADED_OBJECTS_H_
