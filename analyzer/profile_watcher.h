// Watching an output directory while `heapwatch run` waits for its program:
// which heap profiles appeared since the run began, each symbolized once, as
// it lands, outside the profiled process.
//
// Files already in the directory when the run began are never touched, nor
// counted as the run's. The preload renames a profile into place complete,
// so a name that is there is a whole file; symbolizing writes it back the
// same way.

#ifndef HEAPWATCH_ANALYZER_PROFILE_WATCHER_H_
#define HEAPWATCH_ANALYZER_PROFILE_WATCHER_H_

#include <set>
#include <string>
#include <vector>

#include "analyzer/symbolize.h"

namespace heapwatch {

class ProfileWatcher {
 public:
  // Remembers what `directory` holds now (it may not exist yet).
  ProfileWatcher(std::string directory, bool symbolize);

  // Finds profiles that appeared since the last call and symbolizes them.
  void Poll();

  // Profiles this run produced, sorted by name.
  const std::vector<std::string>& produced() const { return produced_; }

  // Distinct symbolization warnings (one per mapping), for -v.
  const std::set<std::string>& warnings() const { return warnings_; }

 private:
  std::string directory_;
  bool symbolize_;
  std::set<std::string> before_;  // file names present when the run began
  std::set<std::string> seen_;
  std::vector<std::string> produced_;
  std::set<std::string> warnings_;
  SymbolizeOptions options_;
};

}  // namespace heapwatch

#endif  // HEAPWATCH_ANALYZER_PROFILE_WATCHER_H_
