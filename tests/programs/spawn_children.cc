// spawn_children MODE PROGRAM: starts PROGRAM as a child the way MODE says
// and prints "child <pid>" (for system(), the shell's child is not known:
// it prints "child 0").
//   posix_spawn   glibc's posix_spawn (clone(CLONE_VFORK), no atfork handlers)
//   vfork         vfork then execv
//   system        system("PROGRAM")
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "tests/programs/test_program.h"

extern char** environ;

int main(int argc, char** argv) {
  EXPECT_OR_DIE(argc == 3);
  const char* mode = argv[1];
  char* child_argv[] = {argv[2], nullptr};
  pid_t pid = 0;
  if (!std::strcmp(mode, "posix_spawn")) {
    EXPECT_OR_DIE(posix_spawn(&pid, argv[2], nullptr, nullptr, child_argv, environ) == 0);
  } else if (!std::strcmp(mode, "vfork")) {
    pid = vfork();
    if (pid == 0) {
      execv(argv[2], child_argv);
      _exit(127);
    }
  } else if (!std::strcmp(mode, "system")) {
    int status = std::system(argv[2]);
    EXPECT_OR_DIE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    std::printf("child 0\n");
    return 0;
  } else {
    return 9;
  }
  EXPECT_OR_DIE(pid > 0);
  std::printf("child %d\n", pid);
  int status = 0;
  EXPECT_OR_DIE(waitpid(pid, &status, 0) == pid);
  EXPECT_OR_DIE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  // The parent goes on allocating normally after its child.
  for (int i = 0; i < 1000; ++i) Escape(std::malloc(64));
  return 0;
}
