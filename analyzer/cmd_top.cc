// `heapwatch top PROFILE`: the functions of one profile ranked like `pprof -top`.

#include <getopt.h>

#include <cstdio>
#include <string>

#include "absl/strings/str_cat.h"
#include "analyzer/cli_args.h"
#include "analyzer/commands.h"
#include "analyzer/profile_codec.h"
#include "analyzer/top.h"

namespace heapwatch {
namespace {

constexpr char kUsage[] =
    "usage: heapwatch top [options] PROFILE\n"
    "\n"
    "Shows the functions of a pprof profile (gzipped or not) ranked by value, like\n"
    "`pprof -top`: flat is the value of the samples whose leaf frame is the function,\n"
    "cum of the samples with the function anywhere on the stack. Unsymbolized frames\n"
    "show as object+0xoffset. Bytes are shown in B, KiB, MiB, GiB.\n"
    "\n"
    "options:\n"
    "  --sample_index=TYPE  the sample type to show: a name (inuse_space,\n"
    "                       alloc_objects, ...) or a 0-based index (default: the\n"
    "                       profile's default type, else its last, as pprof does)\n"
    "  --nodecount=N        show the first N functions (default 20; 0: all)\n"
    "  --cum                sort by cum instead of flat\n"
    "  -h, --help           show this help\n"
    "\n"
    "exit status: 0 success, 2 usage or input error.\n";

// Default number of functions shown: a screenful.
constexpr size_t kDefaultNodeCount = 20;

}  // namespace

int TopCommand(int argc, char** argv) {
  enum { kSampleIndex = 1, kNodeCount, kCum };
  static const option kOptions[] = {{"sample_index", required_argument, nullptr, kSampleIndex},
                                    {"nodecount", required_argument, nullptr, kNodeCount},
                                    {"cum", no_argument, nullptr, kCum},
                                    {"help", no_argument, nullptr, 'h'},
                                    {nullptr, 0, nullptr, 0}};
  std::string sample_index;
  size_t nodecount = kDefaultNodeCount;
  bool sort_by_cum = false;
  std::optional<int> stop =
      ParseVerbOptions("top", argc, argv, "h", kOptions, kUsage, [&](int c, const char* arg) -> std::optional<int> {
        switch (c) {
          case kSampleIndex:
            sample_index = arg;
            break;
          case kNodeCount:
            return ParseCountOption("top", "--nodecount", arg, &nodecount);
          case kCum:
            sort_by_cum = true;
            break;
        }
        return std::nullopt;
      });
  if (stop) return *stop;
  if (argc - optind != 1) {
    std::fputs(kUsage, stderr);
    return Fail("top", "expected exactly one PROFILE");
  }
  std::string path = argv[optind];
  absl::StatusOr<Profile> profile = ReadProfileFile(path);
  if (!profile.ok()) return Fail("top", profile.status());
  absl::StatusOr<size_t> index = ResolveSampleIndex(*profile, sample_index);
  if (!index.ok()) return Fail("top", absl::StrCat(path, ": ", index.status().message()));
  TopReport report = BuildTop(*profile, *index, sort_by_cum);
  std::printf("File: %s\n%s", path.c_str(), FormatTop(report, nodecount).c_str());
  return 0;
}

}  // namespace heapwatch
