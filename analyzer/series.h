// Grouping profile files into one time series per process.
//
// heapwatch names its files heap.<pid>.<seq>.pb.gz (periodic) and
// heap.<pid>.exit.pb.gz (at exit). Files named otherwise are grouped by the
// profile's own fields (a "pid=" comment, else one series per file set given
// together). One pid can hold several process images (a program that
// exec()s keeps its pid; pids are reused): heapwatch's "run=" comment token
// splits them into separate series, in the order they ran. Within a series, periodic snapshots are ordered by time_nanos
// (then by sequence number); the exit profile is kept apart, because it
// answers "what was never freed", not "what grew".

#ifndef HEAPWATCH_ANALYZER_SERIES_H_
#define HEAPWATCH_ANALYZER_SERIES_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "analyzer/profile.h"

namespace heapwatch {

struct Snapshot {
  std::string path;
  Profile profile;
};

struct ProcessSeries {
  std::optional<int64_t> pid;
  std::string name;  // e.g. "pid 1234 (server)" for reports
  std::vector<Snapshot> snapshots;  // periodic, oldest first
  std::optional<Snapshot> exit;
};

// Loads every profile named in `paths` (files, or directories whose
// heap.*.pb.gz / *.pb.gz / *.pprof files are read) and groups them. A file
// that does not parse fails the whole load with its name in the message.
absl::StatusOr<std::vector<ProcessSeries>> LoadSeries(const std::vector<std::string>& paths);

}  // namespace heapwatch

#endif  // HEAPWATCH_ANALYZER_SERIES_H_
