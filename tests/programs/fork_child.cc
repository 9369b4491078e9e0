// fork_child MODE, printing "child <pid>" for each child to stdout.
//   simple   the parent keeps 5 blocks, forks; the child keeps 7 blocks of its
//            own and exits; the parent waits
//   stress   4 threads allocate and free without pause (taking the
//            profiler's locks all the time) while main forks 30 children
//            that allocate and exit
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>
#include <vector>

#include "tests/programs/test_program.h"

constexpr int kParentBlocks = 5, kParentSize = 1111;
constexpr int kChildBlocks = 7, kChildSize = 2222;
void* g_kept[64];

NOINLINE void KeepInParent() {
  for (int i = 0; i < kParentBlocks; ++i) g_kept[i] = std::malloc(kParentSize);
}
NOINLINE void KeepInChild() {
  for (int i = 0; i < kChildBlocks; ++i) g_kept[32 + i] = std::malloc(kChildSize);
}

pid_t ForkChild() {
  std::fflush(stdout);
  pid_t pid = fork();
  EXPECT_OR_DIE(pid >= 0);
  if (pid == 0) {
    KeepInChild();
    std::exit(0);
  }
  std::printf("child %d\n", pid);
  return pid;
}

void Wait(pid_t pid) {
  int status = 0;
  EXPECT_OR_DIE(waitpid(pid, &status, 0) == pid);
  EXPECT_OR_DIE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

int main(int argc, char** argv) {
  EXPECT_OR_DIE(argc == 2);
  KeepInParent();
  if (std::strcmp(argv[1], "simple") == 0) {
    Wait(ForkChild());
    return 0;
  }
  std::atomic<bool> stop{false};
  std::vector<std::thread> churners;
  for (int t = 0; t < 4; ++t) {
    churners.emplace_back([&] {
      std::vector<void*> blocks;
      while (!stop.load(std::memory_order_relaxed)) {
        for (int i = 0; i < 64; ++i) blocks.push_back(std::malloc(48 + i));
        for (void* p : blocks) std::free(p);
        blocks.clear();
      }
    });
  }
  for (int i = 0; i < 30; ++i) Wait(ForkChild());
  stop = true;
  for (std::thread& t : churners) t.join();
  return 0;
}
