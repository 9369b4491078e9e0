#include "analyzer/heap_values.h"

#include <cmath>
#include <initializer_list>
#include <string_view>

namespace heapwatch {
namespace {

std::optional<size_t> FirstOf(const Profile& profile, std::initializer_list<std::string_view> names) {
  for (std::string_view name : names) {
    if (auto index = profile.SampleTypeIndex(name)) return index;
  }
  return std::nullopt;
}

}  // namespace

HeapValueIndices FindHeapValues(const Profile& profile) {
  HeapValueIndices indices;
  // Go and heapwatch name all four; profiles converted from gperftools'
  // heap format call the in-use pair "space" and "objects".
  indices.inuse_space = FirstOf(profile, {"inuse_space", "space"});
  indices.inuse_objects = FirstOf(profile, {"inuse_objects", "objects"});
  indices.alloc_space = FirstOf(profile, {"alloc_space"});
  indices.alloc_objects = FirstOf(profile, {"alloc_objects"});
  return indices;
}

double SampledBlockCount(double objects, double bytes, int64_t period) {
  if (period <= 1 || objects <= 0 || bytes <= 0) return objects;
  // Un-sampling multiplied the sampled count by 1 / (1 - exp(-avg/period)),
  // avg being the mean block size (the same before and after scaling).
  double average = bytes / objects;
  return objects * -std::expm1(-average / static_cast<double>(period));
}

}  // namespace heapwatch
