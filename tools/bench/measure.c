/* bench_measure: runs one command and reports its wall time and peak RSS.
 *
 *   bench_measure [-e NAME=VALUE]... [-i STDIN_FILE] [-o STDOUT_FILE] [-t TIMEOUT_SECONDS] -- COMMAND [ARG]...
 *
 * Prints one line on stdout:
 *   wall_ns=<n> maxrss_kb=<n> user_ns=<n> sys_ns=<n> status=<exit code, or 128+signal> timed_out=<0|1>
 * and exits 0 whenever the command could be started (its own status is in
 * the line), 2 on a usage error or when the command cannot be started.
 *
 * Wall time runs from just before fork to the moment wait4 returns; peak RSS
 * is wait4's ru_maxrss for the child, which the kernel takes as the maximum
 * over the child and every descendant it waited for (so a wrapper script such
 * as heaptrack's reports the largest of its processes). -e sets a variable
 * in the command's environment only: bench_measure itself must not run
 * under the LD_PRELOAD being measured. A timeout kills the command's whole
 * process group and is reported as timed_out=1.
 *
 * Written for the benchmark rather than using GNU time, which many machines
 * lack and whose output format differs between versions.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long long now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static long long timeval_ns(struct timeval tv) { return (long long)tv.tv_sec * 1000000000LL + tv.tv_usec * 1000LL; }

static int usage(void) {
  fprintf(stderr,
          "usage: bench_measure [-e NAME=VALUE]... [-i STDIN_FILE] [-o STDOUT_FILE] [-t TIMEOUT_SECONDS] "
          "-- COMMAND [ARG]...\n");
  return 2;
}

static volatile sig_atomic_t alarm_fired;
static void on_alarm(int signal_number) {
  (void)signal_number;
  alarm_fired = 1;
}

int main(int argc, char** argv) {
  const char* stdin_path = NULL;
  const char* stdout_path = NULL;
  unsigned timeout_seconds = 0;
  char** assignments = calloc((size_t)argc, sizeof(char*));
  int assignment_count = 0;
  int opt;
  while ((opt = getopt(argc, argv, "+e:i:o:t:")) != -1) {
    switch (opt) {
      case 'e':
        if (strchr(optarg, '=') == NULL) return usage();
        assignments[assignment_count++] = optarg;
        break;
      case 'i': stdin_path = optarg; break;
      case 'o': stdout_path = optarg; break;
      case 't': timeout_seconds = (unsigned)strtoul(optarg, NULL, 10); break;
      default: return usage();
    }
  }
  if (optind >= argc) return usage();
  char** command = argv + optind;

  int in_fd = -1, out_fd = -1;
  if (stdin_path && (in_fd = open(stdin_path, O_RDONLY | O_CLOEXEC)) < 0) {
    fprintf(stderr, "bench_measure: %s: %s\n", stdin_path, strerror(errno));
    return 2;
  }
  if (stdout_path && (out_fd = open(stdout_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) < 0) {
    fprintf(stderr, "bench_measure: %s: %s\n", stdout_path, strerror(errno));
    return 2;
  }
  /* The child reports a failed exec through this pipe (closed on exec). */
  int exec_pipe[2];
  if (pipe2(exec_pipe, O_CLOEXEC) != 0) return 2;

  long long start = now_ns();
  pid_t pid = fork();
  if (pid < 0) {
    fprintf(stderr, "bench_measure: fork: %s\n", strerror(errno));
    return 2;
  }
  if (pid == 0) {
    /* Its own process group, so a timeout can end wrapper scripts' children too. */
    setpgid(0, 0);
    if (in_fd >= 0) dup2(in_fd, 0);
    if (out_fd >= 0) dup2(out_fd, 1);
    for (int i = 0; i < assignment_count; ++i) putenv(assignments[i]);
    execvp(command[0], command);
    int error = errno;
    ssize_t ignored = write(exec_pipe[1], &error, sizeof(error));
    (void)ignored;
    _exit(127);
  }
  close(exec_pipe[1]);
  int exec_error = 0;
  if (read(exec_pipe[0], &exec_error, sizeof(exec_error)) == (ssize_t)sizeof(exec_error)) {
    waitpid(pid, NULL, 0);
    fprintf(stderr, "bench_measure: cannot run %s: %s\n", command[0], strerror(exec_error));
    return 2;
  }
  if (timeout_seconds > 0) {
    struct sigaction action;
    memset(&action, 0, sizeof(action));
    action.sa_handler = on_alarm; /* no SA_RESTART: wait4 returns EINTR */
    sigaction(SIGALRM, &action, NULL);
    alarm(timeout_seconds);
  }

  int status = 0;
  struct rusage usage_info;
  int timed_out = 0;
  for (;;) {
    pid_t done = wait4(pid, &status, 0, &usage_info);
    if (done == pid) break;
    if (done < 0 && errno == EINTR && alarm_fired) {
      timed_out = 1;
      alarm_fired = 0;
      kill(-pid, SIGKILL);
      continue;
    }
    if (done < 0 && errno != EINTR) {
      fprintf(stderr, "bench_measure: wait4: %s\n", strerror(errno));
      return 2;
    }
  }
  long long wall = now_ns() - start;
  int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  printf("wall_ns=%lld maxrss_kb=%ld user_ns=%lld sys_ns=%lld status=%d timed_out=%d\n", wall,
         usage_info.ru_maxrss, timeval_ns(usage_info.ru_utime), timeval_ns(usage_info.ru_stime), code, timed_out);
  return 0;
}
