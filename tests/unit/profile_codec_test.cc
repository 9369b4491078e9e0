#include "analyzer/profile_codec.h"

#include <sys/resource.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include <gtest/gtest.h>

#include "profile.pb.h"
#include "tests/unit/subprocess.h"
#include "tests/unit/test_profiles.h"

namespace heapwatch {
namespace {

namespace fs = std::filesystem;
using testing::ExpectProfilesEqual;
using testing::FreshTestDir;

const std::string kCorpus = std::string(HEAPWATCH_SOURCE_DIR) + "/tests/corpus";

std::string ReadBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream data;
  data << in.rdbuf();
  return data.str();
}

std::string Message(const absl::Status& status) { return std::string(status.message()); }

TEST(ProfileCodecTest, RoundTripKeepsEveryField) {
  Profile original = testing::FullProfile();
  ASSERT_TRUE(original.CheckValid().ok());
  absl::StatusOr<Profile> parsed = ParseProfile(SerializeProfile(original));
  ASSERT_TRUE(parsed.ok()) << Message(parsed.status());
  ExpectProfilesEqual(original, *parsed);
}

TEST(ProfileCodecTest, WritesGzipAndReadsItBack) {
  std::string dir = FreshTestDir("codec_gzip");
  std::string path = dir + "/full.pb.gz";
  Profile original = testing::FullProfile();
  ASSERT_TRUE(WriteProfileFile(original, path).ok());
  std::string bytes = ReadBytes(path);
  ASSERT_GE(bytes.size(), 2u);
  EXPECT_EQ(static_cast<unsigned char>(bytes[0]), 0x1f);
  EXPECT_EQ(static_cast<unsigned char>(bytes[1]), 0x8b);
  absl::StatusOr<Profile> read = ReadProfileFile(path);
  ASSERT_TRUE(read.ok()) << Message(read.status());
  ExpectProfilesEqual(original, *read);
  // Written through a temporary file and a rename: nothing else is left.
  EXPECT_EQ(std::distance(fs::directory_iterator(dir), fs::directory_iterator()), 1);
}

TEST(ProfileCodecTest, ReadsGzipAndPlainAlike) {
  absl::StatusOr<Profile> gz = ReadProfileFile(kCorpus + "/valid/small.pb.gz");
  absl::StatusOr<Profile> plain = ReadProfileFile(kCorpus + "/valid/small.pb");
  ASSERT_TRUE(gz.ok()) << Message(gz.status());
  ASSERT_TRUE(plain.ok()) << Message(plain.status());
  ExpectProfilesEqual(*gz, *plain);
  // What tools/make_malformed_corpus.py put there.
  std::vector<ValueType> types = {{"inuse_space", "bytes"}, {"inuse_objects", "count"}};
  EXPECT_EQ(plain->sample_types, types);
  ASSERT_EQ(plain->samples.size(), 2u);
  EXPECT_EQ(plain->samples[0].values, (std::vector<int64_t>{4096, 4}));
  EXPECT_EQ(plain->samples[1].values, (std::vector<int64_t>{1024, 1}));
  ASSERT_EQ(plain->samples[0].locations.size(), 2u);
  const Location& leaf = plain->locations[plain->samples[0].locations[0]];
  EXPECT_EQ(leaf.address, 0x401000u);
  ASSERT_EQ(leaf.lines.size(), 1u);
  EXPECT_EQ(plain->functions[leaf.lines[0].function].name, "leak");
  EXPECT_EQ(plain->mappings[*leaf.mapping].filename, "/usr/bin/app");
  EXPECT_EQ(plain->period_type, (ValueType{"space", "bytes"}));
  EXPECT_EQ(plain->period, 524288);
  EXPECT_EQ(plain->comments, (std::vector<std::string>{"pid=4242"}));
  EXPECT_EQ(plain->default_sample_type, "inuse_space");
}

TEST(ProfileCodecTest, WritesEmptyFirstStringAndDenseIdsWhenIdsAreZero) {
  Profile profile = testing::FullProfile();
  for (Mapping& m : profile.mappings) m.id = 0;
  for (Location& l : profile.locations) l.id = 0;
  profile.functions[1].id = profile.functions[0].id;  // a duplicate renumbers the table too
  perftools::profiles::Profile wire;
  ASSERT_TRUE(wire.ParseFromString(SerializeProfile(profile)));
  ASSERT_GT(wire.string_table_size(), 0);
  EXPECT_EQ(wire.string_table(0), "");
  for (int i = 0; i < wire.mapping_size(); ++i) EXPECT_EQ(wire.mapping(i).id(), static_cast<uint64_t>(i + 1));
  for (int i = 0; i < wire.location_size(); ++i) EXPECT_EQ(wire.location(i).id(), static_cast<uint64_t>(i + 1));
  for (int i = 0; i < wire.function_size(); ++i) EXPECT_EQ(wire.function(i).id(), static_cast<uint64_t>(i + 1));
  // References follow the new ids: location #0 is in mapping #1 and calls function #1.
  EXPECT_EQ(wire.location(0).mapping_id(), 2u);
  EXPECT_EQ(wire.location(0).line(0).function_id(), 2u);
  EXPECT_EQ(wire.sample(0).location_id(0), 1u);
  // Ids that are fine are written as they are.
  Profile kept = testing::FullProfile();
  ASSERT_TRUE(wire.ParseFromString(SerializeProfile(kept)));
  EXPECT_EQ(wire.mapping(0).id(), 7u);
  EXPECT_EQ(wire.location(2).id(), 13u);
  EXPECT_EQ(wire.function(2).id(), 6u);
}

// Builds the wire form directly, for inputs our serializer never writes.
perftools::profiles::Profile MinimalWire() {
  perftools::profiles::Profile wire;
  for (const char* s : {"", "inuse_space", "bytes", "f"}) wire.add_string_table(s);
  auto* type = wire.add_sample_type();
  type->set_type(1);
  type->set_unit(2);
  auto* function = wire.add_function();
  function->set_id(1);
  function->set_name(3);
  auto* location = wire.add_location();
  location->set_id(1);
  location->set_address(0x10);
  location->add_line()->set_function_id(1);
  auto* sample = wire.add_sample();
  sample->add_location_id(1);
  sample->add_value(100);
  return wire;
}

TEST(ProfileCodecTest, AcceptsLocationsWithoutMappingAndLinesWithoutFunction) {
  perftools::profiles::Profile wire = MinimalWire();
  wire.mutable_location(0)->add_line()->set_line(5);  // function_id 0: pprof accepts it
  absl::StatusOr<Profile> parsed = ParseProfile(wire.SerializeAsString());
  ASSERT_TRUE(parsed.ok()) << Message(parsed.status());
  ASSERT_EQ(parsed->locations.size(), 1u);
  EXPECT_FALSE(parsed->locations[0].mapping.has_value());
  ASSERT_EQ(parsed->locations[0].lines.size(), 1u);  // the line without a function carries nothing
  EXPECT_EQ(parsed->functions[parsed->locations[0].lines[0].function].name, "f");
}

TEST(ProfileCodecTest, IgnoresFieldsOfANewerSchema) {
  std::string bytes = MinimalWire().SerializeAsString();
  bytes += std::string("\xa0\x06\x01", 3);  // field 100, varint 1
  absl::StatusOr<Profile> parsed = ParseProfile(bytes);
  ASSERT_TRUE(parsed.ok()) << Message(parsed.status());
  EXPECT_EQ(parsed->samples[0].values, (std::vector<int64_t>{100}));
}

TEST(ProfileCodecTest, ReadsGoStyleLabels) {
  perftools::profiles::Profile wire = MinimalWire();
  wire.add_string_table("bytes");  // 4: Go's heap profiles label each sample with its block size
  auto* label = wire.mutable_sample(0)->add_label();
  label->set_key(4);
  label->set_num(1024);
  absl::StatusOr<Profile> parsed = ParseProfile(wire.SerializeAsString());
  ASSERT_TRUE(parsed.ok()) << Message(parsed.status());
  ASSERT_EQ(parsed->samples[0].labels.size(), 1u);
  EXPECT_EQ(parsed->samples[0].labels[0], (Label{.key = "bytes", .num = 1024}));
}

TEST(ProfileCodecTest, RejectsSamplesWithoutSampleTypes) {
  perftools::profiles::Profile wire = MinimalWire();
  wire.clear_sample_type();
  absl::StatusOr<Profile> parsed = ParseProfile(wire.SerializeAsString());
  ASSERT_FALSE(parsed.ok());
  EXPECT_NE(Message(parsed.status()).find("no sample types"), std::string::npos) << Message(parsed.status());
}

TEST(ProfileCodecTest, ErrorsNameTheFile) {
  absl::StatusOr<Profile> missing = ReadProfileFile("/nonexistent/heap.1.1.pb.gz");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(Message(missing.status()), "/nonexistent/heap.1.1.pb.gz: No such file or directory");
  absl::StatusOr<Profile> directory = ReadProfileFile(kCorpus);
  ASSERT_FALSE(directory.ok());
  EXPECT_EQ(Message(directory.status()), kCorpus + ": is a directory");
  absl::Status write = WriteProfileFile(testing::FullProfile(), "/nonexistent/out.pb.gz");
  ASSERT_FALSE(write.ok());
  EXPECT_TRUE(Message(write).starts_with("/nonexistent/out.pb.gz: ")) << Message(write);
}

// What each file of tests/corpus/malformed/ must be refused for.
const std::map<std::string, std::string>& ExpectedErrors() {
  static const auto* errors = new std::map<std::string, std::string>{
      {"empty.pb.gz", "empty input"},
      {"empty_gzip.pb.gz", "decompressing: the gzip stream holds no data"},
      {"text.txt", "looks like a text file"},
      {"legacy_text_heap.prof", "legacy text heap profile"},
      {"bad_gzip.pb.gz", "decompressing: corrupt gzip data"},
      {"bad_gzip_crc.pb.gz", "decompressing: corrupt gzip data: incorrect data check"},
      {"truncated_gzip.pb.gz", "decompressing: unexpected end of gzip data"},
      {"concatenated.pb.gz", "more than one gzip member"},
      {"gzip_bomb.pb.gz", "inflates to more than 1 GiB"},
      {"truncated_protobuf.pb", "but only 3 remain"},
      {"huge_declared_length.pb", "declares 4611686018427387904 bytes"},
      {"invalid_tag.pb", "invalid field tag at byte 0"},
      {"group_wire_type.pb", "wire type 3"},
      {"wrong_wire_type.pb", "field 'sample_type' (number 1) has the wrong wire type"},
      {"wrong_wire_type_nested.pb", "location #0: field 'id' (number 1) has the wrong wire type"},
      {"no_sample_types.pb", "no sample types"},
      {"string_table_first_not_empty.pb", "string_table[0] must be the empty string"},
      {"string_index_out_of_range.pb", "function id 2 name: string index 99 out of range"},
      {"negative_string_index.pb", "string index -1 out of range"},
      {"dangling_location_id.pb", "sample #0 refers to location id 9, which does not exist"},
      {"dangling_function_id.pb", "location id 2 refers to function id 9, which does not exist"},
      {"dangling_mapping_id.pb", "location id 1 refers to mapping id 9, which does not exist"},
      {"zero_location_id.pb", "location #1 has id 0"},
      {"zero_mapping_id.pb", "mapping #0 has id 0"},
      {"duplicate_function_id.pb", "function id 1 is used twice"},
      {"duplicate_location_id.pb", "location id 1 is used twice"},
      {"wrong_value_count.pb", "sample #1 has 1 values for 2 sample types"},
      {"absurd_value.pb", "absurd value 4611686018427387904"},
      {"too_many_samples.pb.gz", "more than 16777216 samples"},
  };
  return *errors;
}

TEST(ProfileCodecTest, RefusesEveryMalformedCorpusFileWithAClearMessage) {
  std::set<std::string> seen;
  for (const fs::directory_entry& entry : fs::directory_iterator(kCorpus + "/malformed")) {
    std::string name = entry.path().filename().string();
    if (name == "README.md") continue;
    SCOPED_TRACE(name);
    seen.insert(name);
    auto expected = ExpectedErrors().find(name);
    ASSERT_NE(expected, ExpectedErrors().end()) << "no expectation for " << name << ": add one here";
    absl::StatusOr<Profile> profile = ReadProfileFile(entry.path().string());
    ASSERT_FALSE(profile.ok());
    std::string message = Message(profile.status());
    EXPECT_TRUE(message.starts_with(entry.path().string() + ": ")) << message;
    EXPECT_NE(message.find(expected->second), std::string::npos) << message;
  }
  EXPECT_EQ(seen.size(), ExpectedErrors().size()) << "a corpus file is missing: run tools/make_malformed_corpus.py";
}

TEST(ProfileCodecTest, GzipBombStopsWithoutHoldingTheInflatedBytes) {
  rusage before{}, after{};
  getrusage(RUSAGE_SELF, &before);
  absl::StatusOr<Profile> bomb = ReadProfileFile(kCorpus + "/malformed/gzip_bomb.pb.gz");
  getrusage(RUSAGE_SELF, &after);
  ASSERT_FALSE(bomb.ok());
  // Holding what it inflates to would take 1 GiB; the counting pass uses a
  // fixed 64 KiB buffer. (ru_maxrss is in KiB; 256 MiB leaves room for the
  // sanitizers' own bookkeeping.)
  EXPECT_LT(after.ru_maxrss - before.ru_maxrss, 256 * 1024);
}

TEST(ProfileCodecTest, RefusesWhatDoesNotInflateToOneProfile) {
  // A gzip stream followed by garbage.
  std::string dir = FreshTestDir("codec_trailing");
  ASSERT_TRUE(WriteProfileFile(testing::FullProfile(), dir + "/p.pb.gz").ok());
  std::string bytes = ReadBytes(dir + "/p.pb.gz") + "junk";
  absl::StatusOr<Profile> parsed = ParseProfile(bytes);
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(Message(parsed.status()), "decompressing: 4 bytes of trailing data after the gzip stream");
}

}  // namespace
}  // namespace heapwatch
