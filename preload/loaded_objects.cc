#include "preload/loaded_objects.h"

#include <elf.h>
#include <limits.h>
#include <link.h>
#include <stdlib.h>

#include <cstring>
#include <new>

#include "preload/elf_file.h"

namespace heapwatch {
namespace {

constexpr uintptr_t kPage = 4096;

}  // namespace

void LoadedObjects::Init(const char* main_program_path, StringTable* strings) {
  main_program_path_ = main_program_path;
  strings_ = strings;
}

bool LoadedObjects::Known(uintptr_t load_bias, const char* path) const {
  for (size_t i = objects_.size(); i-- > 0;) {
    if (objects_[i].load_bias == load_bias && std::strcmp(objects_[i].path, path) == 0) return true;
  }
  return false;
}

int LoadedObjects::AddObject(dl_phdr_info* info, size_t, void* context) {
  auto* self = static_cast<LoadedObjects*>(context);
  if (!self->refreshing_) {
    // First object of this walk: anything new since the last one?
    if (info->dlpi_adds == self->loads_seen_) return 1;
    self->loads_seen_ = info->dlpi_adds;
    self->refreshing_ = true;
  }
  const char* name = info->dlpi_name;
  char resolved[PATH_MAX];
  if (name == nullptr || name[0] == '\0') {
    // The first object is the program. Others without a name have no file.
    if (!self->objects_.empty()) return 0;
    name = self->main_program_path_;
  } else if (name[0] != '/') {
    // linux-vdso.so.1 has no file; relative paths come from a relative
    // LD_LIBRARY_PATH entry or dlopen("./x.so") and are resolved now.
    if (std::strchr(name, '/') == nullptr || realpath(name, resolved) == nullptr) return 0;
    name = resolved;
  }
  if (self->Known(info->dlpi_addr, name)) return 0;

  char build_id[kBuildIdHexCapacity];
  size_t build_id_length =
      BuildIdFromProgramHeaders(info->dlpi_addr, info->dlpi_phdr, info->dlpi_phnum, build_id, sizeof(build_id));
  size_t name_length = std::strlen(name);
  LoadedObject object = {
      .path = self->arena_.CopyString(name, name_length),
      .build_id = self->arena_.CopyString(build_id, build_id_length),
      .load_bias = info->dlpi_addr,
      .path_string = self->strings_->Intern(name, name_length),
      .build_id_string = self->strings_->Intern(build_id, build_id_length),
      .has_functions = false,
      .symbols_loaded = false,
      .names_read = false,
      .symbols = nullptr,
  };
  if (object.path == nullptr || object.build_id == nullptr || !self->objects_.PushBack(object)) {
    return 1;  // out of memory: stop
  }
  uint32_t index = static_cast<uint32_t>(self->objects_.size() - 1);
  for (int i = 0; i < info->dlpi_phnum; ++i) {
    const ElfW(Phdr)& phdr = info->dlpi_phdr[i];
    if (phdr.p_type != PT_LOAD || !(phdr.p_flags & PF_X)) continue;
    uintptr_t start = info->dlpi_addr + phdr.p_vaddr;
    // Page-aligned as /proc/self/maps shows it; the address-to-file-offset
    // arithmetic (address - start + file_offset) is the same either way.
    LoadedSegment segment = {
        .start = start & ~(kPage - 1),
        .limit = (start + phdr.p_memsz + kPage - 1) & ~(kPage - 1),
        .file_offset = phdr.p_offset & ~(uint64_t{kPage} - 1),
        .object = index,
    };
    if (!self->segments_.PushBack(segment)) return 1;
  }
  return 0;
}

void LoadedObjects::Refresh() {
  refreshing_ = false;
  dl_iterate_phdr(AddObject, this);
  refreshing_ = false;
}

bool LoadedObjects::FunctionAt(size_t i, uintptr_t pc, ElfSymbol* symbol) {
  LoadedObject& object = objects_[i];
  if (!object.symbols_loaded) {
    object.symbols_loaded = true;
    void* memory = arena_.Allocate(sizeof(ElfSymbolTable), alignof(ElfSymbolTable));
    if (memory == nullptr) return false;
    object.symbols = new (memory) ElfSymbolTable();
    object.symbols->Load(object.path, object.build_id, &arena_);
  }
  if (object.symbols == nullptr || object.symbols->Lookup(pc - object.load_bias, symbol) == nullptr) return false;
  object.names_read = true;
  return true;
}

void LoadedObjects::ReleaseSymbolNamePages() {
  for (size_t i = 0; i < objects_.size(); ++i) {
    LoadedObject& object = objects_[i];
    if (!object.names_read) continue;
    object.names_read = false;
    if (object.symbols != nullptr) object.symbols->ReleaseNamePages();
  }
}

int LoadedObjects::FindSegment(uintptr_t pc) const {
  for (size_t i = segments_.size(); i-- > 0;) {
    if (pc >= segments_[i].start && pc < segments_[i].limit) return static_cast<int>(i);
  }
  return -1;
}

}  // namespace heapwatch
