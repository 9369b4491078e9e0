// exec_child PROGRAM ARGS...: forks, execs PROGRAM in the child, prints
// "child <pid>" and exits with the child's status.
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>

#include "tests/programs/test_program.h"

int main(int argc, char** argv) {
  EXPECT_OR_DIE(argc >= 2);
  std::fflush(stdout);
  pid_t pid = fork();
  if (pid == 0) {
    execv(argv[1], argv + 1);
    _exit(127);
  }
  std::printf("child %d\n", pid);
  int status = 0;
  EXPECT_OR_DIE(waitpid(pid, &status, 0) == pid);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
