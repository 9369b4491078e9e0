#include "preload/elf_file.h"

#include <elf.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>

namespace heapwatch {
namespace {

#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
constexpr unsigned char kNativeData = ELFDATA2LSB;
#else
constexpr unsigned char kNativeData = ELFDATA2MSB;
#endif
#if __SIZEOF_POINTER__ == 8
constexpr unsigned char kNativeClass = ELFCLASS64;
#else
constexpr unsigned char kNativeClass = ELFCLASS32;
#endif

// [offset, offset + length) lies inside [0, size), without overflow.
bool InRange(uint64_t offset, uint64_t length, uint64_t size) {
  return offset <= size && length <= size - offset;
}

bool Aligned(uint64_t offset, size_t alignment) { return offset % alignment == 0; }

// Note records: a header, the name padded to `alignment`, the descriptor
// padded to `alignment`. Alignment is 4, or 8 in segments/sections aligned
// so (the ELF gABI's rule, followed by GNU property notes).
bool FindBuildIdNote(const uint8_t* notes, size_t size, size_t alignment, const uint8_t** id,
                     size_t* id_size) {
  static constexpr char kGnu[] = "GNU";  // with its NUL, as n_namesz counts it
  alignment = alignment == 8 ? 8 : 4;
  size_t offset = 0;
  while (InRange(offset, sizeof(ElfW(Nhdr)), size)) {
    ElfW(Nhdr) note;
    std::memcpy(&note, notes + offset, sizeof(note));  // may be unaligned in a hostile file
    uint64_t name_at = offset + sizeof(note);
    uint64_t name_size = (uint64_t{note.n_namesz} + alignment - 1) / alignment * alignment;
    uint64_t desc_at = name_at + name_size;
    uint64_t desc_size = (uint64_t{note.n_descsz} + alignment - 1) / alignment * alignment;
    if (!InRange(name_at, name_size, size) || !InRange(desc_at, note.n_descsz, size)) return false;
    if (note.n_type == NT_GNU_BUILD_ID && note.n_namesz == sizeof(kGnu) &&
        std::memcmp(notes + name_at, kGnu, sizeof(kGnu)) == 0 && note.n_descsz > 0) {
      *id = notes + desc_at;
      *id_size = note.n_descsz;
      return true;
    }
    offset = desc_at + desc_size;
  }
  return false;
}

size_t WriteHex(const uint8_t* bytes, size_t count, char* hex, size_t hex_size) {
  static constexpr char kDigits[] = "0123456789abcdef";
  if (hex_size == 0) return 0;
  if (2 * count + 1 > hex_size) {
    hex[0] = '\0';
    return 0;
  }
  for (size_t i = 0; i < count; ++i) {
    hex[2 * i] = kDigits[bytes[i] >> 4];
    hex[2 * i + 1] = kDigits[bytes[i] & 0xf];
  }
  hex[2 * count] = '\0';
  return 2 * count;
}

}  // namespace

bool ElfFile::Open(const char* path) {
  Close();
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  struct stat status;
  if (fstat(fd, &status) != 0 || !S_ISREG(status.st_mode) ||
      static_cast<uint64_t>(status.st_size) < sizeof(ElfW(Ehdr))) {
    close(fd);
    return false;
  }
  size_t size = static_cast<size_t>(status.st_size);
  void* map = mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
  close(fd);  // the mapping keeps the file
  if (map == MAP_FAILED) return false;
  data_ = static_cast<const uint8_t*>(map);
  size_ = size;

  const ElfW(Ehdr)* ehdr = header();
  if (std::memcmp(ehdr->e_ident, ELFMAG, SELFMAG) != 0 || ehdr->e_ident[EI_CLASS] != kNativeClass ||
      ehdr->e_ident[EI_DATA] != kNativeData || (ehdr->e_type != ET_EXEC && ehdr->e_type != ET_DYN)) {
    Close();
    return false;
  }
  // Section headers are optional (sstrip removes them); without sane ones
  // the file simply has no sections.
  if (ehdr->e_shoff != 0 && ehdr->e_shentsize == sizeof(ElfW(Shdr)) &&
      Aligned(ehdr->e_shoff, alignof(ElfW(Shdr))) && InRange(ehdr->e_shoff, sizeof(ElfW(Shdr)), size_)) {
    const ElfW(Shdr)* sections = reinterpret_cast<const ElfW(Shdr)*>(data_ + ehdr->e_shoff);
    // With 0xff00 or more sections, e_shnum is 0 and section 0 holds the count.
    uint64_t count = ehdr->e_shnum != 0 ? ehdr->e_shnum : sections[0].sh_size;
    if (count <= (size_ - ehdr->e_shoff) / sizeof(ElfW(Shdr))) {
      sections_ = sections;
      section_count_ = static_cast<size_t>(count);
    }
  }
  return true;
}

void ElfFile::Close() {
  if (data_ != nullptr) munmap(const_cast<uint8_t*>(data_), size_);
  data_ = nullptr;
  size_ = 0;
  sections_ = nullptr;
  section_count_ = 0;
}

void ElfFile::ReleaseMapping(void** base, size_t* length) {
  *base = const_cast<uint8_t*>(data_);
  *length = size_;
  data_ = nullptr;
  Close();
}

const ElfW(Shdr)* ElfFile::section(size_t index) const {
  return index < section_count_ ? &sections_[index] : nullptr;
}

const uint8_t* ElfFile::SectionData(const ElfW(Shdr)& section) const {
  if (section.sh_type == SHT_NOBITS || (section.sh_flags & SHF_COMPRESSED) != 0) return nullptr;
  if (!InRange(section.sh_offset, section.sh_size, size_)) return nullptr;
  return data_ + section.sh_offset;
}

size_t ElfFile::BuildId(char* hex, size_t hex_size) const {
  if (hex_size > 0) hex[0] = '\0';
  if (data_ == nullptr) return 0;
  const uint8_t* id = nullptr;
  size_t id_size = 0;
  for (size_t i = 0; i < section_count_; ++i) {
    const ElfW(Shdr)& note = sections_[i];
    if (note.sh_type != SHT_NOTE) continue;
    const uint8_t* bytes = SectionData(note);
    if (bytes != nullptr && FindBuildIdNote(bytes, note.sh_size, note.sh_addralign, &id, &id_size)) {
      return WriteHex(id, id_size, hex, hex_size);
    }
  }
  // No section headers (or no note sections): the PT_NOTE segments.
  const ElfW(Ehdr)* ehdr = header();
  if (ehdr->e_phentsize != sizeof(ElfW(Phdr)) || !Aligned(ehdr->e_phoff, alignof(ElfW(Phdr))) ||
      !InRange(ehdr->e_phoff, uint64_t{ehdr->e_phnum} * sizeof(ElfW(Phdr)), size_)) {
    return 0;
  }
  const ElfW(Phdr)* segments = reinterpret_cast<const ElfW(Phdr)*>(data_ + ehdr->e_phoff);
  for (size_t i = 0; i < ehdr->e_phnum; ++i) {
    const ElfW(Phdr)& note = segments[i];
    if (note.p_type != PT_NOTE || !InRange(note.p_offset, note.p_filesz, size_)) continue;
    if (FindBuildIdNote(data_ + note.p_offset, note.p_filesz, note.p_align, &id, &id_size)) {
      return WriteHex(id, id_size, hex, hex_size);
    }
  }
  return 0;
}

size_t BuildIdFromProgramHeaders(ElfW(Addr) load_bias, const ElfW(Phdr)* headers, size_t count, char* hex,
                                 size_t hex_size) {
  if (hex_size > 0) hex[0] = '\0';
  for (size_t i = 0; i < count; ++i) {
    const ElfW(Phdr)& note = headers[i];
    if (note.p_type != PT_NOTE) continue;
    // The loader mapped this segment: it lies inside a PT_LOAD.
    const uint8_t* bytes = reinterpret_cast<const uint8_t*>(load_bias + note.p_vaddr);
    const uint8_t* id = nullptr;
    size_t id_size = 0;
    if (FindBuildIdNote(bytes, note.p_memsz, note.p_align, &id, &id_size))
      return WriteHex(id, id_size, hex, hex_size);
  }
  return 0;
}

size_t BuildIdFromFile(const char* path, char* hex, size_t hex_size) {
  if (hex_size > 0) hex[0] = '\0';
  ElfFile file;
  if (!file.Open(path)) return 0;
  return file.BuildId(hex, hex_size);
}

}  // namespace heapwatch
