// Uses the heapwatch_* API the way a program should: looked up at run time.
// Prints "active=<0|1> rate=<n> dumps=<n ok>" and calls heapwatch_dump()
// twice: once from main, once from a thread with a small (128 KiB) stack.
#include <dlfcn.h>
#include <pthread.h>

#include <cstdio>
#include <cstdlib>

#include "tests/programs/test_program.h"

using DumpFn = int (*)();
DumpFn g_dump = nullptr;
int g_thread_result = -2;

NOINLINE void KeepBeforeDump() { Escape(std::malloc(7777)); }

void* DumpFromSmallStack(void*) {
  g_thread_result = g_dump();
  return nullptr;
}

int main() {
  auto active = reinterpret_cast<int (*)()>(dlsym(RTLD_DEFAULT, "heapwatch_is_active"));
  auto rate = reinterpret_cast<long long (*)()>(dlsym(RTLD_DEFAULT, "heapwatch_sample_rate"));
  g_dump = reinterpret_cast<DumpFn>(dlsym(RTLD_DEFAULT, "heapwatch_dump"));
  if (active == nullptr || rate == nullptr || g_dump == nullptr) {
    std::printf("active=0 rate=0 dumps=0\n");  // not preloaded: nothing to call
    return 0;
  }
  KeepBeforeDump();
  int ok = g_dump() == 0;
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, 128 * 1024);
  pthread_t thread;
  EXPECT_OR_DIE(pthread_create(&thread, &attr, DumpFromSmallStack, nullptr) == 0);
  pthread_join(thread, nullptr);
  ok += g_thread_result == 0;
  std::printf("active=%d rate=%lld dumps=%d\n", active(), rate(), ok);
  return 0;
}
