#include "preload/memory_map.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

namespace heapwatch {
namespace {

// Parses hex digits at *p, advancing it; false if there are none.
bool ParseHex(const char** p, const char* end, uintptr_t* value) {
  uintptr_t v = 0;
  const char* s = *p;
  for (; s < end; ++s) {
    int digit = *s >= '0' && *s <= '9' ? *s - '0' : *s >= 'a' && *s <= 'f' ? *s - 'a' + 10 : -1;
    if (digit < 0) break;
    v = v << 4 | static_cast<uintptr_t>(digit);
  }
  if (s == *p) return false;
  *p = s;
  *value = v;
  return true;
}

}  // namespace

bool FindMappingIn(int fd, uintptr_t address, MappingRange* found) {
  // Only each line's "start-end" prefix matters; the rest of a line (a path
  // may be long) is skipped as it streams by.
  char buffer[4096];
  char line[64];  // the current line's first bytes
  size_t line_length = 0;
  uintptr_t previous_end = 0;
  for (;;) {
    ssize_t n = read(fd, buffer, sizeof(buffer));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    for (ssize_t i = 0; i < n; ++i) {
      char c = buffer[i];
      if (c != '\n') {
        if (line_length < sizeof(line)) line[line_length++] = c;
        continue;
      }
      const char* p = line;
      const char* end = line + line_length;
      uintptr_t start, stop;
      if (ParseHex(&p, end, &start) && p < end && *p++ == '-' && ParseHex(&p, end, &stop) && start < stop) {
        if (address >= start && address < stop) {
          *found = {.start = start, .end = stop, .previous_end = previous_end};
          return true;
        }
        previous_end = stop;
      }
      line_length = 0;
    }
  }
}

bool FindMapping(uintptr_t address, MappingRange* found) {
  int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  bool ok = FindMappingIn(fd, address, found);
  close(fd);
  return ok;
}

}  // namespace heapwatch
