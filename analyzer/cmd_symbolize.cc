// heapwatch symbolize: fills in source files, line numbers and inlined
// frames from the binaries' DWARF (symbolize.h), so that `go tool pprof`
// shows file:line without the binaries. Writes OUT, or replaces IN (through
// a temporary file and a rename) when OUT is not given.

#include <getopt.h>

#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "analyzer/cli_args.h"
#include "analyzer/commands.h"
#include "analyzer/profile_codec.h"
#include "analyzer/symbolize.h"

namespace heapwatch {
namespace {

constexpr char kUsage[] =
    "usage: heapwatch symbolize [options] IN [OUT]\n"
    "\n"
    "Adds source files, line numbers and inlined frames from the binaries' DWARF\n"
    "debug info to the pprof profile IN, so that pprof shows file:line without\n"
    "the binaries. Writes OUT, or replaces IN when OUT is not given.\n"
    "\n"
    "A mapping's binary is looked up in the --binary-path directories (as pprof's\n"
    "PPROF_BINARY_PATH), at the mapping's own path, and under the debug\n"
    "directories' .build-id/; a file whose GNU build ID differs from the\n"
    "profile's is refused. Separate debug info is found by build ID and by\n"
    ".gnu_debuglink. A mapping that cannot be symbolized keeps the names it had\n"
    "and gets a warning. Mappings already symbolized are left alone.\n"
    "\n"
    "options:\n"
    "  --binary-path DIR[:DIR...]  search these directories for binaries first (repeatable)\n"
    "  --debug-dir DIR             also search DIR for separate debug info, before\n"
    "                              /usr/lib/debug (repeatable)\n"
    "  --force                     symbolize again mappings and locations that have files and lines\n"
    "  -q, --quiet                 print no warnings and no summary\n"
    "  -h, --help                  this help\n"
    "\n"
    "Exit status: 0 when the profile was written (even with warnings), 2 on a\n"
    "usage error or when IN cannot be read or OUT cannot be written.\n";

void AppendPathList(std::string_view list, std::vector<std::string>* dirs) {
  size_t start = 0;
  while (start <= list.size()) {
    size_t end = list.find(':', start);
    if (end == std::string_view::npos) end = list.size();
    if (end > start) dirs->emplace_back(list.substr(start, end - start));
    start = end + 1;
  }
}

}  // namespace

int SymbolizeCommand(int argc, char** argv) {
  enum { kBinaryPath = 1, kDebugDir, kForce };
  static const option kOptions[] = {{"binary-path", required_argument, nullptr, kBinaryPath},
                                    {"debug-dir", required_argument, nullptr, kDebugDir},
                                    {"force", no_argument, nullptr, kForce},
                                    {"quiet", no_argument, nullptr, 'q'},
                                    {"help", no_argument, nullptr, 'h'},
                                    {nullptr, 0, nullptr, 0}};
  SymbolizeOptions options;
  std::vector<std::string> debug_dirs;
  bool quiet = false;
  std::optional<int> stop = ParseVerbOptions(
      "symbolize", argc, argv, "qh", kOptions, kUsage, [&](int c, const char* arg) -> std::optional<int> {
        switch (c) {
          case kBinaryPath:
            AppendPathList(arg, &options.binary_path);
            break;
          case kDebugDir:
            debug_dirs.push_back(arg);
            break;
          case kForce:
            options.force = true;
            break;
          case 'q':
            quiet = true;
            break;
        }
        return std::nullopt;
      });
  if (stop) return *stop;
  if (argc - optind < 1 || argc - optind > 2) {
    std::fputs(kUsage, stderr);
    return Fail("symbolize", "expected IN [OUT]");
  }
  // --debug-dir directories come before the default /usr/lib/debug.
  debug_dirs.insert(debug_dirs.end(), options.debug_roots.begin(), options.debug_roots.end());
  options.debug_roots = debug_dirs;
  std::string in = argv[optind];
  std::string out = argc - optind == 2 ? argv[optind + 1] : in;

  absl::StatusOr<Profile> profile = ReadProfileFile(in);
  if (!profile.ok()) return Fail("symbolize", profile.status());
  SymbolizeReport report = Symbolize(*profile, options);
  if (absl::Status written = WriteProfileFile(*profile, out); !written.ok())
    return Fail("symbolize", written);
  if (!quiet) {
    for (const std::string& warning : report.warnings) {
      std::fprintf(stderr, "heapwatch symbolize: warning: %s\n", warning.c_str());
    }
    std::fprintf(stderr, "heapwatch symbolize: %zu locations symbolized in %zu mappings; wrote %s\n",
                 report.locations_symbolized, report.mappings_symbolized, out.c_str());
  }
  return 0;
}

}  // namespace heapwatch
