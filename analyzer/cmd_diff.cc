// `heapwatch diff BASE NEW`: per-function and per-stack heap deltas of two profiles.

#include <getopt.h>

#include <cstdio>
#include <string>

#include "absl/strings/str_cat.h"
#include "analyzer/cli_args.h"
#include "analyzer/commands.h"
#include "analyzer/diff.h"
#include "analyzer/profile_codec.h"

namespace heapwatch {
namespace {

constexpr char kUsage[] =
    "usage: heapwatch diff [options] BASE NEW\n"
    "\n"
    "Compares two heap profiles (pprof format, gzipped or not): in-use bytes and\n"
    "objects, NEW minus BASE, per function and per stack, largest change first.\n"
    "Frames are matched by function name, or by object and file offset when a\n"
    "frame has no name, never by address: runs with different ASLR compare cleanly.\n"
    "Per function, `site` counts the samples allocated from the function (the first\n"
    "frame outside the allocator), `cum` the samples with the function on the stack.\n"
    "\n"
    "options:\n"
    "  --alloc              also compare alloc_space and alloc_objects\n"
    "  --format=text|json   output format (default text)\n"
    "  --nodecount=N        show the first N functions and stacks (default 10; 0: all)\n"
    "  --out=FILE           also write FILE, a profile pprof shows like\n"
    "                       `pprof -diff_base=BASE NEW` (try `go tool pprof -top FILE`)\n"
    "  -h, --help           show this help\n"
    "\n"
    "exit status: 0 success (whether or not anything changed), 2 usage or input error.\n";

// Default number of functions and stacks shown: enough to see the story.
constexpr size_t kDefaultNodeCount = 10;

}  // namespace

int DiffCommand(int argc, char** argv) {
  enum { kAlloc = 1, kFormat, kNodeCount, kOut };
  static const option kOptions[] = {{"alloc", no_argument, nullptr, kAlloc},
                                    {"format", required_argument, nullptr, kFormat},
                                    {"nodecount", required_argument, nullptr, kNodeCount},
                                    {"out", required_argument, nullptr, kOut},
                                    {"help", no_argument, nullptr, 'h'},
                                    {nullptr, 0, nullptr, 0}};
  DiffOptions options;
  std::string format = "text";
  std::string out_path;
  size_t nodecount = kDefaultNodeCount;
  std::optional<int> stop =
      ParseVerbOptions("diff", argc, argv, "h", kOptions, kUsage, [&](int c, const char* arg) -> std::optional<int> {
        switch (c) {
          case kAlloc:
            options.include_alloc = true;
            break;
          case kFormat:
            format = arg;
            if (format != "text" && format != "json") {
              return Fail("diff", absl::StrCat("--format wants text or json, got '", format, "'"));
            }
            break;
          case kNodeCount:
            return ParseCountOption("diff", "--nodecount", arg, &nodecount);
          case kOut:
            out_path = arg;
            if (out_path.empty()) return Fail("diff", "--out wants a file name");
            break;
        }
        return std::nullopt;
      });
  if (stop) return *stop;
  if (argc - optind != 2) {
    std::fputs(kUsage, stderr);
    return Fail("diff", "expected BASE and NEW");
  }
  std::string base_path = argv[optind], new_path = argv[optind + 1];
  absl::StatusOr<Profile> base = ReadProfileFile(base_path);
  if (!base.ok()) return Fail("diff", base.status());
  absl::StatusOr<Profile> current = ReadProfileFile(new_path);
  if (!current.ok()) return Fail("diff", current.status());

  absl::StatusOr<ProfileDiff> diff = DiffProfiles(*base, *current, options);
  if (!diff.ok()) return Fail("diff", absl::StrCat(base_path, " vs ", new_path, ": ", diff.status().message()));
  if (!out_path.empty()) {
    absl::StatusOr<Profile> diff_profile = DiffBaseProfile(*base, *current, options);
    if (!diff_profile.ok()) return Fail("diff", diff_profile.status());
    if (absl::Status s = WriteProfileFile(*diff_profile, out_path); !s.ok()) return Fail("diff", s);
  }
  if (format == "json") {
    nlohmann::json json = DiffToJson(*diff, nodecount);
    json["base"] = base_path;
    json["new"] = new_path;
    if (!out_path.empty()) json["out"] = out_path;
    // Names from a profile are bytes, not necessarily UTF-8: replace what is not.
    std::printf("%s\n", json.dump(2, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
  } else {
    std::printf("Base: %s\nNew:  %s\n\n%s", base_path.c_str(), new_path.c_str(), FormatDiffText(*diff, nodecount).c_str());
    if (!out_path.empty()) {
      std::printf("\nWrote %s (view it with `go tool pprof -top %s`).\n", out_path.c_str(), out_path.c_str());
    }
  }
  return 0;
}

}  // namespace heapwatch
