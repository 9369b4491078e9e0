#include "tests/e2e/preload_harness.h"

#include <dirent.h>
#include <zlib.h>

#include <algorithm>
#include <atomic>
#include <sstream>

#include <gtest/gtest.h>

namespace heapwatch::testing {

std::string PreloadLibrary() { return std::string(HEAPWATCH_BINARY_DIR) + "/lib/libheapwatch.so"; }
std::string TestProgram(const std::string& name) {
  return std::string(HEAPWATCH_BINARY_DIR) + "/tests/programs/" + name;
}
std::string HeapwatchCommand() { return std::string(HEAPWATCH_BINARY_DIR) + "/bin/heapwatch"; }

std::string MakeTempDir(const std::string& tag) {
  static std::atomic<int> counter{0};
  const ::testing::TestInfo* info = ::testing::UnitTest::GetInstance()->current_test_info();
  std::string name = info != nullptr ? std::string(info->test_suite_name()) + "." + info->name() : "test";
  std::replace(name.begin(), name.end(), '/', '_');
  return FreshTestDir(name + "." + tag + "." + std::to_string(counter.fetch_add(1)));
}

ProcessResult RunProgram(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env,
                         int timeout_seconds, const std::string& cwd) {
  std::vector<std::string> assignments;
  for (const auto& [key, value] : env) assignments.push_back(key + "=" + value);
  return RunProcess(argv, assignments, {.timeout_seconds = timeout_seconds, .cwd = cwd});
}

ProcessResult RunUnderPreload(const std::vector<std::string>& argv, const std::string& out_dir,
                          std::map<std::string, std::string> env, int timeout_seconds) {
  env["LD_PRELOAD"] = PreloadLibrary();
  env["HEAPWATCH_OUT"] = out_dir;
  if (!env.count("HEAPWATCH_INTERVAL")) env["HEAPWATCH_INTERVAL"] = "0";
  return RunProgram(argv, env, timeout_seconds);
}

perftools::profiles::Profile ReadProfile(const std::string& path) {
  perftools::profiles::Profile profile;
  gzFile file = gzopen(path.c_str(), "rb");  // reads plain files too
  if (file == nullptr) {
    ADD_FAILURE() << "cannot open " << path;
    return profile;
  }
  std::string data;
  char buffer[65536];
  int n;
  while ((n = gzread(file, buffer, sizeof(buffer))) > 0) data.append(buffer, n);
  int error = 0;
  const char* message = gzerror(file, &error);
  gzclose(file);
  if (n < 0 || error < 0) {
    ADD_FAILURE() << path << ": " << message;
    return profile;
  }
  if (!profile.ParseFromString(data)) ADD_FAILURE() << path << ": not a valid profile.proto message";
  return profile;
}

std::vector<std::string> ProfileFiles(const std::string& dir, pid_t pid) {
  std::vector<std::string> files;
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) return files;
  std::string prefix = pid < 0 ? "heap." : "heap." + std::to_string(pid) + ".";
  while (dirent* entry = readdir(d)) {
    std::string name = entry->d_name;
    if (name.rfind(prefix, 0) == 0 && name.size() > 6 && name.compare(name.size() - 6, 6, ".pb.gz") == 0) {
      files.push_back(dir + "/" + name);
    }
  }
  closedir(d);
  std::sort(files.begin(), files.end());
  return files;
}

std::string ExitProfilePath(const std::string& dir, pid_t pid) {
  return dir + "/heap." + std::to_string(pid) + ".exit.pb.gz";
}

namespace {

const std::string& StringAt(const perftools::profiles::Profile& profile, int64_t index) {
  static const std::string kInvalid = "<invalid string index>";
  return index >= 0 && index < profile.string_table_size() ? profile.string_table(index) : kInvalid;
}

std::string LocationFunctionName(const perftools::profiles::Profile& profile, uint64_t location_id) {
  for (const auto& location : profile.location()) {
    if (location.id() != location_id) continue;
    if (location.line_size() == 0) return "";
    uint64_t function_id = location.line(0).function_id();
    for (const auto& function : profile.function()) {
      if (function.id() == function_id) return StringAt(profile, function.name());
    }
    return "";
  }
  return "<missing location>";
}

int SampleTypeIndex(const perftools::profiles::Profile& profile, const std::string& type) {
  for (int i = 0; i < profile.sample_type_size(); ++i) {
    if (StringAt(profile, profile.sample_type(i).type()) == type) return i;
  }
  ADD_FAILURE() << "no sample type " << type;
  return 0;
}

}  // namespace

std::vector<std::string> FrameNames(const perftools::profiles::Profile& profile,
                                    const perftools::profiles::Sample& sample) {
  std::vector<std::string> names;
  for (uint64_t id : sample.location_id()) names.push_back(LocationFunctionName(profile, id));
  return names;
}

HeapTotals TotalsAtLeaf(const perftools::profiles::Profile& profile, const std::string& name) {
  int alloc_objects = SampleTypeIndex(profile, "alloc_objects"), alloc_space = SampleTypeIndex(profile, "alloc_space");
  int inuse_objects = SampleTypeIndex(profile, "inuse_objects"), inuse_space = SampleTypeIndex(profile, "inuse_space");
  HeapTotals totals;
  for (const auto& sample : profile.sample()) {
    if (sample.location_id_size() == 0 || LocationFunctionName(profile, sample.location_id(0)) != name) continue;
    totals.alloc_objects += sample.value(alloc_objects);
    totals.alloc_space += sample.value(alloc_space);
    totals.inuse_objects += sample.value(inuse_objects);
    totals.inuse_space += sample.value(inuse_space);
  }
  return totals;
}

std::string CommentValue(const perftools::profiles::Profile& profile, const std::string& key) {
  for (int64_t index : profile.comment()) {
    const std::string& comment = StringAt(profile, index);
    // Comments hold "key=value" pairs separated by spaces.
    std::istringstream words(comment);
    std::string word;
    while (words >> word) {
      if (word.rfind(key + "=", 0) == 0) return word.substr(key.size() + 1);
    }
  }
  return "";
}

std::vector<pid_t> ChildPids(const std::string& output) {
  std::vector<pid_t> pids;
  std::istringstream lines(output);
  std::string word;
  while (lines >> word) {
    if (word == "child" && lines >> word) pids.push_back(static_cast<pid_t>(std::stol(word)));
  }
  return pids;
}

}  // namespace heapwatch::testing
