// daemonize: the classic double fork. The first child starts a new session
// and forks the daemon, then exits at once; the parent waits for the first
// child only. The daemon keeps blocks in KeepInDaemon, serves for 300 ms
// and exits. Prints "daemon <pid>" (the daemon's pid, through a pipe).
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>

#include "tests/programs/test_program.h"

NOINLINE void KeepInDaemon() {
  for (int i = 0; i < 9; ++i) Escape(std::malloc(3456));
}

int main() {
  int pipe_fds[2];
  EXPECT_OR_DIE(pipe(pipe_fds) == 0);
  pid_t first = fork();
  EXPECT_OR_DIE(first >= 0);
  if (first == 0) {
    setsid();
    pid_t daemon = fork();
    if (daemon == 0) {
      close(pipe_fds[0]);
      KeepInDaemon();
      ServeFor(300, 16, 1024);
      std::exit(0);
    }
    EXPECT_OR_DIE(write(pipe_fds[1], &daemon, sizeof(daemon)) == sizeof(daemon));
    _exit(0);  // the first child leaves at once, as daemon(3) does
  }
  close(pipe_fds[1]);
  pid_t daemon = 0;
  EXPECT_OR_DIE(read(pipe_fds[0], &daemon, sizeof(daemon)) == sizeof(daemon));
  int status = 0;
  EXPECT_OR_DIE(waitpid(first, &status, 0) == first && WIFEXITED(status));
  std::printf("daemon %d\n", daemon);
  return 0;
}
