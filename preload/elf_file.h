// A read-only, bounds-checked view of an ELF file, and GNU build IDs.
//
// For the preload's collector thread, inside the target process: it opens a
// file with open + fstat + mmap (no stdio, no malloc) and hands out only
// headers and section contents that lie inside the file, so a truncated,
// corrupt or hostile file reads as "nothing there", never as a crash.
// Only the native format is accepted (64-bit, host byte order, ET_EXEC or
// ET_DYN): the objects a process can load.
//
// Not for files that may be truncated in place while mapped: a page past the
// new end of file faults (SIGBUS). Package managers and linkers replace files
// by rename, which leaves the mapped inode intact; a file truncated in place
// under a running program would crash that program's own code pages too.
//
// Build IDs are returned as lowercase hex (the form of
// /usr/lib/debug/.build-id/xx/yyyy.debug and of pprof's Mapping.build_id).

#ifndef HEAPWATCH_PRELOAD_ELF_FILE_H_
#define HEAPWATCH_PRELOAD_ELF_FILE_H_

#include <link.h>

#include <cstddef>
#include <cstdint>

namespace heapwatch {

// Room for the hex form of a build ID of up to 64 bytes and its NUL. GNU ld
// writes 20 (sha1) or 16 (md5/uuid) bytes; longer notes are not build IDs
// anyone uses, and are reported as "no build ID".
inline constexpr size_t kBuildIdHexCapacity = 2 * 64 + 1;

class ElfFile {
 public:
  ElfFile() = default;
  ElfFile(const ElfFile&) = delete;
  ElfFile& operator=(const ElfFile&) = delete;
  ~ElfFile() { Close(); }

  // Maps `path` read-only. False (and nothing mapped) if it is not a regular,
  // non-empty native ELF file of type ET_EXEC or ET_DYN.
  bool Open(const char* path);
  void Close();

  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }

  // Section headers; 0 when the file has none or they lie outside the file.
  size_t section_count() const { return section_count_; }
  // nullptr when `index` is out of range.
  const ElfW(Shdr)* section(size_t index) const;
  // The section's bytes; nullptr when it has none in the file (SHT_NOBITS,
  // compressed) or they lie outside the file.
  const uint8_t* SectionData(const ElfW(Shdr)& section) const;

  // The GNU build ID from the note sections, else the PT_NOTE segments.
  // Writes NUL-terminated hex and returns its length (0: none).
  size_t BuildId(char* hex, size_t hex_size) const;

  // Hands the mapping to the caller (to keep part of it, e.g. a string
  // table); the caller munmaps `*length` bytes from `*base`.
  void ReleaseMapping(void** base, size_t* length);

 private:
  const ElfW(Ehdr)* header() const { return reinterpret_cast<const ElfW(Ehdr)*>(data_); }

  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
  const ElfW(Shdr)* sections_ = nullptr;
  size_t section_count_ = 0;
};

// The GNU build ID of a loaded object, from its program headers in memory
// (dl_iterate_phdr's dlpi_addr, dlpi_phdr, dlpi_phnum). Writes
// NUL-terminated hex and returns its length (0: none).
size_t BuildIdFromProgramHeaders(ElfW(Addr) load_bias, const ElfW(Phdr)* headers, size_t count, char* hex,
                                 size_t hex_size);

// The GNU build ID of the file at `path` (0: none or unreadable).
size_t BuildIdFromFile(const char* path, char* hex, size_t hex_size);

}  // namespace heapwatch

#endif  // HEAPWATCH_PRELOAD_ELF_FILE_H_
