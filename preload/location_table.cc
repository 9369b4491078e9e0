#include "preload/location_table.h"

#include <cstring>

#include "preload/demangle.h"

namespace heapwatch {
namespace {

// Room for a symbol name: C++ names run long; longer ones are cut.
constexpr size_t kNameBytes = 1024;

}  // namespace

bool ResolveFromSymbolTable(LoadedObjects& objects, uint32_t object, uintptr_t pc, uint64_t* start, char* name,
                            char* system_name, size_t name_size) {
  ElfSymbol symbol;
  if (!objects.FunctionAt(object, pc, &symbol)) return false;
  *start = symbol.start;
  size_t length = symbol.name_length < name_size ? symbol.name_length : name_size - 1;
  std::memcpy(system_name, symbol.name, length);
  system_name[length] = '\0';
  FunctionDisplayName(symbol.name, symbol.name_length, name, name_size);
  return true;
}

void LocationTable::Init(LoadedObjects* objects, StringTable* strings, FunctionResolver resolver) {
  objects_ = objects;
  strings_ = strings;
  resolver_ = resolver;
}

uint32_t LocationTable::ResolveFunction(int segment, uintptr_t pc) {
  if (segment < 0 || resolver_ == nullptr) return 0;
  uint32_t object_index = objects_->segment(segment).object;
  uint64_t start = 0;
  char name[kNameBytes], system_name[kNameBytes];
  if (!resolver_(*objects_, object_index, pc, &start, name, system_name, kNameBytes)) return 0;
  objects_->MarkHasFunctions(object_index);
  uint64_t key[2] = {object_index, start};
  uint64_t hash = HashWords(key, 2);
  uint32_t found = function_index_.Find(hash, [&](uint32_t id) {
    return functions_[id - 1].object == object_index && functions_[id - 1].start == start;
  });
  if (found != 0) return found;
  FunctionEntry entry = {.object = object_index,
                         .start = start,
                         .name = strings_->Intern(name),
                         .system_name = strings_->Intern(system_name)};
  if (!functions_.PushBack(entry)) return 0;
  uint32_t id = static_cast<uint32_t>(functions_.size());
  if (!function_index_.Insert(hash, id)) {
    functions_.Resize(id - 1);
    return 0;
  }
  return id;
}

uint32_t LocationTable::Intern(uintptr_t pc) {
  uint64_t hash = HashWords(reinterpret_cast<const uint64_t*>(&pc), 1);
  uint32_t found = location_index_.Find(hash, [&](uint32_t id) { return locations_[id - 1].address == pc; });
  if (found != 0) return found;
  int segment = objects_->FindSegment(pc);
  if (segment < 0) {
    objects_->Refresh();  // loaded since we last looked?
    segment = objects_->FindSegment(pc);
  }
  LocationEntry entry = {.address = pc, .mapping_id = static_cast<uint32_t>(segment + 1), .function_id = 0};
  if (!locations_.PushBack(entry)) return 0;
  uint32_t id = static_cast<uint32_t>(locations_.size());
  if (!location_index_.Insert(hash, id)) {
    locations_.Resize(id - 1);
    return 0;
  }
  return id;
}

void LocationTable::ResolvePending() {
  for (; resolved_ < locations_.size(); ++resolved_) {
    LocationEntry& entry = locations_[resolved_];
    entry.function_id = ResolveFunction(static_cast<int>(entry.mapping_id) - 1, entry.address);
  }
}

}  // namespace heapwatch
