// A shared library the dlopen test loads: its allocations must be named
// after its own functions.
#include <cstdlib>

#include "tests/programs/test_program.h"

constexpr size_t kPluginBlock = 333;
static void* g_plugin_kept[1000];
static int g_plugin_count = 0;

extern "C" NOINLINE void PluginKeep() {
  void* block = std::malloc(kPluginBlock);
  Escape(block);  // the array is never read: without this GCC drops the malloc
  g_plugin_kept[g_plugin_count++ % 1000] = block;
}

extern "C" void PluginLeak(int blocks) {
  for (int i = 0; i < blocks; ++i) PluginKeep();
}
