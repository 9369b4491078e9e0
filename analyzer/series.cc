// Implementation of series.h.

#include "analyzer/series.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <map>
#include <tuple>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "analyzer/profile_codec.h"

namespace heapwatch {
namespace {

namespace fs = std::filesystem;

// What a heapwatch file name says: heap.<pid>.<seq>.pb.gz or heap.<pid>.exit.pb.gz.
struct NameInfo {
  int64_t pid = 0;
  std::optional<uint64_t> seq;  // unset for the exit profile
};

// Parses a run of decimal digits that fits in `max_digits`.
std::optional<uint64_t> ParseDigits(std::string_view text, size_t max_digits) {
  if (text.empty() || text.size() > max_digits) return std::nullopt;
  uint64_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + static_cast<uint64_t>(c - '0');
  }
  return value;
}

// 18 digits fit in int64; Linux pids have at most 7 (pid_max <= 2^22).
constexpr size_t kMaxNumberDigits = 18;

std::optional<NameInfo> ParseHeapwatchName(std::string_view base) {
  constexpr std::string_view kPrefix = "heap.", kSuffix = ".pb.gz";
  if (!base.starts_with(kPrefix) || !base.ends_with(kSuffix)) return std::nullopt;
  std::string_view middle = base.substr(kPrefix.size(), base.size() - kPrefix.size() - kSuffix.size());
  size_t dot = middle.find('.');
  if (dot == std::string_view::npos) return std::nullopt;
  std::optional<uint64_t> pid = ParseDigits(middle.substr(0, dot), kMaxNumberDigits);
  if (!pid) return std::nullopt;
  std::string_view rest = middle.substr(dot + 1);
  NameInfo info{.pid = static_cast<int64_t>(*pid)};
  if (rest == "exit") return info;
  info.seq = ParseDigits(rest, kMaxNumberDigits);
  if (!info.seq) return std::nullopt;
  return info;
}

// The pid of a "pid=N" word in the profile's comments.
std::optional<int64_t> PidFromComments(const Profile& profile) {
  std::optional<std::string_view> word = profile.CommentValue("pid");
  if (!word) return std::nullopt;
  std::optional<uint64_t> pid = ParseDigits(*word, kMaxNumberDigits);
  if (!pid) return std::nullopt;
  return static_cast<int64_t>(*pid);
}

bool IsProfileFileName(std::string_view name) {
  return name.ends_with(".pb.gz") || name.ends_with(".pprof");
}

// Expands `paths` into the profile files to read, in a stable order, each once.
absl::StatusOr<std::vector<std::string>> ProfileFiles(const std::vector<std::string>& paths) {
  std::vector<std::string> files;
  absl::flat_hash_set<std::string> seen;
  auto add = [&](const fs::path& file) {
    std::error_code ec;
    fs::path canonical = fs::canonical(file, ec);
    if (seen.insert(ec ? file.string() : canonical.string()).second) files.push_back(file.string());
  };
  for (const std::string& path : paths) {
    std::error_code ec;
    fs::file_status status = fs::status(path, ec);
    if (ec) return absl::NotFoundError(absl::StrCat(path, ": ", ec.message()));
    if (!fs::is_directory(status)) {
      add(path);  // named explicitly: read whatever its name
      continue;
    }
    std::vector<fs::path> in_directory;
    for (fs::directory_iterator it(path, ec), end; !ec && it != end; it.increment(ec)) {
      std::error_code type_ec;
      if (it->is_regular_file(type_ec) && IsProfileFileName(it->path().filename().string())) {
        in_directory.push_back(it->path());
      }
    }
    if (ec) return absl::InvalidArgumentError(absl::StrCat(path, ": ", ec.message()));
    if (in_directory.empty()) {
      return absl::InvalidArgumentError(absl::StrCat(path, ": no profiles (*.pb.gz, *.pprof) in this directory"));
    }
    std::sort(in_directory.begin(), in_directory.end());
    for (const fs::path& file : in_directory) add(file);
  }
  if (files.empty()) return absl::InvalidArgumentError("no profiles given");
  return files;
}

// The base name of the main executable: pprof puts it in the first mapping.
std::string ProgramName(const Profile& profile) {
  for (const Mapping& mapping : profile.mappings) {
    if (mapping.filename.empty() || mapping.filename.starts_with("[")) continue;
    return fs::path(mapping.filename).filename().string();
  }
  return "";
}

struct Loaded {
  Snapshot snapshot;
  std::optional<int64_t> pid;
  std::string run;  // heapwatch's "run=" token: one per process image
  std::optional<uint64_t> seq;
  bool is_exit = false;
  size_t order = 0;  // position among the files, the last tie-breaker
};

}  // namespace

absl::StatusOr<std::vector<ProcessSeries>> LoadSeries(const std::vector<std::string>& paths) {
  absl::StatusOr<std::vector<std::string>> files = ProfileFiles(paths);
  if (!files.ok()) return files.status();

  // Key: (no pid, pid, run) so series with a pid come first, in pid order.
  // One pid can hold several process images: a program that exec()s keeps
  // its pid, and pids are reused. heapwatch's run token tells them apart.
  std::map<std::tuple<bool, int64_t, std::string>, std::vector<Loaded>> groups;
  for (size_t i = 0; i < files->size(); ++i) {
    const std::string& path = (*files)[i];
    absl::StatusOr<Profile> profile = ReadProfileFile(path);
    if (!profile.ok()) return profile.status();
    Loaded loaded{.snapshot = {.path = path, .profile = *std::move(profile)}, .order = i};
    if (auto name = ParseHeapwatchName(fs::path(path).filename().string())) {
      loaded.pid = name->pid;
      loaded.seq = name->seq;
      loaded.is_exit = !name->seq;
    } else {
      loaded.pid = PidFromComments(loaded.snapshot.profile);
    }
    loaded.run = std::string(loaded.snapshot.profile.CommentValue("run").value_or(""));
    groups[{!loaded.pid.has_value(), loaded.pid.value_or(0), loaded.run}].push_back(std::move(loaded));
  }

  std::vector<ProcessSeries> result;
  for (auto& [key, members] : groups) {
    ProcessSeries series;
    if (!std::get<0>(key)) series.pid = std::get<1>(key);
    std::vector<Loaded*> periodic;
    for (Loaded& member : members) {
      if (!member.is_exit) {
        periodic.push_back(&member);
        continue;
      }
      if (series.exit) {
        return absl::InvalidArgumentError(absl::StrFormat("%s: a second exit profile for pid %d (the first is %s)",
                                                          member.snapshot.path, std::get<1>(key), series.exit->path));
      }
      series.exit = std::move(member.snapshot);
    }
    std::stable_sort(periodic.begin(), periodic.end(), [](const Loaded* a, const Loaded* b) {
      // No sequence number sorts after any, so the order of the files given
      // decides among files that are not heapwatch's.
      auto key = [](const Loaded* l) {
        return std::make_tuple(l->snapshot.profile.time_nanos, !l->seq.has_value(), l->seq.value_or(0), l->order);
      };
      return key(a) < key(b);
    });
    for (Loaded* member : periodic) series.snapshots.push_back(std::move(member->snapshot));

    const Profile& sample = series.snapshots.empty() ? series.exit->profile : series.snapshots.front().profile;
    std::string program = ProgramName(sample);
    if (series.pid) {
      series.name = program.empty() ? absl::StrFormat("pid %d", *series.pid)
                                    : absl::StrFormat("pid %d (%s)", *series.pid, program);
    } else {
      series.name = program.empty() ? "profiles without a pid" : absl::StrFormat("%s (no pid)", program);
    }
    result.push_back(std::move(series));
  }
  // Images of one pid in the order they ran, numbered in their names.
  auto start = [](const ProcessSeries& s) {
    return s.snapshots.empty() ? s.exit->profile.time_nanos : s.snapshots.front().profile.time_nanos;
  };
  std::stable_sort(result.begin(), result.end(), [&](const ProcessSeries& a, const ProcessSeries& b) {
    return std::make_tuple(!a.pid.has_value(), a.pid.value_or(0), start(a)) <
           std::make_tuple(!b.pid.has_value(), b.pid.value_or(0), start(b));
  });
  for (size_t i = 1, image = 1; i < result.size(); ++i) {
    bool same_pid = result[i].pid && result[i - 1].pid && *result[i].pid == *result[i - 1].pid;
    image = same_pid ? image + 1 : 1;
    if (same_pid) {
      if (image == 2) result[i - 1].name += ", image 1";
      result[i].name += absl::StrFormat(", image %d", image);
    }
  }
  return result;
}

}  // namespace heapwatch
