// Looking up a mapping in /proc/self/maps without allocating: glibc's
// readers of that file (pthread_getattr_np, for one) go through stdio,
// whose buffers come from the malloc we serve, and any allocation of ours
// made through the program's allocator changes where its own blocks land.

#ifndef HEAPWATCH_PRELOAD_MEMORY_MAP_H_
#define HEAPWATCH_PRELOAD_MEMORY_MAP_H_

#include <cstdint>

namespace heapwatch {

struct MappingRange {
  uintptr_t start = 0;          // [start, end) of the mapping
  uintptr_t end = 0;
  uintptr_t previous_end = 0;   // end of the mapping below it (0 if none)
};

// The mapping of this process containing `address`. False when there is
// none or the file cannot be read.
bool FindMapping(uintptr_t address, MappingRange* found);

// The same over the text of a maps file read from `fd` (for tests).
bool FindMappingIn(int fd, uintptr_t address, MappingRange* found);

}  // namespace heapwatch

#endif  // HEAPWATCH_PRELOAD_MEMORY_MAP_H_
