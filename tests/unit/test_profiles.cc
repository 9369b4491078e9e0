#include "tests/unit/test_profiles.h"

#include <gtest/gtest.h>

namespace heapwatch::testing {

std::vector<ValueType> InuseTypes() { return {{"inuse_space", "bytes"}, {"inuse_objects", "count"}}; }

std::vector<ValueType> GoHeapTypes() {
  return {{"alloc_objects", "count"}, {"alloc_space", "bytes"}, {"inuse_objects", "count"}, {"inuse_space", "bytes"}};
}

ProfileBuilder::ProfileBuilder(std::vector<ValueType> types) {
  profile_.sample_types = std::move(types);
  profile_.period_type = {"space", "bytes"};
  profile_.period = 1;
  profile_.mappings.push_back({.id = 1, .memory_start = kAppStart, .memory_limit = kAppStart + 0x100000,
                               .file_offset = 0, .filename = "/usr/bin/app", .has_functions = true});
}

ProfileBuilder& ProfileBuilder::Add(const std::vector<std::string>& stack, std::vector<int64_t> values) {
  Sample sample{.values = std::move(values)};
  for (const std::string& name : stack) {
    auto [it, inserted] = location_of_.try_emplace(name, profile_.locations.size());
    if (inserted) {
      size_t n = profile_.locations.size() + 1;
      profile_.functions.push_back({.id = n, .name = name, .system_name = name, .filename = "app.cc"});
      profile_.locations.push_back({.id = n, .mapping = 0, .address = kAppStart + 0x1000 * n + 0x10,
                                    .lines = {{.function = n - 1, .line = static_cast<int64_t>(10 * n)}}});
    }
    sample.locations.push_back(it->second);
  }
  profile_.samples.push_back(std::move(sample));
  return *this;
}

Profile FullProfile() {
  Profile p;
  p.sample_types = {{"alloc_space", "bytes"}, {"inuse_space", "bytes"}};
  p.mappings.push_back({.id = 7, .memory_start = 0x400000, .memory_limit = 0x480000, .file_offset = 0x1000,
                        .filename = "/usr/bin/server", .build_id = "0badc0ffee", .has_functions = true,
                        .has_filenames = true, .has_line_numbers = true, .has_inline_frames = true});
  p.mappings.push_back({.id = 9, .memory_start = 0x7f0000000000, .memory_limit = 0x7f0000200000,
                        .file_offset = 0x2000, .filename = "/lib/libc.so.6", .build_id = "feedface"});
  p.functions.push_back({.id = 3, .name = "Cache::put(int)", .system_name = "_ZN5Cache3putEi",
                         .filename = "cache.cc", .start_line = 40});
  p.functions.push_back({.id = 5, .name = "malloc", .system_name = "__libc_malloc", .filename = "malloc.c",
                         .start_line = 3000});
  // Not UTF-8: names and paths are bytes.
  p.functions.push_back({.id = 6, .name = "caf\xe9", .system_name = "caf\xe9", .filename = "/src/\xff.c",
                         .start_line = 1});
  p.locations.push_back({.id = 11, .mapping = 1, .address = 0x7f0000001234,
                         .lines = {{.function = 1, .line = 3100, .column = 5}}});
  p.locations.push_back({.id = 12, .mapping = 0, .address = 0x401234,
                         .lines = {{.function = 2, .line = 7, .column = 2}, {.function = 0, .line = 44, .column = 9}},
                         .is_folded = true});
  p.locations.push_back({.id = 13, .address = 0x1234});  // no mapping, no lines
  p.samples.push_back({.locations = {0, 1, 2}, .values = {4096, 1024},
                       .labels = {{.key = "thread", .str = "worker"},
                                  {.key = "bytes", .num = 512, .num_unit = "bytes"},
                                  {.key = "zero", .num = 0}}});
  p.samples.push_back({.locations = {1}, .values = {-5, 0}});
  p.drop_frames = "heapwatch::.*";
  p.keep_frames = "main";
  p.time_nanos = 1700000000123456789;
  p.duration_nanos = 5000000000;
  p.period_type = {"space", "bytes"};
  p.period = 524288;
  p.comments = {"pid=1234", "cmd=server --port 80"};
  p.default_sample_type = "inuse_space";
  p.doc_url = "https://example.com/heapwatch";
  return p;
}

Profile WithoutFunctionNames(Profile profile) {
  for (Location& location : profile.locations) location.lines.clear();
  profile.functions.clear();
  for (Mapping& mapping : profile.mappings) mapping.has_functions = false;
  return profile;
}

Profile Shifted(Profile profile, uint64_t delta) {
  for (Mapping& mapping : profile.mappings) {
    mapping.memory_start += delta;
    mapping.memory_limit += delta;
  }
  for (Location& location : profile.locations) location.address += delta;
  return profile;
}

void ExpectProfilesEqual(const Profile& a, const Profile& b) {
  EXPECT_EQ(a.sample_types, b.sample_types);
  ASSERT_EQ(a.mappings.size(), b.mappings.size());
  for (size_t i = 0; i < a.mappings.size(); ++i) {
    SCOPED_TRACE("mapping #" + std::to_string(i));
    const Mapping &x = a.mappings[i], &y = b.mappings[i];
    EXPECT_EQ(x.id, y.id);
    EXPECT_EQ(x.memory_start, y.memory_start);
    EXPECT_EQ(x.memory_limit, y.memory_limit);
    EXPECT_EQ(x.file_offset, y.file_offset);
    EXPECT_EQ(x.filename, y.filename);
    EXPECT_EQ(x.build_id, y.build_id);
    EXPECT_EQ(x.has_functions, y.has_functions);
    EXPECT_EQ(x.has_filenames, y.has_filenames);
    EXPECT_EQ(x.has_line_numbers, y.has_line_numbers);
    EXPECT_EQ(x.has_inline_frames, y.has_inline_frames);
  }
  ASSERT_EQ(a.functions.size(), b.functions.size());
  for (size_t i = 0; i < a.functions.size(); ++i) {
    SCOPED_TRACE("function #" + std::to_string(i));
    const Function &x = a.functions[i], &y = b.functions[i];
    EXPECT_EQ(x.id, y.id);
    EXPECT_EQ(x.name, y.name);
    EXPECT_EQ(x.system_name, y.system_name);
    EXPECT_EQ(x.filename, y.filename);
    EXPECT_EQ(x.start_line, y.start_line);
  }
  ASSERT_EQ(a.locations.size(), b.locations.size());
  for (size_t i = 0; i < a.locations.size(); ++i) {
    SCOPED_TRACE("location #" + std::to_string(i));
    const Location &x = a.locations[i], &y = b.locations[i];
    EXPECT_EQ(x.id, y.id);
    EXPECT_EQ(x.mapping, y.mapping);
    EXPECT_EQ(x.address, y.address);
    EXPECT_EQ(x.is_folded, y.is_folded);
    ASSERT_EQ(x.lines.size(), y.lines.size());
    for (size_t j = 0; j < x.lines.size(); ++j) {
      EXPECT_EQ(x.lines[j].function, y.lines[j].function);
      EXPECT_EQ(x.lines[j].line, y.lines[j].line);
      EXPECT_EQ(x.lines[j].column, y.lines[j].column);
    }
  }
  ASSERT_EQ(a.samples.size(), b.samples.size());
  for (size_t i = 0; i < a.samples.size(); ++i) {
    SCOPED_TRACE("sample #" + std::to_string(i));
    EXPECT_EQ(a.samples[i].locations, b.samples[i].locations);
    EXPECT_EQ(a.samples[i].values, b.samples[i].values);
    EXPECT_EQ(a.samples[i].labels, b.samples[i].labels);
  }
  EXPECT_EQ(a.drop_frames, b.drop_frames);
  EXPECT_EQ(a.keep_frames, b.keep_frames);
  EXPECT_EQ(a.time_nanos, b.time_nanos);
  EXPECT_EQ(a.duration_nanos, b.duration_nanos);
  EXPECT_EQ(a.period_type, b.period_type);
  EXPECT_EQ(a.period, b.period);
  EXPECT_EQ(a.comments, b.comments);
  EXPECT_EQ(a.default_sample_type, b.default_sample_type);
  EXPECT_EQ(a.doc_url, b.doc_url);
}

}  // namespace heapwatch::testing
