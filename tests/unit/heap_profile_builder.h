// Building heap profiles in memory for tests, in the layout heapwatch's
// preload and Go's runtime/pprof write: sample types alloc_objects,
// alloc_space, inuse_objects, inuse_space; period_type space/bytes; values
// un-sampled from counts of sampled blocks as the writer does.

#ifndef HEAPWATCH_TESTS_UNIT_HEAP_PROFILE_BUILDER_H_
#define HEAPWATCH_TESTS_UNIT_HEAP_PROFILE_BUILDER_H_

#include <cmath>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "analyzer/profile.h"
#include "analyzer/series.h"

namespace heapwatch::testing {

class HeapProfileBuilder {
 public:
  // `period` is the sampling rate (1: every block recorded).
  HeapProfileBuilder(int64_t period, int64_t time_nanos) {
    profile_.sample_types = {
        {"alloc_objects", "count"}, {"alloc_space", "bytes"}, {"inuse_objects", "count"}, {"inuse_space", "bytes"}};
    profile_.period_type = {"space", "bytes"};
    profile_.period = period;
    profile_.time_nanos = time_nanos;
    profile_.default_sample_type = "inuse_space";
    profile_.mappings.push_back({.id = 1, .memory_start = 0x400000, .memory_limit = 0x800000,
                                 .filename = "/usr/bin/server", .has_functions = true});
    libc_ = AddMapping("/lib/x86_64-linux-gnu/libc.so.6");
  }

  // A sample whose stack is `functions`, leaf first ("malloc" is taken to be
  // in libc, everything else in the executable), with `inuse_blocks` and
  // `alloc_blocks` sampled blocks of `block_bytes` each, un-sampled.
  HeapProfileBuilder& Add(const std::vector<std::string>& functions, double inuse_blocks, double alloc_blocks,
                          double block_bytes = 4096) {
    Sample sample;
    for (const std::string& name : functions) sample.locations.push_back(LocationFor(name));
    double scale = Scale(block_bytes);
    auto rounded = [](double v) { return static_cast<int64_t>(std::llround(v)); };
    sample.values = {rounded(alloc_blocks * scale), rounded(alloc_blocks * scale * block_bytes),
                     rounded(inuse_blocks * scale), rounded(inuse_blocks * scale * block_bytes)};
    profile_.samples.push_back(std::move(sample));
    return *this;
  }

  Profile Build() const { return profile_; }

  // 1 / (1 - exp(-size / period)), as ScaleHeapSample.
  double Scale(double block_bytes) const {
    return profile_.period > 1 ? 1 / -std::expm1(-block_bytes / static_cast<double>(profile_.period)) : 1;
  }

 private:
  size_t AddMapping(const std::string& path) {
    uint64_t id = profile_.mappings.size() + 1;
    uint64_t start = 0x7f0000000000 + id * 0x1000000;
    profile_.mappings.push_back(
        {.id = id, .memory_start = start, .memory_limit = start + 0x100000, .filename = path, .has_functions = true});
    return profile_.mappings.size() - 1;
  }

  size_t LocationFor(const std::string& function) {
    auto it = locations_.find(function);
    if (it != locations_.end()) return it->second;
    profile_.functions.push_back({.id = profile_.functions.size() + 1, .name = function});
    Location location;
    location.id = profile_.locations.size() + 1;
    location.mapping = function == "malloc" ? libc_ : 0;
    location.address = profile_.mappings[*location.mapping].memory_start + 0x100 * location.id;
    location.lines.push_back({.function = profile_.functions.size() - 1, .line = 10});
    profile_.locations.push_back(location);
    locations_[function] = profile_.locations.size() - 1;
    return profile_.locations.size() - 1;
  }

  Profile profile_;
  size_t libc_ = 0;
  std::map<std::string, size_t> locations_;
};

// A series of snapshots `interval_seconds` apart, built by `fill(builder, i)`
// for snapshot i.
template <typename Fill>
ProcessSeries MakeSeries(int64_t pid, size_t snapshots, double interval_seconds, int64_t period, Fill fill) {
  ProcessSeries series;
  series.pid = pid;
  series.name = "pid " + std::to_string(pid) + " (server)";
  for (size_t i = 0; i < snapshots; ++i) {
    int64_t t = 1'700'000'000'000'000'000 + static_cast<int64_t>(static_cast<double>(i) * interval_seconds * 1e9);
    HeapProfileBuilder builder(period, t);
    fill(builder, i);
    series.snapshots.push_back(
        {.path = "heap." + std::to_string(pid) + "." + std::to_string(i + 1) + ".pb.gz", .profile = builder.Build()});
  }
  return series;
}

}  // namespace heapwatch::testing

#endif  // HEAPWATCH_TESTS_UNIT_HEAP_PROFILE_BUILDER_H_
