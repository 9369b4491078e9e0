// dlopen_host PLUGIN MODE: loads PLUGIN and has it keep 20 blocks.
//   once     load and call once, keep it loaded
//   reopen   then dlclose it (its blocks stay allocated), load it again and
//            call again: 40 blocks from PluginKeep in all
//   deepbind as once, with RTLD_DEEPBIND (the plugin's own symbol lookups
//            first: its malloc must still be ours)
//   delete   then dlclose it and delete its file: nothing is left to read
//            its symbols from when the exit profile is written
#include <dlfcn.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>

#include "tests/programs/test_program.h"

void* CallPlugin(const char* path, int flags) {
  void* handle = dlopen(path, flags);
  if (handle == nullptr) {
    std::fprintf(stderr, "dlopen: %s\n", dlerror());
    std::exit(4);
  }
  auto leak = reinterpret_cast<void (*)(int)>(dlsym(handle, "PluginLeak"));
  EXPECT_OR_DIE(leak != nullptr);
  leak(20);
  return handle;
}

int main(int argc, char** argv) {
  EXPECT_OR_DIE(argc == 3);
  const char* mode = argv[2];
  if (std::strcmp(mode, "deepbind") == 0) {
    CallPlugin(argv[1], RTLD_NOW | RTLD_DEEPBIND);
    return 0;
  }
  void* handle = CallPlugin(argv[1], RTLD_NOW);
  if (std::strcmp(mode, "delete") == 0) {
    EXPECT_OR_DIE(dlclose(handle) == 0);
    EXPECT_OR_DIE(dlopen(argv[1], RTLD_NOW | RTLD_NOLOAD) == nullptr);
    EXPECT_OR_DIE(unlink(argv[1]) == 0);
  }
  if (std::strcmp(mode, "reopen") == 0) {
    void* handle = dlopen(argv[1], RTLD_NOW | RTLD_NOLOAD);
    EXPECT_OR_DIE(handle != nullptr);
    dlclose(handle);  // the reference NOLOAD took
    dlclose(handle);  // the first dlopen's: unloaded now
    EXPECT_OR_DIE(dlopen(argv[1], RTLD_NOW | RTLD_NOLOAD) == nullptr);
    CallPlugin(argv[1], RTLD_NOW);
  }
  return 0;
}
