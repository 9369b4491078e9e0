// Start-up, exit and fork: when the profiler switches on, where its output
// goes, and the last profile.
//
// Start-up runs in our constructor. Allocations before it (other libraries'
// constructors run first when the program depends on them) pass through
// unrecorded; freeing them later is harmless, since only recorded blocks are
// looked up. The exit profile is written by our destructor, which the
// dynamic loader runs after the program's atexit handlers and static
// destructors, so in-use there means "not freed at exit".

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <unistd.h>

#include <algorithm>

#include "include/heapwatch/heapwatch.h"
#include "preload/allocation_recorder.h"
#include "preload/collector.h"
#include "preload/diagnostics.h"
#include "preload/environment.h"
#include "preload/profile_file.h"
#include "preload/real_allocator.h"
#include "preload/stack_capture.h"

namespace heapwatch {

void ResolveNextDlopen();  // dlopen_hook.cc

namespace {

char g_main_program_path[PATH_MAX] = "";

// The ring holds about this many bytes of samples, and a program that keeps
// sampling touches all of it (each slot is reused once per lap): its size is
// resident memory. At the default rate a sample is rare (one per 512 KiB
// allocated): 512 slots at depth 64 (320 KiB) hold 250 ms of a thread
// allocating 1 GiB/s. The collector is woken every 64 samples (waking it
// more often costs a multi-threaded program more than the memory saved:
// 16 instead of 64 made tools/bench's alloc_churn 5% slower). A
// single-threaded program never touches this ring: its samples go to the
// 128-slot solo ring (profiler_state.h). Sampling rates below 256 KiB
// get 4 MiB. When (nearly) every allocation is sampled, a busy thread
// produces millions a second and the ring must bridge the collector's
// scheduling delay on a loaded machine: 32 MiB (~50,000 samples at depth
// 64).
constexpr size_t kRingBytes = size_t{512} << 10;
constexpr size_t kFastRingBytes = size_t{4} << 20;
constexpr int64_t kFastRateLimit = int64_t{256} << 10;
constexpr size_t kExactRingBytes = size_t{32} << 20;
constexpr int64_t kExactRateLimit = 64;
constexpr char kDefaultDirectoryName[] = "heapwatch-profiles";

// Makes config.output_dir absolute (from HEAPWATCH_OUT or the default under
// the working directory) and exports it, so child processes, whatever their
// working directory, write to the same place without announcing it again.
bool ChooseOutputDirectory(Config& config) {
  bool defaulted = config.output_dir[0] == '\0';
  char absolute[kMaxPathLength];
  if (config.output_dir[0] == '/') {
    memcpy(absolute, config.output_dir, strlen(config.output_dir) + 1);
  } else {
    char cwd[kMaxPathLength];
    if (getcwd(cwd, sizeof(cwd)) == nullptr) {
      WarnAlways("cannot find the working directory (%s); set HEAPWATCH_OUT to an absolute path", ErrorText(errno));
      return false;
    }
    const char* relative = defaulted ? kDefaultDirectoryName : config.output_dir;
    int n = snprintf(absolute, sizeof(absolute), "%s/%s", strcmp(cwd, "/") == 0 ? "" : cwd, relative);
    if (n < 0 || static_cast<size_t>(n) >= sizeof(absolute)) {
      WarnAlways("the output directory path is too long; set HEAPWATCH_OUT to a shorter one");
      return false;
    }
  }
  memcpy(config.output_dir, absolute, strlen(absolute) + 1);
  if (!MakeDirectories(config.output_dir) || !DirectoryIsWritable(config.output_dir)) {
    WarnAlways("cannot write profiles to %s (%s); this process runs unprofiled", config.output_dir,
               ErrorText(errno));
    return false;
  }
  if (defaulted) Warn("writing heap profiles to %s (set HEAPWATCH_OUT to choose)", config.output_dir);
  const char* exported = getenv("HEAPWATCH_OUT");
  if ((exported == nullptr || strcmp(exported, config.output_dir) != 0) &&
      !SetEnvironmentVariable("HEAPWATCH_OUT", config.output_dir)) {
    setenv("HEAPWATCH_OUT", config.output_dir, 1);  // out of memory to map: glibc's way, then
  }
  return true;
}

// HEAPWATCH_CHILDREN=0: take our library out of LD_PRELOAD so programs this
// one executes run unprofiled. Entries are separated by spaces or colons.
void StopProfilingChildren() {
  const char* preload = getenv("LD_PRELOAD");
  if (preload == nullptr) return;
  char kept[kMaxPathLength];
  size_t length = 0;
  for (const char* p = preload; *p != '\0';) {
    while (*p == ' ' || *p == ':') ++p;
    const char* end = p;
    while (*end != '\0' && *end != ' ' && *end != ':') ++end;
    size_t entry = static_cast<size_t>(end - p);
    const char* base = static_cast<const char*>(memrchr(p, '/', entry));
    base = base == nullptr ? p : base + 1;
    bool ours = static_cast<size_t>(end - base) == strlen("libheapwatch.so") &&
                memcmp(base, "libheapwatch.so", strlen("libheapwatch.so")) == 0;
    if (entry > 0 && !ours && length + entry + 2 < sizeof(kept)) {
      if (length > 0) kept[length++] = ':';
      memcpy(kept + length, p, entry);
      length += entry;
    }
    p = end;
  }
  kept[length] = '\0';
  if (length == 0) {
    unsetenv("LD_PRELOAD");
  } else {
    if (!SetEnvironmentVariable("LD_PRELOAD", kept)) setenv("LD_PRELOAD", kept, 1);
  }
}

void Start() {
  ResolveRealAllocator();
  // Secure execution (setuid, setgid, capabilities): our environment is not
  // to be trusted and our files would be written with the wrong owner.
  if (getauxval(AT_SECURE) != 0) {
    g_profiler.phase.store(Phase::kStopped, std::memory_order_release);
    return;
  }
  BusyScope busy;
  Config& config = g_profiler.config;
  LoadConfig([](const char* name) -> const char* { return getenv(name); }, &config);
  if (!config.profile_children) StopProfilingChildren();
  ssize_t n = readlink("/proc/self/exe", g_main_program_path, sizeof(g_main_program_path) - 1);
  g_main_program_path[n > 0 ? n : 0] = '\0';

  size_t slot_bytes = 128 + sizeof(uintptr_t) * static_cast<size_t>(config.stack_depth);
  size_t ring_bytes = config.sample_rate <= kExactRateLimit  ? kExactRingBytes
                      : config.sample_rate < kFastRateLimit ? kFastRingBytes
                                                            : kRingBytes;
  size_t slots = 256;
  while (slots * 2 * slot_bytes <= ring_bytes) slots *= 2;
  if (!ChooseOutputDirectory(config) || !g_profiler.ring.Init(slots, config.stack_depth) ||
      !g_profiler.solo_ring.Init(kSoloRingSlots, config.stack_depth) || !InitCollector(g_main_program_path)) {
    g_profiler.phase.store(Phase::kStopped, std::memory_order_release);
    return;
  }
  // Wake the collector early: by the time it runs, more samples have come.
  g_profiler.wake_stride = std::max<uint64_t>(g_profiler.ring.capacity() / 16, 64);
  g_sampled_blocks.PopulateFilter();
  ByteSampler::SetRate(config.sample_rate);
  InitStackCapture();
  ResolveNextDlopen();
  pthread_atfork(CollectorPrepareFork, CollectorParentAfterFork, CollectorChildAfterFork);
  g_profiler.phase.store(Phase::kActive, std::memory_order_release);
  // No thread yet: it starts when first needed (collector.h says why).
}

void Finish() {
  if (g_profiler.phase.load(std::memory_order_acquire) != Phase::kActive) return;
  // exit() called from a signal handler that interrupted our own code: our
  // locks may be held by this very thread. No exit profile then.
  if (CurrentThread().busy != 0) return;
  BusyScope busy;
  // No more periodic profiles; the exit profile is written by the collector
  // thread, which then stops.
  g_profiler.phase.store(Phase::kStopped, std::memory_order_release);
  bool written = WriteProfileNow(ProfileKind::kExit);
  StopCollectorThread();
  if (written) {
    uint64_t dropped = g_profiler.stats.dropped_samples.load(std::memory_order_relaxed);
    if (dropped != 0) {
      Warn("%llu sampled allocations were dropped because the collector fell behind (see the profile comments)",
           static_cast<unsigned long long>(dropped));
    }
  }
}

__attribute__((constructor)) void HeapwatchConstructor() { Start(); }
__attribute__((destructor)) void HeapwatchDestructor() { Finish(); }

}  // namespace
}  // namespace heapwatch

extern "C" __attribute__((visibility("default"))) int heapwatch_dump(void) {
  using namespace heapwatch;
  if (g_profiler.phase.load(std::memory_order_acquire) != Phase::kActive || CurrentThread().busy != 0) return -1;
  BusyScope busy;
  return WriteProfileNow(ProfileKind::kOnDemand) ? 0 : -1;
}

extern "C" __attribute__((visibility("default"))) int heapwatch_is_active(void) {
  return heapwatch::g_profiler.phase.load(std::memory_order_acquire) == heapwatch::Phase::kActive ? 1 : 0;
}

extern "C" __attribute__((visibility("default"))) long long heapwatch_sample_rate(void) {
  return heapwatch::ByteSampler::rate();
}
