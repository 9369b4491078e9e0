// Finding libheapwatch.so relative to the heapwatch command: ../lib/ in the
// build tree (build/bin/heapwatch, build/lib/libheapwatch.so) and after
// `cmake --install` into a prefix using lib/, or ../<libdir>/ for prefixes
// whose library directory is named otherwise (e.g. lib/x86_64-linux-gnu).

#ifndef HEAPWATCH_ANALYZER_PRELOAD_LIBRARY_H_
#define HEAPWATCH_ANALYZER_PRELOAD_LIBRARY_H_

#include <string>

namespace heapwatch {

// The absolute path of the library, or "" if it is in none of the places.
std::string FindPreloadLibrary();

// The places looked in, for error messages.
std::string PreloadLibrarySearchPath();

}  // namespace heapwatch

#endif  // HEAPWATCH_ANALYZER_PRELOAD_LIBRARY_H_
