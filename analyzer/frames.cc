#include "analyzer/frames.h"

#include <cinttypes>
#include <cstdio>

#include "absl/strings/str_format.h"
#include "preload/function_name.h"

namespace heapwatch {
namespace {

std::string BaseName(std::string_view path) {
  size_t slash = path.rfind('/');
  return std::string(slash == std::string_view::npos ? path : path.substr(slash + 1));
}

}  // namespace

std::string ShortFunctionName(std::string_view name) {
  // The short form is never longer than the name (function_name.h).
  std::string out(name.size() + 1, '\0');
  out.resize(ShortenFunctionName(name.data(), name.size(), out.data(), out.size()));
  return out;
}

std::vector<Frame> StackFrames(const Profile& profile, const Sample& sample) {
  std::vector<Frame> frames;
  frames.reserve(sample.locations.size());
  for (size_t location_index : sample.locations) {
    const Location& location = profile.locations[location_index];
    const Mapping* mapping = location.mapping ? &profile.mappings[*location.mapping] : nullptr;
    std::string object = mapping ? BaseName(mapping->filename) : std::string();
    bool named = false;
    for (const Line& line : location.lines) {
      const Function& function = profile.functions[line.function];
      const std::string& name = function.name.empty() ? function.system_name : function.name;
      if (name.empty()) continue;
      frames.push_back({ShortFunctionName(name), object});
      named = true;
    }
    if (named) continue;
    if (mapping && !object.empty() && location.address >= mapping->memory_start) {
      uint64_t offset = location.address - mapping->memory_start + mapping->file_offset;
      frames.push_back({absl::StrFormat("%s+0x%x", object, offset), object});
    } else {
      frames.push_back({absl::StrFormat("0x%x", location.address), object});
    }
  }
  return frames;
}

bool IsAllocatorFrame(const Frame& frame) {
  // Runtime libraries: whatever runs inside them on the way to the heap.
  static constexpr std::string_view kRuntimeObjects[] = {
      "libc.so",    "libc-",      "libstdc++.so", "libc++.so",       "libc++abi.so", "libgcc_s.so",
      "ld-linux",   "libpthread", "libm.so",      "libheapwatch.so", "libjemalloc",  "libtcmalloc",
      "libunwind.so"};
  for (std::string_view prefix : kRuntimeObjects) {
    if (frame.object.starts_with(prefix)) return true;
  }
  const std::string& name = frame.name;
  static constexpr std::string_view kPlumbingPrefixes[] = {
      "operator new", "operator delete", "std::", "__gnu_cxx::", "__cxxabiv1::", "__cxa_", "heapwatch::",
      "heapwatch_",   "runtime.",        "__libc_", "_IO_",      "__GI_",        "_int_",  "__strdup",
      "__fopen",      "__vasprintf",     "__posix_memalign"};
  for (std::string_view prefix : kPlumbingPrefixes) {
    if (name.starts_with(prefix)) return true;
  }
  // C library functions that allocate on the caller's behalf, for profiles
  // whose frames carry names but no mappings.
  static constexpr std::string_view kAllocatingFunctions[] = {
      "malloc",  "calloc", "realloc", "reallocarray", "free",     "memalign", "posix_memalign",
      "aligned_alloc", "valloc", "pvalloc", "strdup", "strndup", "fopen",  "fopen64", "fdopen",
      "open_memstream", "getline", "getdelim", "asprintf", "vasprintf"};
  for (std::string_view function : kAllocatingFunctions) {
    if (name == function) return true;
  }
  return false;
}

size_t FirstUserFrame(const std::vector<Frame>& frames) {
  for (size_t i = 0; i < frames.size(); ++i) {
    if (!IsAllocatorFrame(frames[i])) return i;
  }
  return 0;
}

}  // namespace heapwatch
