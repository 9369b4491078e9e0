#include "preload/deepbind_patch.h"

#include <dlfcn.h>
#include <elf.h>
#include <sys/mman.h>

#include <cstdint>
#include <cstring>

namespace heapwatch {
namespace {

#if defined(__x86_64__)
constexpr uint32_t kJumpSlot = R_X86_64_JUMP_SLOT;
constexpr uint32_t kGlobDat = R_X86_64_GLOB_DAT;
constexpr uint32_t kAbsolute64 = R_X86_64_64;
#elif defined(__aarch64__)
constexpr uint32_t kJumpSlot = R_AARCH64_JUMP_SLOT;
constexpr uint32_t kGlobDat = R_AARCH64_GLOB_DAT;
constexpr uint32_t kAbsolute64 = R_AARCH64_ABS64;
#endif

constexpr uintptr_t kPage = 4096;

struct DynamicInfo {
  const ElfW(Sym)* symbols = nullptr;
  const char* strings = nullptr;
  size_t strings_size = 0;
  const ElfW(Rela)* plt_relocations = nullptr;
  size_t plt_relocations_size = 0;
  const ElfW(Rela)* relocations = nullptr;
  size_t relocations_size = 0;
  bool plt_is_rela = true;
};

bool ReadDynamic(const dl_phdr_info& info, const ElfW(Phdr)& dynamic, DynamicInfo* out) {
  // glibc rewrites the address entries of a loaded object's dynamic section
  // to absolute addresses; objects it does not relocate keep offsets.
  auto absolute = [&](ElfW(Addr) p) { return p < info.dlpi_addr ? p + info.dlpi_addr : p; };
  for (auto* d = reinterpret_cast<const ElfW(Dyn)*>(info.dlpi_addr + dynamic.p_vaddr); d->d_tag != DT_NULL; ++d) {
    switch (d->d_tag) {
      case DT_SYMTAB: out->symbols = reinterpret_cast<const ElfW(Sym)*>(absolute(d->d_un.d_ptr)); break;
      case DT_STRTAB: out->strings = reinterpret_cast<const char*>(absolute(d->d_un.d_ptr)); break;
      case DT_STRSZ: out->strings_size = d->d_un.d_val; break;
      case DT_JMPREL: out->plt_relocations = reinterpret_cast<const ElfW(Rela)*>(absolute(d->d_un.d_ptr)); break;
      case DT_PLTRELSZ: out->plt_relocations_size = d->d_un.d_val; break;
      case DT_PLTREL: out->plt_is_rela = d->d_un.d_val == DT_RELA; break;
      case DT_RELA: out->relocations = reinterpret_cast<const ElfW(Rela)*>(absolute(d->d_un.d_ptr)); break;
      case DT_RELASZ: out->relocations_size = d->d_un.d_val; break;
    }
  }
  return out->symbols != nullptr && out->strings != nullptr && out->plt_is_rela;
}

void WriteSlot(void** slot, void* value, uintptr_t relro_start, uintptr_t relro_end) {
  uintptr_t address = reinterpret_cast<uintptr_t>(slot);
  bool read_only = address >= relro_start && address < relro_end;
  uintptr_t page = address & ~(kPage - 1);
  if (read_only && mprotect(reinterpret_cast<void*>(page), kPage, PROT_READ | PROT_WRITE) != 0) return;
  __atomic_store_n(slot, value, __ATOMIC_RELEASE);
  if (read_only) mprotect(reinterpret_cast<void*>(page), kPage, PROT_READ);
}

}  // namespace

size_t RedirectGotSlots(const dl_phdr_info& info, const GotRedirect* redirects, size_t count) {
#if defined(__x86_64__) || defined(__aarch64__)
  const ElfW(Phdr)* dynamic = nullptr;
  uintptr_t object_start = UINTPTR_MAX, object_end = 0, relro_start = 0, relro_end = 0;
  for (int i = 0; i < info.dlpi_phnum; ++i) {
    const ElfW(Phdr)& phdr = info.dlpi_phdr[i];
    uintptr_t start = info.dlpi_addr + phdr.p_vaddr;
    if (phdr.p_type == PT_DYNAMIC) dynamic = &phdr;
    if (phdr.p_type == PT_GNU_RELRO) relro_start = start & ~(kPage - 1), relro_end = start + phdr.p_memsz;
    if (phdr.p_type == PT_LOAD) {
      if (start < object_start) object_start = start;
      if (start + phdr.p_memsz > object_end) object_end = start + phdr.p_memsz;
    }
  }
  DynamicInfo dyn;
  if (dynamic == nullptr || !ReadDynamic(info, *dynamic, &dyn)) return 0;
  size_t rewritten = 0;
  auto process = [&](const ElfW(Rela)* relocations, size_t bytes) {
    if (relocations == nullptr) return;
    for (size_t i = 0; i < bytes / sizeof(ElfW(Rela)); ++i) {
      const ElfW(Rela)& r = relocations[i];
      uint32_t type = ELF64_R_TYPE(r.r_info);
      if (type != kJumpSlot && type != kGlobDat && !(type == kAbsolute64 && r.r_addend == 0)) continue;
      const ElfW(Sym)& symbol = dyn.symbols[ELF64_R_SYM(r.r_info)];
      // An object that defines the function uses its own: leave it be.
      if (symbol.st_shndx != SHN_UNDEF || symbol.st_name >= dyn.strings_size) continue;
      const char* name = dyn.strings + symbol.st_name;
      for (size_t j = 0; j < count; ++j) {
        if (std::strcmp(name, redirects[j].name) != 0) continue;
        void** slot = reinterpret_cast<void**>(info.dlpi_addr + r.r_offset);
        uintptr_t current = reinterpret_cast<uintptr_t>(__atomic_load_n(slot, __ATOMIC_ACQUIRE));
        bool bound_past_us = redirects[j].next != nullptr && current == reinterpret_cast<uintptr_t>(redirects[j].next);
        bool lazy = type == kJumpSlot && current >= object_start && current < object_end;
        if (bound_past_us || lazy) {
          WriteSlot(slot, redirects[j].hook, relro_start, relro_end);
          ++rewritten;
        }
        break;
      }
    }
  };
  process(dyn.plt_relocations, dyn.plt_relocations_size);
  process(dyn.relocations, dyn.relocations_size);
  return rewritten;
#else
  (void)info, (void)redirects, (void)count;
  return 0;
#endif
}

}  // namespace heapwatch
