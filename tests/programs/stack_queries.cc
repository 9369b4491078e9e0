// stack_queries THREADS: starts THREADS threads, one after another; each
// asks glibc for its own stack (pthread_getattr_np, as Rust's std, JVMs and
// garbage collectors do) before anything else, then allocates 64 blocks in
// AllocateAfterStackQuery and frees them; prints "done".
//
// pthread_getattr_np holds the thread's lock while it allocates, so a
// profiler that asked the same question from inside that allocation would
// deadlock on the thread's own lock.
#include <pthread.h>

#include <cstdio>
#include <cstdlib>

#include "tests/programs/test_program.h"

NOINLINE void AllocateAfterStackQuery() {
  void* blocks[64];
  for (void*& block : blocks) {
    block = std::malloc(200);
    Escape(block);
  }
  for (void* block : blocks) std::free(block);
}

void* Thread(void*) {
  pthread_attr_t attributes;
  if (pthread_getattr_np(pthread_self(), &attributes) != 0) std::abort();
  void* address;
  size_t size;
  if (pthread_attr_getstack(&attributes, &address, &size) != 0 || size == 0) std::abort();
  pthread_attr_destroy(&attributes);
  AllocateAfterStackQuery();
  return nullptr;
}

int main(int argc, char** argv) {
  int threads = argc > 1 ? std::atoi(argv[1]) : 4;
  for (int i = 0; i < threads; ++i) {
    pthread_t thread;
    if (pthread_create(&thread, nullptr, Thread, nullptr) != 0) return 1;
    pthread_join(thread, nullptr);
  }
  std::puts("done");
  return 0;
}
