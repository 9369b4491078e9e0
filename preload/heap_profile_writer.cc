#include "preload/heap_profile_writer.h"

#include <cstring>

#include "preload/elementary_functions.h"
#include "preload/profile_tags.h"

namespace heapwatch {
namespace {

void WriteValueType(ProtobufWriter& w, int field, uint32_t type, uint32_t unit) {
  size_t start = w.StartMessage();
  w.Int64Opt(tags::kValueTypeType, type);
  w.Int64Opt(tags::kValueTypeUnit, unit);
  w.EndMessage(field, start);
}

void WriteSamples(const HeapProfileInput& in, ProtobufWriter& w) {
  for (uint32_t id = 1; id <= in.stacks->size(); ++id) {
    const StackEntry& stack = in.stacks->at(id);
    int64_t values[4];
    ScaleHeapSample(stack.alloc_count, stack.alloc_bytes, in.sample_rate, &values[0], &values[1]);
    ScaleHeapSample(in.inuse_count[id - 1], in.inuse_bytes[id - 1], in.sample_rate, &values[2], &values[3]);
    size_t start = w.StartMessage();
    w.Packed(tags::kSampleLocationId, in.stacks->locations(stack), stack.depth);
    w.Packed(tags::kSampleValue, values, 4);
    w.EndMessage(tags::kProfileSample, start);
  }
}

void WriteMappings(const HeapProfileInput& in, ProtobufWriter& w) {
  for (size_t i = 0; i < in.objects->segment_count(); ++i) {
    const LoadedSegment& segment = in.objects->segment(i);
    const LoadedObject& object = in.objects->object(segment.object);
    size_t start = w.StartMessage();
    w.Uint64Opt(tags::kMappingId, i + 1);
    w.Uint64Opt(tags::kMappingMemoryStart, segment.start);
    w.Uint64Opt(tags::kMappingMemoryLimit, segment.limit);
    w.Uint64Opt(tags::kMappingFileOffset, segment.file_offset);
    w.Int64Opt(tags::kMappingFilename, object.path_string);
    w.Int64Opt(tags::kMappingBuildId, object.build_id_string);
    // Names from the object's symbol table are already in the profile:
    // pprof must not try to symbolize it again (it cannot, for C/C++ shared
    // objects). Objects we could not name are left for `heapwatch symbolize`
    // or pprof to try.
    w.BoolOpt(tags::kMappingHasFunctions, object.has_functions);
    w.EndMessage(tags::kProfileMapping, start);
  }
}

void WriteLocations(const HeapProfileInput& in, ProtobufWriter& w) {
  for (uint32_t id = 1; id <= in.locations->size(); ++id) {
    const LocationEntry& location = in.locations->location(id);
    size_t start = w.StartMessage();
    w.Uint64Opt(tags::kLocationId, id);
    w.Uint64Opt(tags::kLocationMappingId, location.mapping_id);
    w.Uint64Opt(tags::kLocationAddress, location.address);
    if (location.function_id != 0) {
      size_t line = w.StartMessage();
      w.Uint64Opt(tags::kLineFunctionId, location.function_id);
      w.EndMessage(tags::kLocationLine, line);
    }
    w.EndMessage(tags::kProfileLocation, start);
  }
}

void WriteFunctions(const HeapProfileInput& in, ProtobufWriter& w) {
  for (uint32_t id = 1; id <= in.locations->function_count(); ++id) {
    const FunctionEntry& function = in.locations->function(id);
    size_t start = w.StartMessage();
    w.Uint64Opt(tags::kFunctionId, id);
    w.Int64Opt(tags::kFunctionName, function.name);
    w.Int64Opt(tags::kFunctionSystemName, function.system_name);
    w.EndMessage(tags::kProfileFunction, start);
  }
}

}  // namespace

void ScaleHeapSample(uint64_t count, uint64_t bytes, int64_t rate, int64_t* scaled_count,
                     int64_t* scaled_bytes) {
  if (count == 0 || rate <= 1) {
    *scaled_count = static_cast<int64_t>(count);
    *scaled_bytes = static_cast<int64_t>(bytes);
    return;
  }
  double average = static_cast<double>(bytes) / static_cast<double>(count);
  // -expm1(-x) = 1 - exp(-x), accurate for small x (small blocks).
  double scale = 1 / -ExpMinus1(-average / static_cast<double>(rate));
  *scaled_count = static_cast<int64_t>(static_cast<double>(count) * scale + 0.5);
  *scaled_bytes = static_cast<int64_t>(static_cast<double>(bytes) * scale + 0.5);
}

bool WriteHeapProfile(const HeapProfileInput& in, ProtobufWriter& w) {
  StringTable& strings = *in.strings;
  // Every string the profile refers to exists before the table is written.
  uint32_t alloc_objects = strings.Intern("alloc_objects"), alloc_space = strings.Intern("alloc_space");
  uint32_t inuse_objects = strings.Intern("inuse_objects"), inuse_space = strings.Intern("inuse_space");
  uint32_t count = strings.Intern("count"), bytes = strings.Intern("bytes"), space = strings.Intern("space");
  uint32_t comments[16];
  size_t comment_count = in.comment_count < 16 ? in.comment_count : 16;
  for (size_t i = 0; i < comment_count; ++i) {
    comments[i] = strings.AddTemporary(in.comments[i], std::strlen(in.comments[i]));
  }

  WriteValueType(w, tags::kProfileSampleType, alloc_objects, count);
  WriteValueType(w, tags::kProfileSampleType, alloc_space, bytes);
  WriteValueType(w, tags::kProfileSampleType, inuse_objects, count);
  WriteValueType(w, tags::kProfileSampleType, inuse_space, bytes);
  WriteSamples(in, w);
  WriteMappings(in, w);
  WriteLocations(in, w);
  WriteFunctions(in, w);
  w.Int64Opt(tags::kProfileTimeNanos, in.time_nanos);
  w.Int64Opt(tags::kProfileDurationNanos, in.duration_nanos);
  WriteValueType(w, tags::kProfilePeriodType, space, bytes);
  w.Int64Opt(tags::kProfilePeriod, in.sample_rate);
  w.Packed(tags::kProfileComment, comments, comment_count);
  w.Int64Opt(tags::kProfileDefaultSampleType, inuse_space);
  for (uint32_t i = 0; i < strings.size(); ++i) w.String(tags::kProfileStringTable, strings.data(i), strings.length(i));
  strings.DropTemporaries();
  return w.Finish();
}

}  // namespace heapwatch
