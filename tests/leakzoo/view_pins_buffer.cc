// Leak zoo: a view into a big buffer kept alive (Go: a substring or subslice
// keeps the whole backing array).
//
// The service receives 96 KiB uploads and records each upload's 12-byte
// content id in a long-lived index (for de-duplication). The leaking handler
// keeps the id as a view that shares ownership of the upload (the
// std::shared_ptr aliasing constructor, as folly::IOBuf or arrow::Buffer
// slices do), so each 96 KiB upload stays alive for the sake of 12 bytes.
// Its control has the same shape but copies the id out (12 bytes fit in
// std::string's inline buffer) and lets the upload go.
//
//   IndexUploadKeepingView     leak: +96 KiB per tick (24 MiB over 250 ticks)
//   IndexUploadCopyingId       control: each upload freed before it returns (stable)
//
// Both indexes are reserved up front (ReserveContentIndexes), so neither
// grows by its own bookkeeping: all growth is the pinned uploads.
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "tests/leakzoo/zoo_service.h"

constexpr size_t kUploadBytes = 96 * 1024;  // 250 ticks pin 24 MiB: ~48 samples at the default rate
constexpr size_t kContentIdBytes = 12;      // fits std::string's inline buffer (15 chars)
constexpr std::string_view kIdPrefix = "content-id=";

// A view that keeps its buffer alive.
struct SharedSlice {
  std::shared_ptr<const char> data;  // aliases the upload that owns the bytes
  size_t size = 0;
  std::string_view view() const { return {data.get(), size}; }
};

std::vector<SharedSlice> g_ids_by_view;     // leak: each entry pins an upload
std::vector<std::string> g_ids_copied;      // control: each entry owns 12 bytes inline

// Writes "content-id=<12 chars>;" then filler into an upload buffer.
void FillUpload(std::string& upload, uint64_t request_id) {
  FillBytes(upload.data(), upload.size(), request_id);
  std::memcpy(upload.data(), kIdPrefix.data(), kIdPrefix.size());
  upload[kIdPrefix.size() + kContentIdBytes] = ';';
}

std::string_view ContentId(const std::string& upload) {
  EXPECT_OR_DIE(std::string_view(upload).starts_with(kIdPrefix));
  return std::string_view(upload).substr(kIdPrefix.size(), kContentIdBytes);
}

NOINLINE void ReserveContentIndexes(const ZooOptions& options) {
  g_ids_by_view.reserve(options.iterations);
  g_ids_copied.reserve(options.iterations);
}

// The leak: the index entry is a view that owns the whole upload.
NOINLINE void IndexUploadKeepingView(uint64_t request_id) {
  auto upload = std::make_shared<std::string>(kUploadBytes, '\0');
  FillUpload(*upload, request_id);
  std::string_view id = ContentId(*upload);
  g_ids_by_view.push_back(SharedSlice{std::shared_ptr<const char>(upload, id.data()), id.size()});
}

// The control: the same upload, the id copied out of it.
NOINLINE void IndexUploadCopyingId(uint64_t request_id) {
  auto upload = std::make_shared<std::string>(kUploadBytes, '\0');
  FillUpload(*upload, request_id);
  g_ids_copied.emplace_back(ContentId(*upload));
}

int main(int argc, char** argv) {
  ZooOptions options = ParseZooOptions(argc, argv);
  ReserveContentIndexes(options);
  RunRequestLoop(options, [&](int tick, Rng& rng) {
    ServeBackgroundTraffic(rng);
    uint64_t request_id = Uniform(rng, 1, UINT64_MAX / 2);
    if (!options.clean) IndexUploadKeepingView(request_id);
    IndexUploadCopyingId(request_id + 1);
    Escape(&tick);
  });
  EXPECT_OR_DIE(g_ids_copied.size() == static_cast<size_t>(options.iterations));
  if (!options.clean) {
    EXPECT_OR_DIE(g_ids_by_view.size() == g_ids_copied.size());
    EXPECT_OR_DIE(g_ids_by_view.back().view().size() == kContentIdBytes);
  }
  return 0;
}
