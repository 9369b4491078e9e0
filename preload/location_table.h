// Frame addresses seen in sampled stacks, as pprof Locations, and the
// Functions they resolve to. Collector-owned; ids count from 1 and never
// change, so every profile of the process uses the same ids.
//
// A location's mapping is found when it is first seen, while its object is
// surely loaded; its function is named later, by ResolvePending, when a
// profile is written or before a library is unloaded (our dlclose hook):
// naming reads the objects' symbol tables, and a program that never asks
// for a profile before it exits should not hold them (nor our code that
// reads them) in memory while it runs.

#ifndef HEAPWATCH_PRELOAD_LOCATION_TABLE_H_
#define HEAPWATCH_PRELOAD_LOCATION_TABLE_H_

#include <cstdint>

#include "preload/hash_index.h"
#include "preload/loaded_objects.h"
#include "preload/page_vector.h"
#include "preload/string_table.h"

namespace heapwatch {

struct LocationEntry {
  uintptr_t address;     // inside the call instruction
  uint32_t mapping_id;   // segment index + 1; 0 when outside every known object
  uint32_t function_id;  // 0 when no symbol covers the address
};

struct FunctionEntry {
  uint32_t object;       // index in LoadedObjects
  uint64_t start;        // the symbol's link-time address: with object, the key
  uint32_t name;         // string indices
  uint32_t system_name;
};

// Finds the function containing a frame of object `object`. Returns false
// when there is none; else sets the symbol's link-time start and its names
// (as pprof shows it, and as in the symbol table), each at most `name_size`
// bytes with the NUL.
using FunctionResolver = bool (*)(LoadedObjects& objects, uint32_t object, uintptr_t pc, uint64_t* start,
                                  char* name, char* system_name, size_t name_size);

// The resolver of the real collector: the object's ELF symbols, demangled.
bool ResolveFromSymbolTable(LoadedObjects& objects, uint32_t object, uintptr_t pc, uint64_t* start, char* name,
                            char* system_name, size_t name_size);

class LocationTable {
 public:
  void Init(LoadedObjects* objects, StringTable* strings, FunctionResolver resolver);

  // The id of the location at `pc`, interning it if new; 0 when out of
  // memory. Its function is named by the next ResolvePending.
  uint32_t Intern(uintptr_t pc);

  // Names the functions of the locations interned since the last call.
  void ResolvePending();
  bool has_pending() const { return resolved_ < locations_.size(); }

  size_t size() const { return locations_.size(); }
  // function_id is only meaningful once has_pending() is false.
  const LocationEntry& location(uint32_t id) const { return locations_[id - 1]; }
  size_t function_count() const { return functions_.size(); }
  const FunctionEntry& function(uint32_t id) const { return functions_[id - 1]; }

  size_t bytes_mapped() const {
    return locations_.bytes_mapped() + functions_.bytes_mapped() + location_index_.bytes_mapped() +
           function_index_.bytes_mapped();
  }

 private:
  uint32_t ResolveFunction(int segment, uintptr_t pc);

  LoadedObjects* objects_ = nullptr;
  StringTable* strings_ = nullptr;
  FunctionResolver resolver_ = nullptr;
  PageVector<LocationEntry> locations_;
  size_t resolved_ = 0;  // locations_[0, resolved_) have been named
  PageVector<FunctionEntry> functions_;
  HashIndex location_index_;
  HashIndex function_index_;
};

}  // namespace heapwatch

#endif  // HEAPWATCH_PRELOAD_LOCATION_TABLE_H_
