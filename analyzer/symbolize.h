// Filling in source files, line numbers and inlined frames from DWARF.
//
// The preload records runtime addresses, the executable segments they fall in
// (Mapping: start, limit, file offset, path, GNU build ID) and at most the
// ELF symbol name of each frame. Symbolize() adds what the binaries' DWARF
// knows: for every location, the chain of frames inlined at that address
// (innermost first, the outermost caller last, as profile.proto orders
// Location.line), each with its function, source file and line. A profile so
// filled shows file:line in `go tool pprof` and upstream pprof with no
// binaries present (pprof cannot symbolize C/C++ shared libraries itself).
//
// Finding a mapping's binary, in order: in each --binary-path directory
// pprof's layouts (as with PPROF_BINARY_PATH: <dir>/<build-id>/<base name>,
// <dir>/<build-id>/*, <dir><path>/<build-id>, <dir>/<base name>, <dir><path>),
// the mapping's own path, any file directly in a --binary-path directory with
// the mapping's build ID, then <debug root>/.build-id/xx/yyyy{,.debug}. When
// the profile has a build ID, a file with another (or none) is refused.
// Separate debug info is looked up by build ID (<root>/.build-id/xx/yyyy.debug,
// also under each binary-path directory) and by .gnu_debuglink (next to the
// binary, in its .debug/ subdirectory, and under <root> followed by the
// binary's directory), checked by build ID or else by the link's CRC-32.
// Nothing is fetched from the network.
//
// Not fatal, reported per mapping: a binary that cannot be found, a build-ID
// mismatch, missing debug info. Such a mapping keeps what it had (the
// preload's symbol-table names are never dropped), or gets symbol-table names
// when it had none. Locations that already carry file and line (a Go
// profile's, say) are left alone, and so are mappings whose has_functions,
// has_filenames and has_line_numbers are all set, unless `force`: so
// symbolizing twice changes nothing.
//
// Function entries are shared across locations (keyed by name, system name,
// file and start line, as pprof does); those no location refers to any more
// are dropped, and function ids are renumbered densely from 1 when anything
// changed.

#ifndef HEAPWATCH_ANALYZER_SYMBOLIZE_H_
#define HEAPWATCH_ANALYZER_SYMBOLIZE_H_

#include <cstddef>
#include <string>
#include <vector>

#include "analyzer/profile.h"

namespace heapwatch {

struct SymbolizeOptions {
  // Directories searched for binaries before a mapping's own path (pprof's
  // PPROF_BINARY_PATH; the layouts are listed above).
  std::vector<std::string> binary_path;
  // Roots of separate debug info trees (.build-id/ and mirrored paths).
  std::vector<std::string> debug_roots = {"/usr/lib/debug"};
  // Re-symbolize mappings and locations that already carry files and lines.
  bool force = false;
};

struct SymbolizeReport {
  // One line per mapping that could not be fully symbolized, starting with
  // the mapping's path ("/usr/lib/libfoo.so: not found (...)").
  std::vector<std::string> warnings;
  // Mappings whose binary was found and read (with or without DWARF).
  size_t mappings_symbolized = 0;
  // Locations that got frames from DWARF or from the symbol table.
  size_t locations_symbolized = 0;
};

// Symbolizes `profile` in place. Never fails as a whole: whatever cannot be
// done is in the report's warnings.
SymbolizeReport Symbolize(Profile& profile, const SymbolizeOptions& options);

}  // namespace heapwatch

#endif  // HEAPWATCH_ANALYZER_SYMBOLIZE_H_
