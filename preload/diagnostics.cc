#include "preload/diagnostics.h"

#include <errno.h>
#include <unistd.h>

#include <atomic>
#include <cstdarg>
#include <cstdio>
#include <cstring>

namespace heapwatch {
namespace {

std::atomic<bool> g_quiet{false};

void WriteLine(const char* format, va_list args) {
  int saved_errno = errno;
  char line[1024];
  static constexpr char kPrefix[] = "heapwatch: ";
  size_t length = sizeof(kPrefix) - 1;
  std::memcpy(line, kPrefix, length);
  // vsnprintf with %s/%d/%zu/%lld formats does not allocate in glibc.
  int n = vsnprintf(line + length, sizeof(line) - length - 1, format, args);
  if (n > 0) length += (static_cast<size_t>(n) < sizeof(line) - length - 1) ? n : sizeof(line) - length - 2;
  line[length++] = '\n';
  for (size_t written = 0; written < length;) {
    ssize_t w = write(STDERR_FILENO, line + written, length - written);
    if (w > 0) {
      written += static_cast<size_t>(w);
    } else if (w < 0 && errno == EINTR) {
      continue;
    } else {
      break;  // stderr closed or full: nothing we can do
    }
  }
  errno = saved_errno;
}

}  // namespace

const char* ErrorText(int error) {
  const char* text = strerrordesc_np(error);
  return text != nullptr ? text : "unknown error";
}

void SetQuiet(bool quiet) { g_quiet.store(quiet, std::memory_order_relaxed); }

void Warn(const char* format, ...) {
  if (g_quiet.load(std::memory_order_relaxed)) return;
  va_list args;
  va_start(args, format);
  WriteLine(format, args);
  va_end(args);
}

void WarnAlways(const char* format, ...) {
  va_list args;
  va_start(args, format);
  WriteLine(format, args);
  va_end(args);
}

}  // namespace heapwatch
