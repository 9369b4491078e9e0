// The preload's hand-written encoder, decoded by the parser protoc generates
// from proto/profile.proto: every field it writes is checked.
#include "preload/heap_profile_writer.h"

#include <cmath>
#include <cstring>
#include <string>

#include <gtest/gtest.h>

#include "preload/hash_index.h"
#include "profile.pb.h"

namespace heapwatch {
namespace {

bool AppendToString(void* out, const uint8_t* data, size_t size) {
  static_cast<std::string*>(out)->append(reinterpret_cast<const char*>(data), size);
  return true;
}

// Names frames of the test binary by a fixed table: pc -> (start, name).
struct FakeSymbol {
  uintptr_t pc;
  uint64_t start;
  const char* name;
  const char* system_name;
};
FakeSymbol g_symbols[3];

bool FakeResolver(LoadedObjects&, uint32_t, uintptr_t pc, uint64_t* start, char* name, char* system_name,
                  size_t size) {
  for (const FakeSymbol& s : g_symbols) {
    if (s.pc == pc) {
      *start = s.start;
      snprintf(name, size, "%s", s.name);
      snprintf(system_name, size, "%s", s.system_name);
      return true;
    }
  }
  return false;
}


class HeapProfileWriterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(strings_.Init());
    objects_.Init("/proc/self/exe-path-for-test", &strings_);
    objects_.Refresh();
    ASSERT_GT(objects_.segment_count(), 0u);
    locations_.Init(&objects_, &strings_, FakeResolver);
    // Three frames inside this test binary's code; two of them in one
    // function (same symbol start), one unnamed frame outside any object.
    uintptr_t base = reinterpret_cast<uintptr_t>(&AppendToString);
    g_symbols[0] = {base + 1, base, "Cache::put", "_ZN5Cache3putEv"};
    g_symbols[1] = {base + 2, base, "Cache::put", "_ZN5Cache3putEv"};
    g_symbols[2] = {base + 3, base + 1000, "main", "main"};
    stack_a_[0] = base + 1;
    stack_a_[1] = base + 3;
    stack_b_[0] = base + 2;
    stack_b_[1] = 0x10;  // no object maps this
    stack_b_[2] = base + 3;
  }

  uint32_t Intern(const uintptr_t* frames, uint32_t depth) {
    return stacks_.Intern(frames, depth, [&](uintptr_t pc) { return locations_.Intern(pc); });
  }

  perftools::profiles::Profile Write(int64_t rate, const uint64_t* inuse_count, const uint64_t* inuse_bytes) {
    locations_.ResolvePending();  // as the collector does before writing
    const char* comments[] = {"pid=42", "kind=periodic"};
    HeapProfileInput input = {.strings = &strings_,
                              .stacks = &stacks_,
                              .locations = &locations_,
                              .objects = &objects_,
                              .inuse_count = inuse_count,
                              .inuse_bytes = inuse_bytes,
                              .sample_rate = rate,
                              .time_nanos = 1'700'000'000'000'000'000,
                              .duration_nanos = 5'000'000'000,
                              .comments = comments,
                              .comment_count = 2};
    std::string bytes;
    ProtobufWriter writer(AppendToString, &bytes);
    EXPECT_TRUE(WriteHeapProfile(input, writer));
    perftools::profiles::Profile profile;
    EXPECT_TRUE(profile.ParseFromString(bytes));
    return profile;
  }

  StringTable strings_;
  LoadedObjects objects_;
  LocationTable locations_;
  StackTable stacks_;
  uintptr_t stack_a_[2];
  uintptr_t stack_b_[3];
};

const std::string& Str(const perftools::profiles::Profile& p, int64_t i) { return p.string_table(i); }

TEST_F(HeapProfileWriterTest, EveryFieldAtRateOne) {
  uint32_t a = Intern(stack_a_, 2), b = Intern(stack_b_, 3);
  ASSERT_EQ(a, 1u);
  ASSERT_EQ(b, 2u);
  EXPECT_EQ(Intern(stack_a_, 2), a) << "interning is idempotent";
  stacks_.at(a).alloc_count = 10;
  stacks_.at(a).alloc_bytes = 10 * 4096;
  stacks_.at(b).alloc_count = 3;
  stacks_.at(b).alloc_bytes = 300;
  uint64_t inuse_count[2] = {4, 0}, inuse_bytes[2] = {4 * 4096, 0};
  perftools::profiles::Profile p = Write(1, inuse_count, inuse_bytes);

  ASSERT_GT(p.string_table_size(), 0);
  EXPECT_EQ(p.string_table(0), "");
  ASSERT_EQ(p.sample_type_size(), 4);
  const char* types[][2] = {{"alloc_objects", "count"}, {"alloc_space", "bytes"},
                            {"inuse_objects", "count"}, {"inuse_space", "bytes"}};
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(Str(p, p.sample_type(i).type()), types[i][0]);
    EXPECT_EQ(Str(p, p.sample_type(i).unit()), types[i][1]);
  }
  EXPECT_EQ(Str(p, p.default_sample_type()), "inuse_space");
  EXPECT_EQ(Str(p, p.period_type().type()), "space");
  EXPECT_EQ(Str(p, p.period_type().unit()), "bytes");
  EXPECT_EQ(p.period(), 1);
  EXPECT_EQ(p.time_nanos(), 1'700'000'000'000'000'000);
  EXPECT_EQ(p.duration_nanos(), 5'000'000'000);
  ASSERT_EQ(p.comment_size(), 2);
  EXPECT_EQ(Str(p, p.comment(0)), "pid=42");
  EXPECT_EQ(Str(p, p.comment(1)), "kind=periodic");
  EXPECT_EQ(p.drop_frames(), 0);
  EXPECT_EQ(p.keep_frames(), 0);

  // Samples: values exact at rate 1, stacks as location ids leaf first.
  ASSERT_EQ(p.sample_size(), 2);
  EXPECT_EQ(std::vector<int64_t>(p.sample(0).value().begin(), p.sample(0).value().end()),
            (std::vector<int64_t>{10, 40960, 4, 16384}));
  EXPECT_EQ(std::vector<int64_t>(p.sample(1).value().begin(), p.sample(1).value().end()),
            (std::vector<int64_t>{3, 300, 0, 0}));
  EXPECT_EQ(std::vector<uint64_t>(p.sample(0).location_id().begin(), p.sample(0).location_id().end()),
            (std::vector<uint64_t>{1, 2}));
  EXPECT_EQ(std::vector<uint64_t>(p.sample(1).location_id().begin(), p.sample(1).location_id().end()),
            (std::vector<uint64_t>{3, 4, 2}));

  // Locations: ids dense from 1, addresses as given, functions shared by
  // frames in one symbol, the unknown frame with no mapping and no line.
  ASSERT_EQ(p.location_size(), 4);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(p.location(i).id(), uint64_t(i + 1));
  EXPECT_EQ(p.location(0).address(), stack_a_[0]);
  EXPECT_EQ(p.location(1).address(), stack_a_[1]);
  EXPECT_EQ(p.location(2).address(), stack_b_[0]);
  EXPECT_EQ(p.location(3).address(), 0x10u);
  EXPECT_EQ(p.location(3).mapping_id(), 0u);
  EXPECT_EQ(p.location(3).line_size(), 0);
  ASSERT_EQ(p.function_size(), 2);
  EXPECT_EQ(p.location(0).line(0).function_id(), p.location(2).line(0).function_id());
  for (int i = 0; i < 2; ++i) EXPECT_EQ(p.function(i).id(), uint64_t(i + 1));
  EXPECT_EQ(Str(p, p.function(0).name()), "Cache::put");
  EXPECT_EQ(Str(p, p.function(0).system_name()), "_ZN5Cache3putEv");
  EXPECT_EQ(Str(p, p.function(1).name()), "main");

  // Mappings: ids dense from 1, every located frame inside its mapping, the
  // object that got names flagged has_functions.
  ASSERT_EQ(static_cast<size_t>(p.mapping_size()), objects_.segment_count());
  for (int i = 0; i < p.mapping_size(); ++i) {
    const auto& m = p.mapping(i);
    EXPECT_EQ(m.id(), uint64_t(i + 1));
    EXPECT_LT(m.memory_start(), m.memory_limit());
    EXPECT_EQ(m.memory_start() % 4096, 0u);
    EXPECT_EQ(m.file_offset() % 4096, 0u);
    EXPECT_FALSE(Str(p, m.filename()).empty());
  }
  for (int i = 0; i < 3; ++i) {
    const auto& loc = p.location(i);
    ASSERT_GT(loc.mapping_id(), 0u);
    const auto& m = p.mapping(loc.mapping_id() - 1);
    EXPECT_GE(loc.address(), m.memory_start());
    EXPECT_LT(loc.address(), m.memory_limit());
    EXPECT_TRUE(m.has_functions());
    EXPECT_EQ(Str(p, m.filename()), "/proc/self/exe-path-for-test") << "the program is named by the path given";
  }
}

// Interning finds a location's mapping at once; its function is named only
// when asked, for all the locations interned since.
TEST_F(HeapProfileWriterTest, LocationsAreNamedWhenPendingOnesAreResolved) {
  EXPECT_FALSE(locations_.has_pending());
  uint32_t first = locations_.Intern(stack_a_[0]);
  uint32_t outside = locations_.Intern(stack_b_[1]);
  EXPECT_TRUE(locations_.has_pending());
  EXPECT_NE(locations_.location(first).mapping_id, 0u);
  EXPECT_EQ(locations_.location(first).function_id, 0u);
  EXPECT_EQ(locations_.function_count(), 0u);
  locations_.ResolvePending();
  EXPECT_FALSE(locations_.has_pending());
  ASSERT_NE(locations_.location(first).function_id, 0u);
  EXPECT_EQ(locations_.location(outside).function_id, 0u) << "no object, no name";
  uint32_t second = locations_.Intern(stack_b_[0]);  // the same function as `first`
  EXPECT_TRUE(locations_.has_pending());
  locations_.ResolvePending();
  EXPECT_EQ(locations_.location(second).function_id, locations_.location(first).function_id);
  EXPECT_EQ(locations_.function_count(), 1u);
}

TEST_F(HeapProfileWriterTest, ValuesAreUnsampledAtTheRate) {
  uint32_t a = Intern(stack_a_, 2);
  stacks_.at(a).alloc_count = 10;
  stacks_.at(a).alloc_bytes = 10 * 4096;
  uint64_t inuse_count[1] = {2}, inuse_bytes[1] = {2 * 8192};  // a different average than alloc
  const int64_t rate = 512 * 1024;
  perftools::profiles::Profile p = Write(rate, inuse_count, inuse_bytes);
  ASSERT_EQ(p.sample_size(), 1);
  double alloc_scale = 1 / (1 - std::exp(-4096.0 / rate));
  double inuse_scale = 1 / (1 - std::exp(-8192.0 / rate));
  EXPECT_EQ(p.sample(0).value(0), std::llround(10 * alloc_scale));
  EXPECT_EQ(p.sample(0).value(1), std::llround(10 * 4096 * alloc_scale));
  EXPECT_EQ(p.sample(0).value(2), std::llround(2 * inuse_scale));
  EXPECT_EQ(p.sample(0).value(3), std::llround(2 * 8192 * inuse_scale));
  EXPECT_EQ(p.period(), rate);
}

TEST_F(HeapProfileWriterTest, TemporaryStringsDoNotAccumulate) {
  Intern(stack_a_, 2);
  uint64_t zero[1] = {0};
  size_t first = Write(1, zero, zero).string_table_size();
  size_t second = Write(1, zero, zero).string_table_size();
  EXPECT_EQ(first, second) << "comments of one profile must not stay in the table";
}

TEST(ProtobufWriterTest, LargeOutputCrossesFlushesIntact) {
  // 20000 nested messages with packed fields: several 64 KiB flushes, each
  // at a message boundary.
  std::string bytes;
  ProtobufWriter w(AppendToString, &bytes);
  for (int i = 0; i < 20000; ++i) {
    size_t start = w.StartMessage();
    uint64_t ids[3] = {uint64_t(i), uint64_t(1) << 40, 127};
    int64_t values[2] = {-1, int64_t(i) * 1000};
    w.Packed(1, ids, 3);
    w.Packed(2, values, 2);
    w.EndMessage(2, start);
  }
  w.String(6, "", 0);
  w.String(6, "x", 1);
  w.Int64Opt(9, -5);
  w.Uint64Opt(12, 0);  // omitted
  ASSERT_TRUE(w.Finish());
  perftools::profiles::Profile p;
  ASSERT_TRUE(p.ParseFromString(bytes));
  ASSERT_EQ(p.sample_size(), 20000);
  for (int i = 0; i < 20000; i += 997) {
    EXPECT_EQ(p.sample(i).location_id(0), uint64_t(i));
    EXPECT_EQ(p.sample(i).location_id(1), uint64_t(1) << 40);
    EXPECT_EQ(p.sample(i).location_id(2), 127u);
    EXPECT_EQ(p.sample(i).value(0), -1);
    EXPECT_EQ(p.sample(i).value(1), int64_t(i) * 1000);
  }
  EXPECT_EQ(p.string_table_size(), 2);
  EXPECT_EQ(p.time_nanos(), -5);
  EXPECT_EQ(p.period(), 0);
}

TEST(ProtobufWriterTest, SinkFailureIsReported) {
  ProtobufWriter w([](void*, const uint8_t*, size_t) { return false; }, nullptr);
  w.Uint64(1, 5);
  EXPECT_FALSE(w.Finish());
}

}  // namespace
}  // namespace heapwatch
