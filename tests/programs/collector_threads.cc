// collector_threads MODE MS: works like a service for MS milliseconds on the
// main thread, then prints "threads=<n> heapwatch=<k>": the process's
// threads, and how many of them are the profiler's (named "heapwatch").
//   single    the program never starts a thread
//   threaded  the program first starts one thread of its own, which waits
//             until the end
//   no-more-threads  as threaded, then (run as root) becomes user nobody
//             with RLIMIT_NPROC 1, so that no thread can be created after
//             its own: the profiler's thread cannot start
#include <dirent.h>
#include <pthread.h>
#include <grp.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "tests/programs/test_program.h"

pthread_mutex_t g_mutex = PTHREAD_MUTEX_INITIALIZER;
pthread_cond_t g_done = PTHREAD_COND_INITIALIZER;
bool g_finished = false;

void* WaitUntilFinished(void*) {
  pthread_mutex_lock(&g_mutex);
  while (!g_finished) pthread_cond_wait(&g_done, &g_mutex);
  pthread_mutex_unlock(&g_mutex);
  return nullptr;
}

void CountThreads(int* threads, int* ours) {
  *threads = *ours = 0;
  DIR* dir = opendir("/proc/self/task");
  EXPECT_OR_DIE(dir != nullptr);
  while (dirent* entry = readdir(dir)) {
    if (entry->d_name[0] == '.') continue;
    ++*threads;
    char path[300], name[32] = "";
    std::snprintf(path, sizeof(path), "/proc/self/task/%s/comm", entry->d_name);
    if (FILE* f = std::fopen(path, "r")) {
      if (std::fgets(name, sizeof(name), f) != nullptr && std::strcmp(name, "heapwatch\n") == 0) ++*ours;
      std::fclose(f);
    }
  }
  closedir(dir);
}

int main(int argc, char** argv) {
  EXPECT_OR_DIE(argc == 3);
  bool no_more_threads = std::strcmp(argv[1], "no-more-threads") == 0;
  bool threaded = no_more_threads || std::strcmp(argv[1], "threaded") == 0;
  EXPECT_OR_DIE(threaded || std::strcmp(argv[1], "single") == 0);
  pthread_t thread;
  if (threaded) EXPECT_OR_DIE(pthread_create(&thread, nullptr, WaitUntilFinished, nullptr) == 0);
  if (no_more_threads) {
    // Exit 4: this machine cannot set the scene (not root, no user nobody in
    // this user namespace, or the limit is not enforced); the test skips.
    rlimit one = {1, 1};
    if (geteuid() != 0 || setgroups(0, nullptr) != 0 || setgid(65534) != 0 || setuid(65534) != 0 ||
        setrlimit(RLIMIT_NPROC, &one) != 0) {
      std::fprintf(stderr, "cannot become nobody with RLIMIT_NPROC 1\n");
      return 4;
    }
    pthread_t probe;
    if (pthread_create(&probe, nullptr, WaitUntilFinished, nullptr) == 0) {
      std::fprintf(stderr, "RLIMIT_NPROC is not enforced here\n");
      return 4;
    }
  }
  ServeFor(std::atol(argv[2]));
  int threads, ours;
  CountThreads(&threads, &ours);
  std::printf("threads=%d heapwatch=%d\n", threads, ours);
  if (threaded) {
    pthread_mutex_lock(&g_mutex);
    g_finished = true;
    pthread_cond_signal(&g_done);
    pthread_mutex_unlock(&g_mutex);
    pthread_join(thread, nullptr);
  }
  return 0;
}
