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

#include "preload/internal_arena.h"
#include "preload/page_vector.h"
#include "preload/string_table.h"

namespace heapwatch {

struct LoadedObject {
  const char* path;       // absolute
  uintptr_t load_bias;    // runtime address minus link-time address
  uint32_t path_string;   // indices into the StringTable
  uint32_t build_id_string;
  bool has_functions;     // some frame in it was named from its symbols
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

  size_t bytes_mapped() const { return objects_.bytes_mapped() + segments_.bytes_mapped() + paths_.bytes_mapped(); }

 private:
  static int AddObject(dl_phdr_info* info, size_t, void* self);
  bool Known(uintptr_t load_bias, const char* path) const;

  const char* main_program_path_ = "";
  unsigned long long loads_seen_ = 0;  // dlpi_adds at the last refresh (0: never)
  bool refreshing_ = false;
  StringTable* strings_ = nullptr;
  PageVector<LoadedObject> objects_;
  PageVector<LoadedSegment> segments_;
  InternalArena paths_;
};

// The GNU build ID of the object whose program headers are `phdrs` (loaded
// at `load_bias`), as lowercase hex into `out` (at least 2 * 20 + 1 bytes
// for SHA-1 IDs; longer IDs are cut to fit). Returns the length, 0 if none.
size_t ReadBuildIdFromMemory(const void* phdrs, int phdr_count, uintptr_t load_bias, char* out,
                             size_t out_size);

}  // namespace heapwatch

#endif  // HEAPWATCH_PRELOAD_LOADED_OBJECTS_H_
