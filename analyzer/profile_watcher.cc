#include "analyzer/profile_watcher.h"

#include <algorithm>
#include <filesystem>
#include <system_error>

#include "analyzer/profile_codec.h"

namespace heapwatch {
namespace {

namespace fs = std::filesystem;

std::set<std::string> HeapProfileNames(const std::string& directory) {
  std::set<std::string> names;
  std::error_code ec;
  for (fs::directory_iterator it(directory, ec), end; !ec && it != end; it.increment(ec)) {
    std::string name = it->path().filename().string();
    // heap.<pid>.<seq|exit>.pb.gz; ".heap...tmp.<pid>" files are in flight.
    if (name.starts_with("heap.") && name.ends_with(".pb.gz")) names.insert(name);
  }
  return names;
}

}  // namespace

ProfileWatcher::ProfileWatcher(std::string directory, bool symbolize)
    : directory_(std::move(directory)), symbolize_(symbolize), before_(HeapProfileNames(directory_)) {}

void ProfileWatcher::Poll() {
  for (const std::string& name : HeapProfileNames(directory_)) {
    if (before_.count(name) || !seen_.insert(name).second) continue;
    std::string path = directory_ + "/" + name;
    produced_.push_back(path);
    if (!symbolize_) continue;
    absl::StatusOr<Profile> profile = ReadProfileFile(path);
    if (!profile.ok()) {
      warnings_.insert(std::string(profile.status().message()));
      continue;
    }
    SymbolizeReport report = Symbolize(*profile, options_);
    warnings_.insert(report.warnings.begin(), report.warnings.end());
    if (report.locations_symbolized == 0) continue;  // nothing new: leave the file as it is
    if (absl::Status written = WriteProfileFile(*profile, path); !written.ok()) {
      warnings_.insert(std::string(written.message()));
    }
  }
  std::sort(produced_.begin(), produced_.end());
}

}  // namespace heapwatch
