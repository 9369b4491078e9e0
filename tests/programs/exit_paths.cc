// exit_paths MODE [RUN_MS]: keeps 3 blocks in KeepAtExit, then works like a
// service for RUN_MS (allocating and freeing ~1 MB per millisecond, so the
// profiler samples and writes its periodic profiles), then ends the way MODE
// says: exit, return, _exit, quick_exit, abort, exception, sigterm, sigkill
#include <signal.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <stdexcept>

#include "tests/programs/test_program.h"

constexpr int kBlocks = 3, kSize = 5555;
void* g_kept[kBlocks];

NOINLINE void KeepAtExit() {
  for (int i = 0; i < kBlocks; ++i) g_kept[i] = std::malloc(kSize);
}

int main(int argc, char** argv) {
  EXPECT_OR_DIE(argc >= 2);
  KeepAtExit();
  if (argc > 2) ServeFor(std::atol(argv[2]));
  const char* mode = argv[1];
  if (!std::strcmp(mode, "exit")) std::exit(0);
  if (!std::strcmp(mode, "return")) return 0;
  if (!std::strcmp(mode, "_exit")) _exit(0);
  if (!std::strcmp(mode, "quick_exit")) std::quick_exit(0);
  if (!std::strcmp(mode, "abort")) std::abort();
  if (!std::strcmp(mode, "exception")) throw std::runtime_error("escapes main");
  if (!std::strcmp(mode, "sigterm")) raise(SIGTERM);
  if (!std::strcmp(mode, "sigkill")) raise(SIGKILL);
  return 9;  // unknown mode
}
