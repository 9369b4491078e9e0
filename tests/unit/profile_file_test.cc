// ProfileFile: the gzip stream it writes, and what that stream costs.
#include "preload/profile_file.h"

#include <errno.h>
#include <zlib.h>

#include <cstdint>
#include <fstream>
#include <random>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tests/unit/shell_and_files.h"

namespace heapwatch {
namespace {

// Bytes shaped like a heap profile's encoding: samples (a key, a length,
// the stack's location ids, four values), then locations (an id, an address
// near others), then function names with shared prefixes. Each sample's
// stack is its own, a path from the root of a call tree, so stacks share
// their outer frames as real programs' do.
std::vector<uint8_t> ProfileLikeBytes(int samples) {
  std::vector<uint8_t> out;
  auto varint = [&](uint64_t v) {
    while (v >= 0x80) {
      out.push_back(static_cast<uint8_t>(v | 0x80));
      v >>= 7;
    }
    out.push_back(static_cast<uint8_t>(v));
  };
  std::mt19937_64 random(7);
  for (int i = 0; i < samples; ++i) {
    std::vector<uint64_t> stack;
    uint64_t id = 1;
    for (size_t depth = 6 + random() % 24; depth > 0; --depth) {
      id = (id * 0x9e3779b97f4a7c15ull + random() % 3) % 3000 + 1;
      stack.push_back(id);
    }
    out.push_back(0x12);
    varint(stack.size() + 12);
    for (auto it = stack.rbegin(); it != stack.rend(); ++it) varint(*it);  // leaf first
    // Allocations and bytes, in use and in total, of blocks of a few sizes.
    uint64_t size = 16 << (random() % 8), in_use = random() % 8, total = in_use + random() % 64;
    for (uint64_t v : {in_use, in_use * size, total, total * size}) varint(v);
  }
  for (uint64_t id = 1; id <= 3000; ++id) {
    out.push_back(0x22);
    out.push_back(14);
    varint(id);
    varint(0x5555'5555'0000 + id * 37 + random() % 16);
  }
  const char* prefixes[] = {"std::vector<int, std::allocator<int> >::", "heapwatch::(anonymous namespace)::",
                            "absl::container_internal::raw_hash_set<", "sqlite3"};
  for (int i = 0; i < 2000; ++i) {
    std::string name = std::string(prefixes[random() % 4]) + "Function" + std::to_string(random() % 5000);
    out.push_back(0x32);
    varint(name.size());
    out.insert(out.end(), name.begin(), name.end());
  }
  return out;
}

std::vector<uint8_t> Gunzip(const std::vector<uint8_t>& gz) {
  z_stream z = {};
  EXPECT_EQ(inflateInit2(&z, 15 + 16), Z_OK);
  std::vector<uint8_t> out(1 << 16);
  z.next_in = const_cast<uint8_t*>(gz.data());
  z.avail_in = static_cast<uInt>(gz.size());
  size_t used = 0;
  int status;
  do {
    if (used == out.size()) out.resize(out.size() * 2);
    z.next_out = out.data() + used;
    z.avail_out = static_cast<uInt>(out.size() - used);
    status = inflate(&z, Z_NO_FLUSH);
    used = out.size() - z.avail_out;
  } while (status == Z_OK);
  EXPECT_EQ(status, Z_STREAM_END);
  inflateEnd(&z);
  out.resize(used);
  return out;
}

// gzip with zlib's default window and hash, at the same level.
size_t DefaultGzipSize(const std::vector<uint8_t>& data) {
  z_stream z = {};
  EXPECT_EQ(deflateInit2(&z, Z_BEST_SPEED, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY), Z_OK);
  std::vector<uint8_t> out(deflateBound(&z, data.size()) + 64);
  z.next_in = const_cast<uint8_t*>(data.data());
  z.avail_in = static_cast<uInt>(data.size());
  z.next_out = out.data();
  z.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(deflate(&z, Z_FINISH), Z_STREAM_END);
  size_t size = z.total_out;
  deflateEnd(&z);
  return size;
}

class ProfileFileTest : public testing::Test {
 protected:
  void SetUp() override { ASSERT_FALSE(scratch_.path().empty()); }

  std::vector<uint8_t> ReadFile(const std::string& name) {
    std::string bytes = test_support::ReadFileBytes(scratch_ / name);
    return {bytes.begin(), bytes.end()};
  }

  test_support::ScratchDirectory scratch_;
  const std::string& dir_ = scratch_.path();
};

TEST_F(ProfileFileTest, WritesWhatWasGivenAsOneGzipStream) {
  std::vector<uint8_t> data = ProfileLikeBytes(20000);
  ProfileFile file;
  ASSERT_TRUE(file.Open(dir_.c_str(), "p.pb.gz"));
  // In pieces of awkward sizes, as the protobuf writer hands them over.
  for (size_t at = 0; at < data.size();) {
    size_t piece = std::min<size_t>(data.size() - at, 1 + at % 5003);
    ASSERT_TRUE(file.Write(data.data() + at, piece));
    at += piece;
  }
  ASSERT_TRUE(file.Commit());
  std::vector<uint8_t> gz = ReadFile("p.pb.gz");
  ASSERT_GE(gz.size(), 2u);
  EXPECT_EQ(gz[0], 0x1f);
  EXPECT_EQ(gz[1], 0x8b);
  EXPECT_EQ(Gunzip(gz), data);
}

// The compressor's state is small while a file is open, and gone after; the
// files stay about as small as zlib's defaults make them: within 5% on
// these bytes, whose random values and names repeat less than real
// profiles' (0.2% over 300 profiles of our e2e tests).
TEST_F(ProfileFileTest, CompressesAsWellAsTheDefaultsWithLessMemory) {
  for (int samples : {50, 2000, 20000}) {
    SCOPED_TRACE(samples);
    std::vector<uint8_t> data = ProfileLikeBytes(samples);
    ProfileFile file;
    EXPECT_EQ(file.compressor_bytes(), 0u);
    ASSERT_TRUE(file.Open(dir_.c_str(), "p.pb.gz"));
    EXPECT_GT(file.compressor_bytes(), 0u);
    EXPECT_LE(file.compressor_bytes(), 176u * 1024) << "zlib's default maps 268 KiB";
    ASSERT_TRUE(file.Write(data.data(), data.size()));
    ASSERT_TRUE(file.Commit());
    EXPECT_EQ(file.compressor_bytes(), 0u);
    size_t ours = ReadFile("p.pb.gz").size();
    size_t reference = DefaultGzipSize(data);
    EXPECT_LE(ours, reference + reference / 20) << "raw " << data.size() << " bytes";
  }
}

// Enough long names that getdents64 needs many buffers.
TEST_F(ProfileFileTest, ListsEveryEntryOfADirectoryOnce) {
  std::set<std::string> made;
  for (int i = 0; i < 400; ++i) {
    std::string name = "heap." + std::to_string(i) + "." + std::string(60, 'n') + ".pb.gz";
    std::ofstream(dir_ + "/" + name) << i;
    made.insert(name);
  }
  std::multiset<std::string> seen;
  ASSERT_TRUE(ForEachDirectoryEntry(
      dir_.c_str(), [](const char* name, void* seen) { static_cast<std::multiset<std::string>*>(seen)->insert(name); },
      &seen));
  EXPECT_EQ(std::set<std::string>(seen.begin(), seen.end()), made);
  EXPECT_EQ(seen.size(), made.size());
  errno = 0;
  EXPECT_FALSE(ForEachDirectoryEntry((dir_ + "/missing").c_str(), [](const char*, void*) {}, nullptr));
  EXPECT_EQ(errno, ENOENT);
}

}  // namespace
}  // namespace heapwatch
