// Leak zoo: FILE* never fclose'd (Go: unclosed files and response bodies).
//
// Each tick the service loads 8 templates through each of two loaders. A
// loader opens the file with fopen, reads its header with fread (which makes
// stdio allocate the stream's buffer: st_blksize bytes, 4 KiB on most file
// systems) and rejects any file whose header is not a template's. The
// leaking loader returns on that error path without fclose: the FILE, its
// buffer and its descriptor stay. The control closes on every path. In this
// run every file is rejected: the "templates" are the program itself.
//
//   LoadTemplateLeavingFileOpen   leak: 8 FILEs per tick, ~4.5 KiB each (~9 MiB and
//                                 2000 descriptors over 250 ticks)
//   LoadTemplateAndClose          control: the same loader with fclose on the error path (stable)
//
// The allocations happen inside fopen and fread (libc frames); the first
// user frame is the loader. The soft descriptor limit is raised to what the
// run needs, as servers do; the program stops with exit 3 if the hard limit
// is too low.
#include <sys/resource.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "tests/leakzoo/zoo_service.h"

constexpr int kLoadsPerTick = 8;  // 8 x 4.5 KiB x 250 ticks ~ 9 MiB: ~18 samples at the default rate
constexpr char kTemplateMagic[] = "TMPL1\n";
constexpr char kTemplatePath[] = "/proc/self/exe";  // always there, never a template

enum class LoadResult { kLoaded, kNotATemplate, kCannotOpen };

// The leak: the error path returns without fclose.
NOINLINE LoadResult LoadTemplateLeavingFileOpen(const char* path) {
  FILE* file = std::fopen(path, "r");
  if (file == nullptr) return LoadResult::kCannotOpen;
  char header[64];
  size_t got = std::fread(header, 1, sizeof(header), file);
  if (got < sizeof(kTemplateMagic) - 1 || std::memcmp(header, kTemplateMagic, sizeof(kTemplateMagic) - 1) != 0) {
    return LoadResult::kNotATemplate;
  }
  std::fclose(file);
  return LoadResult::kLoaded;
}

NOINLINE LoadResult LoadTemplateAndClose(const char* path) {
  FILE* file = std::fopen(path, "r");
  if (file == nullptr) return LoadResult::kCannotOpen;
  char header[64];
  size_t got = std::fread(header, 1, sizeof(header), file);
  if (got < sizeof(kTemplateMagic) - 1 || std::memcmp(header, kTemplateMagic, sizeof(kTemplateMagic) - 1) != 0) {
    std::fclose(file);
    return LoadResult::kNotATemplate;
  }
  std::fclose(file);
  return LoadResult::kLoaded;
}

// Raises the soft descriptor limit to cover the files this run leaks.
void EnsureDescriptorLimit(const ZooOptions& options) {
  rlim_t needed = static_cast<rlim_t>(options.iterations) * kLoadsPerTick + 256;  // + stdio, preload, checkers
  rlimit limit;
  EXPECT_OR_DIE(getrlimit(RLIMIT_NOFILE, &limit) == 0);
  if (limit.rlim_cur >= needed) return;
  if (limit.rlim_max != RLIM_INFINITY && limit.rlim_max < needed) {
    std::fprintf(stderr, "unclosed_files: needs %llu descriptors, the hard limit is %llu\n",
                 static_cast<unsigned long long>(needed), static_cast<unsigned long long>(limit.rlim_max));
    std::exit(3);
  }
  limit.rlim_cur = needed;
  EXPECT_OR_DIE(setrlimit(RLIMIT_NOFILE, &limit) == 0);
}

int main(int argc, char** argv) {
  ZooOptions options = ParseZooOptions(argc, argv);
  if (!options.clean) EnsureDescriptorLimit(options);
  RunRequestLoop(options, [&](int, Rng& rng) {
    ServeBackgroundTraffic(rng);
    for (int i = 0; i < kLoadsPerTick; ++i) {
      if (!options.clean) EXPECT_OR_DIE(LoadTemplateLeavingFileOpen(kTemplatePath) == LoadResult::kNotATemplate);
      EXPECT_OR_DIE(LoadTemplateAndClose(kTemplatePath) == LoadResult::kNotATemplate);
    }
  });
  return 0;
}
