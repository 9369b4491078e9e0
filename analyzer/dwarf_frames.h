// The source frames at an address of one binary, from its DWARF (through
// elfutils' libdwfl) or failing that its symbol table: what Symbolize
// (symbolize.h) writes into a profile's Function and Line records.
//
// Addresses here are ELF virtual addresses (as in the file's program headers
// and symbol table), not runtime addresses: the caller translates through the
// mapping and the PT_LOAD segments first.
//
// Not thread safe (libdw caches, and so do we).
//
// Implementation details: finding the functions around an address with
// dwarf_getscopes walks the compile unit's whole DIE tree on every call,
// which took ~3 ms per address on a gtest binary. Instead each compile unit
// that is asked about is walked once into an index of its subprograms (with
// their inlined instances nested inside) and of the scopes that qualify
// names.

#ifndef HEAPWATCH_ANALYZER_DWARF_FRAMES_H_
#define HEAPWATCH_ANALYZER_DWARF_FRAMES_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace heapwatch {

class ElfLocator;

// One frame of an address's inline chain.
struct SourceFrame {
  std::string name;         // demangled and shortened, as pprof shows it (ShortFunctionName)
  std::string system_name;  // the linkage (mangled) name when there is one, else `name`
  std::string filename;     // absolute when DWARF gives a compilation directory
  int64_t start_line = 0;   // the function's declaration line, if declared in `filename`
  int64_t line = 0;
  int64_t column = 0;
};

class DwarfFrames {
 public:
  // Opens the ELF file at `path`, whose GNU build ID is `build_id` (lower-case
  // hex, or ""), finding separate debug info through `locator`, which must
  // outlive this. Null with *error set when libdwfl cannot read the file.
  static std::unique_ptr<DwarfFrames> Open(const std::string& path, const std::string& build_id,
                                           ElfLocator* locator, std::string* error);
  ~DwarfFrames();
  DwarfFrames(const DwarfFrames&) = delete;
  DwarfFrames& operator=(const DwarfFrames&) = delete;

  // True when the binary or a separate debug file has DWARF.
  bool has_dwarf() const;

  // The inline chain at `vaddr`, innermost first, the function containing
  // the code last; empty when no DWARF covers the address.
  std::vector<SourceFrame> Frames(uint64_t vaddr);

  // The symbol-table function holding `vaddr` (no file or line).
  std::optional<SourceFrame> SymbolFrame(uint64_t vaddr);

 private:
  class Impl;
  explicit DwarfFrames(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace heapwatch

#endif  // HEAPWATCH_ANALYZER_DWARF_FRAMES_H_
