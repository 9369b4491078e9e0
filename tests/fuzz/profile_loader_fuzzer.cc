// libFuzzer target for the profile reader (analyzer/profile_codec.h).
//
// Any input must either be refused with a status or give a valid profile,
// never crash, hang, leak or trip ASan/UBSan; and a profile that was
// accepted must survive our own writer: written, read back and written again
// it gives the same bytes. Run it with tools/fuzz.sh.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "analyzer/profile_codec.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<heapwatch::Profile> profile = heapwatch::ParseProfile(input);
  if (!profile.ok()) return 0;
  if (!profile->CheckValid().ok()) {
    std::fprintf(stderr, "ParseProfile accepted a profile that fails CheckValid\n");
    std::abort();
  }
  std::string written = heapwatch::SerializeProfile(*profile);
  absl::StatusOr<heapwatch::Profile> again = heapwatch::ParseProfile(written);
  if (!again.ok()) {
    std::fprintf(stderr, "our own output does not parse: %s\n", std::string(again.status().message()).c_str());
    std::abort();
  }
  if (heapwatch::SerializeProfile(*again) != written) {
    std::fprintf(stderr, "write -> read -> write changed the profile\n");
    std::abort();
  }
  return 0;
}
