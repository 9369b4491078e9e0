#include "analyzer/preload_library.h"

#include <limits.h>
#include <stdlib.h>
#include <unistd.h>

#include <vector>

namespace heapwatch {
namespace {

std::vector<std::string> Candidates() {
  char self[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
  if (n <= 0) return {};
  self[n] = '\0';
  std::string dir(self);
  dir.erase(dir.rfind('/'));
  std::vector<std::string> candidates = {dir + "/../lib/libheapwatch.so"};
  std::string libdir = HEAPWATCH_INSTALL_LIBDIR;
  if (libdir != "lib") candidates.push_back(dir + "/../" + libdir + "/libheapwatch.so");
  return candidates;
}

}  // namespace

std::string FindPreloadLibrary() {
  for (const std::string& candidate : Candidates()) {
    char resolved[PATH_MAX];
    if (access(candidate.c_str(), R_OK) == 0 && realpath(candidate.c_str(), resolved) != nullptr) return resolved;
  }
  return "";
}

std::string PreloadLibrarySearchPath() {
  std::string joined;
  for (const std::string& candidate : Candidates()) joined += (joined.empty() ? "" : ", ") + candidate;
  return joined;
}

}  // namespace heapwatch
