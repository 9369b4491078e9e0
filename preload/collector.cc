#include "preload/collector.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <sys/random.h>
#include <sys/single_threaded.h>
#include <sys/syscall.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <new>

#include "preload/allocation_recorder.h"
#include "preload/byte_sampler.h"
#include "preload/diagnostics.h"
#include "preload/heap_profile_writer.h"
#include "preload/internal_arena.h"
#include "preload/loaded_objects.h"
#include "preload/location_table.h"
#include "preload/profile_file.h"
#include "preload/profiler_state.h"
#include "preload/protobuf_writer.h"
#include "preload/stack_table.h"
#include "preload/string_table.h"
#include "preload/thread_state.h"

#ifndef HEAPWATCH_VERSION
#define HEAPWATCH_VERSION "dev"
#endif

namespace heapwatch {
namespace {

// Until the thread runs, allocating threads check whether collector work is
// due every this many bytes (byte_sampler.h: check-ins), not only at sample
// points: a program that rarely allocates still gets its periodic profiles.
constexpr int64_t kCheckInBytes = 64 * 1024;

// How long the thread sleeps when nothing wakes it: the ring is drained at
// least this often, so samples never wait long and the ring rarely fills.
constexpr int64_t kDrainPeriodNanos = 100'000'000;

enum : int { kThreadNotStarted, kThreadStarting, kThreadStarted, kThreadFailed };

struct CollectorState {
  pthread_mutex_t mutex = PTHREAD_MUTEX_INITIALIZER;
  // Everything below is guarded by `mutex`.
  StringTable strings;
  LoadedObjects objects;
  LocationTable locations;
  StackTable stacks;
  PageVector<uint64_t> inuse_count;  // scratch for one profile, per stack
  PageVector<uint64_t> inuse_bytes;
  const char* main_program_path = "";
  int pid = 0;
  int64_t start_realtime_nanos = 0;
  int64_t next_periodic_nanos = 0;  // monotonic
  uint32_t sequence = 0;            // of the last periodic/on-demand profile
  bool sequence_known = false;      // the directory was scanned for earlier numbers
  char run_token[17] = "";          // random, per process image (hex)
  bool write_failed = false;

  // Profiles asked for by other threads (heapwatch_dump, the exit profile)
  // are written by the collector thread when it runs: symbol loading and
  // demangling need its known, large stack. One request at a time.
  pthread_cond_t request_done = PTHREAD_COND_INITIALIZER;
  bool request_pending = false;
  bool request_drain_only = false;  // intern samples and name them, write nothing
  ProfileKind request_kind = ProfileKind::kOnDemand;
  uint64_t requests_served = 0;
  bool request_result = false;

  // The thread. `thread_state` is read without the mutex by allocating
  // threads (to decide whether to start it); `thread_running` is the
  // mutex-guarded truth for everyone else.
  pthread_t thread;
  bool thread_running = false;
  std::atomic<int> thread_state{kThreadNotStarted};
  // Monotonic: when the next periodic profile is due, while no thread runs.
  // Read without the mutex by allocating threads.
  std::atomic<int64_t> work_due_nanos{0};
  std::atomic<bool> stop{false};
  std::atomic<uint32_t> wake_word{0};
  // Drained locations are waiting for their names (written under the
  // mutex; read without it by our dlclose hook, to skip the collector when
  // there is nothing to do).
  std::atomic<bool> names_pending{false};
};

CollectorState* g_collector = nullptr;

int64_t Now(clockid_t clock) {
  timespec ts;
  clock_gettime(clock, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

// Takes every published sample off `ring` into the tables.
void DrainOneRing(CollectorState& c, SampleRing& ring) {
  while (const SampleRecord* record = ring.Front()) {
    if (!record->abandoned) {
      uint32_t stack = c.stacks.Intern(record->frames, record->depth,
                                       [&](uintptr_t pc) { return c.locations.Intern(pc); });
      if (stack != 0) {
        StackEntry& entry = c.stacks.at(stack);
        entry.alloc_count += 1;
        entry.alloc_bytes += record->size;
      }
    }
    ring.PopFront();
  }
}

// Takes every published sample off both rings into the tables.
void DrainRing(CollectorState& c) {
  DrainOneRing(c, g_profiler.solo_ring);
  DrainOneRing(c, g_profiler.ring);
  c.names_pending.store(c.locations.has_pending(), std::memory_order_relaxed);
}

// Names the functions of the locations drained since the last time: for a
// profile, or before a library goes away (location_table.h says why not
// sooner).
void NamePending(CollectorState& c) {
  if (!c.locations.has_pending()) return;
  c.locations.ResolvePending();
  c.names_pending.store(false, std::memory_order_relaxed);
  // The names are copied: give the symbol tables' file pages back.
  c.objects.ReleaseSymbolNamePages();
}

void DrainAndName(CollectorState& c) {
  DrainRing(c);
  NamePending(c);
}

uint64_t RingBacklog() { return g_profiler.solo_ring.ApproximateBacklog() + g_profiler.ring.ApproximateBacklog(); }

// Resident set size from /proc/self/statm, in bytes (0 if unreadable).
uint64_t ResidentBytes() {
  int fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  char text[128];
  ssize_t n = read(fd, text, sizeof(text) - 1);
  close(fd);
  if (n <= 0) return 0;
  text[n] = '\0';
  unsigned long long size = 0, resident = 0;
  if (sscanf(text, "%llu %llu", &size, &resident) != 2) return 0;
  return resident * static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
}

size_t ProfilerBytes(const CollectorState& c) {
  return c.strings.bytes_mapped() + c.objects.bytes_mapped() + c.locations.bytes_mapped() +
         c.stacks.bytes_mapped() + c.inuse_count.bytes_mapped() + c.inuse_bytes.bytes_mapped() +
         (g_profiler.ring.capacity() + g_profiler.solo_ring.capacity()) *
             (sizeof(SampleRecord) + 64 + sizeof(uintptr_t) * g_profiler.config.stack_depth) +
         g_sampled_blocks.BytesMapped();
}

const char* KindName(ProfileKind kind) {
  switch (kind) {
    case ProfileKind::kPeriodic: return "periodic";
    case ProfileKind::kOnDemand: return "on-demand";
    case ProfileKind::kExit: return "exit";
  }
  return "";
}

// The highest sequence number of heap.<pid>.NNNN.pb.gz files already in the
// directory. A process that exec()s keeps its pid, and pids are reused: a
// new process image continues after what is there instead of overwriting
// it (its profiles say run=<token>, which tells the images apart).
uint32_t HighestExistingSequence(int pid) {
  struct Search {
    char prefix[32];
    size_t prefix_length;
    uint32_t highest;
  } search = {};
  search.prefix_length = static_cast<size_t>(snprintf(search.prefix, sizeof(search.prefix), "heap.%d.", pid));
  ForEachDirectoryEntry(
      g_profiler.config.output_dir,
      [](const char* name, void* context) {
        Search& s = *static_cast<Search*>(context);
        if (strncmp(name, s.prefix, s.prefix_length) != 0) return;
        unsigned sequence = 0;
        int consumed = 0;
        if (sscanf(name + s.prefix_length, "%u.pb.gz%n", &sequence, &consumed) == 1 &&
            name[s.prefix_length + consumed] == '\0' && sequence > s.highest) {
          s.highest = sequence;
        }
      },
      &search);
  return search.highest;
}

bool WriteProfileLocked(CollectorState& c, ProfileKind kind) {
  if (c.write_failed) return false;
  if (kind != ProfileKind::kExit && !c.sequence_known) {
    c.sequence = HighestExistingSequence(c.pid);
    c.sequence_known = true;
  }
  c.objects.Refresh();
  DrainAndName(c);
  // In use: the live sampled blocks, by stack.
  size_t stack_count = c.stacks.size();
  c.inuse_count.Clear();
  c.inuse_bytes.Clear();
  if (!c.inuse_count.Resize(stack_count) || !c.inuse_bytes.Resize(stack_count)) return false;
  uint64_t live = 0, unassigned = 0;
  g_sampled_blocks.ForEach([&](const SampledBlock& block) {
    ++live;
    // A block whose sample is still in flight (claimed, not yet published
    // when we drained) has no interned stack yet: it shows next time.
    uint32_t stack = c.stacks.FindByHash(block.stack_hash);
    if (stack == 0) {
      ++unassigned;
      return;
    }
    c.inuse_count[stack - 1] += 1;
    c.inuse_bytes[stack - 1] += block.size;
  });

  char name[64];
  if (kind == ProfileKind::kExit) {
    snprintf(name, sizeof(name), "heap.%d.exit.pb.gz", c.pid);
  } else {
    snprintf(name, sizeof(name), "heap.%d.%04u.pb.gz", c.pid, ++c.sequence);
  }
  const ProfilerStats& stats = g_profiler.stats;
  char lines[8][320];
  snprintf(lines[0], sizeof(lines[0]), "heapwatch %s: %s heap profile of pid %d", HEAPWATCH_VERSION,
           KindName(kind), c.pid);
  snprintf(lines[1], sizeof(lines[1]), "pid=%d run=%s", c.pid, c.run_token);
  snprintf(lines[2], sizeof(lines[2]), "kind=%s", KindName(kind));
  snprintf(lines[3], sizeof(lines[3]), "exe=%s", c.main_program_path);
  snprintf(lines[4], sizeof(lines[4]), "rate=%lld", static_cast<long long>(g_profiler.config.sample_rate));
  snprintf(lines[5], sizeof(lines[5]),
           "samples=%llu dropped_samples=%llu untracked_samples=%llu deferred_frees=%llu live_sampled_blocks=%llu",
           static_cast<unsigned long long>(stats.samples.load(std::memory_order_relaxed)),
           static_cast<unsigned long long>(stats.dropped_samples.load(std::memory_order_relaxed)),
           static_cast<unsigned long long>(stats.untracked_samples.load(std::memory_order_relaxed)),
           static_cast<unsigned long long>(stats.deferred_frees.load(std::memory_order_relaxed)),
           static_cast<unsigned long long>(live - unassigned));
  snprintf(lines[6], sizeof(lines[6]), "rss_bytes=%llu heapwatch_bytes=%llu",
           static_cast<unsigned long long>(ResidentBytes()), static_cast<unsigned long long>(ProfilerBytes(c)));
  snprintf(lines[7], sizeof(lines[7]),
           "exit profile: in-use values are blocks not freed at exit, which are not necessarily leaks");
  const char* comments[8];
  for (int i = 0; i < 8; ++i) comments[i] = lines[i];

  HeapProfileInput input = {
      .strings = &c.strings,
      .stacks = &c.stacks,
      .locations = &c.locations,
      .objects = &c.objects,
      .inuse_count = c.inuse_count.data(),
      .inuse_bytes = c.inuse_bytes.data(),
      .sample_rate = g_profiler.config.sample_rate,
      .time_nanos = Now(CLOCK_REALTIME),
      .duration_nanos = Now(CLOCK_REALTIME) - c.start_realtime_nanos,
      .comments = comments,
      .comment_count = static_cast<size_t>(kind == ProfileKind::kExit ? 8 : 7),
  };
  ProfileFile file;
  bool ok = file.Open(g_profiler.config.output_dir, name);
  if (ok) {
    ProtobufWriter writer(ProfileFile::Sink, &file);
    ok = WriteHeapProfile(input, writer) && file.Commit();
  }
  if (!ok) {
    // Say it once, and step aside: the program carries on unprofiled.
    WarnAlways("cannot write %s/%s: %s; heap profiling is off for the rest of this process",
               g_profiler.config.output_dir, name, ErrorText(errno));
    c.write_failed = true;
    g_profiler.phase.store(Phase::kStopped, std::memory_order_release);
    file.Abort();
  }
  return ok;
}

// When collector work next falls due by the clock (the next periodic
// profile), for RunCollectorIfDue; the mutex is held.
void UpdateWorkDue(CollectorState& c) {
  c.work_due_nanos.store(g_profiler.config.interval_nanos > 0 ? c.next_periodic_nanos : INT64_MAX,
                         std::memory_order_relaxed);
}

// Writes the periodic profile if its time has come; the mutex is held.
void WritePeriodicIfDueLocked(CollectorState& c) {
  int64_t interval = g_profiler.config.interval_nanos;
  int64_t now = Now(CLOCK_MONOTONIC);
  if (interval <= 0 || now < c.next_periodic_nanos || g_profiler.phase.load(std::memory_order_acquire) != Phase::kActive) {
    return;
  }
  WriteProfileLocked(c, ProfileKind::kPeriodic);
  c.next_periodic_nanos += interval;
  if (c.next_periodic_nanos <= now) c.next_periodic_nanos = now + interval;  // fell behind: do not burst
}

void WaitForWork(CollectorState& c, uint32_t observed, int64_t timeout_nanos) {
  if (timeout_nanos <= 0) return;
  timespec timeout = {static_cast<time_t>(timeout_nanos / 1'000'000'000),
                      static_cast<long>(timeout_nanos % 1'000'000'000)};
  syscall(SYS_futex, &c.wake_word, FUTEX_WAIT_PRIVATE, observed, &timeout, nullptr, 0);
}

void* CollectorMain(void*) {
  CollectorState& c = *g_collector;
  // Everything this thread allocates (libc, zlib) passes through unsampled.
  CurrentThread().busy = 1;
  const int64_t interval = g_profiler.config.interval_nanos;
  for (;;) {
    uint32_t observed = c.wake_word.load(std::memory_order_acquire);
    if (c.stop.load(std::memory_order_acquire)) break;
    int64_t timeout = kDrainPeriodNanos;
    if (interval > 0) {
      int64_t until_periodic = c.next_periodic_nanos - Now(CLOCK_MONOTONIC);
      if (until_periodic < timeout) timeout = until_periodic;
    }
    // A request posted (and its wake-up given) before we read `observed`
    // would not end the wait: look before sleeping.
    pthread_mutex_lock(&c.mutex);
    bool request_waiting = c.request_pending;
    pthread_mutex_unlock(&c.mutex);
    if (!request_waiting) WaitForWork(c, observed, timeout);
    if (c.stop.load(std::memory_order_acquire)) break;
    pthread_mutex_lock(&c.mutex);
    DrainRing(c);
    FinishDeferredFrees();
    if (c.request_pending) {
      // The ring was drained just above: a drain-only request (from our
      // dlclose hook) only needs the names.
      if (c.request_drain_only) NamePending(c);
      c.request_result = c.request_drain_only || WriteProfileLocked(c, c.request_kind);
      c.request_pending = false;
      ++c.requests_served;
      pthread_cond_broadcast(&c.request_done);
    }
    WritePeriodicIfDueLocked(c);
    pthread_mutex_unlock(&c.mutex);
  }
  return nullptr;
}

void ResetForNewProcess(CollectorState& c) {
  c.pid = static_cast<int>(getpid());
  c.start_realtime_nanos = Now(CLOCK_REALTIME);
  int64_t interval = g_profiler.config.interval_nanos;
  c.next_periodic_nanos = Now(CLOCK_MONOTONIC) + interval;
  UpdateWorkDue(c);
  c.sequence = 0;
  c.sequence_known = false;
  // A token for this process image: getrandom never blocks for 8 bytes once
  // the pool is ready; if it fails, time and pid are unique enough here.
  uint64_t token = 0;
  if (getrandom(&token, sizeof(token), GRND_NONBLOCK) != sizeof(token)) {
    token = static_cast<uint64_t>(Now(CLOCK_REALTIME)) * 0x9e3779b97f4a7c15ull ^ static_cast<uint64_t>(c.pid);
  }
  snprintf(c.run_token, sizeof(c.run_token), "%016llx", static_cast<unsigned long long>(token));
  c.thread_running = false;
  c.thread_state.store(kThreadNotStarted, std::memory_order_release);
  ByteSampler::SetCheckInInterval(interval > 0 ? kCheckInBytes : 0);
}

// Creates the thread. The caller has moved thread_state to kThreadStarting.
bool StartThread(CollectorState& c) {
  c.stop.store(false, std::memory_order_release);
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, 2 << 20);
  // The thread must never run the program's signal handlers: block every
  // signal while creating it, so it starts with all of them blocked.
  sigset_t all, previous;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &previous);
  pthread_mutex_lock(&c.mutex);
  int error = pthread_create(&c.thread, &attr, CollectorMain, nullptr);
  c.thread_running = error == 0;
  pthread_mutex_unlock(&c.mutex);
  pthread_sigmask(SIG_SETMASK, &previous, nullptr);
  pthread_attr_destroy(&attr);
  if (error != 0) {
    // Check-ins stay on: the allocating threads do its work (RunCollectorIfDue).
    c.thread_state.store(kThreadFailed, std::memory_order_release);
    Warn("cannot start the collector thread (%s): the program's threads will write the profiles as they allocate",
         ErrorText(error));
    return false;
  }
  pthread_setname_np(c.thread, "heapwatch");
  c.thread_state.store(kThreadStarted, std::memory_order_release);
  ByteSampler::SetCheckInInterval(0);  // the thread keeps time from now on
  return true;
}

// Starts the thread unless it runs, is being started, or failed to start.
void StartThreadOnce(CollectorState& c) {
  int expected = kThreadNotStarted;
  if (c.thread_state.compare_exchange_strong(expected, kThreadStarting, std::memory_order_acq_rel)) StartThread(c);
}

}  // namespace

bool InitCollector(const char* main_program_path) {
  void* memory = MapPages(sizeof(CollectorState));
  if (memory == nullptr) return false;
  auto* c = new (memory) CollectorState();
  if (!c->strings.Init()) return false;
  c->main_program_path = main_program_path;
  c->objects.Init(main_program_path, &c->strings);
  c->locations.Init(&c->objects, &c->strings, ResolveFromSymbolTable);
  c->objects.Refresh();
  ResetForNewProcess(*c);
  g_collector = c;
  return true;
}

namespace {

// The collector's work on a program thread (inside its malloc, at exit, in
// heapwatch_dump) runs with every signal blocked from before the mutex is
// taken until it is released, and on a stack of our own, as large as the
// collector thread's. A handler that interrupted us could fork (our fork
// handler would wait for the mutex this thread holds) or allocate into
// tables we are updating; and the program's stack may be small (a thread's,
// a coroutine's, a sigaltstack handler's) while demangling a symbol can take
// hundreds of KiB (demangle.h). The stack is mapped on first use and only
// the pages the work touched are resident. The mutex guards it.
class AllSignalsBlocked {
 public:
  AllSignalsBlocked() {
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &previous_);
  }
  ~AllSignalsBlocked() { pthread_sigmask(SIG_SETMASK, &previous_, nullptr); }
  AllSignalsBlocked(const AllSignalsBlocked&) = delete;
  AllSignalsBlocked& operator=(const AllSignalsBlocked&) = delete;

 private:
  sigset_t previous_;
};

constexpr size_t kPrivateStackBytes = size_t{2} << 20;
void* g_private_stack = nullptr;
ucontext_t g_private_caller, g_private_callee;
void (*g_private_work)(CollectorState&) = nullptr;
CollectorState* g_private_state = nullptr;

void PrivateStackEntry() { g_private_work(*g_private_state); }

// Runs work(c) on the private stack (on this one if it cannot be had). The
// mutex is held and signals are blocked.
void RunOnPrivateStack(CollectorState& c, void (*work)(CollectorState&)) {
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  // The sanitizers do not follow swapcontext reliably; the sanitized builds
  // are our tests, whose threads have large stacks.
  constexpr bool kSwitchStacks = false;
#else
  constexpr bool kSwitchStacks = true;
#endif
  if (kSwitchStacks && g_private_stack == nullptr) g_private_stack = MapPages(kPrivateStackBytes);
  if (kSwitchStacks && g_private_stack != nullptr && getcontext(&g_private_callee) == 0) {
    g_private_callee.uc_stack.ss_sp = g_private_stack;
    g_private_callee.uc_stack.ss_size = kPrivateStackBytes;
    g_private_callee.uc_link = &g_private_caller;
    g_private_work = work;
    g_private_state = &c;
    makecontext(&g_private_callee, PrivateStackEntry, 0);
    if (swapcontext(&g_private_caller, &g_private_callee) == 0) return;
  }
  work(c);
}

// The collector's work, done by the thread that noticed it is due, while no
// collector thread runs (RunCollectorIfDue). The caller is busy.
void CollectInline(CollectorState& c) {
  // Other threads (raw clone()s, which glibc does not count, or any thread
  // once ours failed to start) may be doing it: never wait here.
  AllSignalsBlocked blocked;
  if (pthread_mutex_trylock(&c.mutex) != 0) return;
  RunOnPrivateStack(c, [](CollectorState& c) {
    DrainRing(c);
    FinishDeferredFrees();
    WritePeriodicIfDueLocked(c);
    UpdateWorkDue(c);
  });
  pthread_mutex_unlock(&c.mutex);
}

}  // namespace

void RunCollectorIfDue() {
  CollectorState* c = g_collector;
  if (c == nullptr) return;
  int state = c->thread_state.load(std::memory_order_acquire);
  if (state == kThreadStarting || state == kThreadStarted) return;
  if (g_profiler.solo_ring.ApproximateBacklog() < kSoloDrainStride &&
      g_profiler.ring.ApproximateBacklog() < g_profiler.wake_stride &&
      Now(CLOCK_MONOTONIC) < c->work_due_nanos.load(std::memory_order_relaxed)) {
    return;
  }
  if (state == kThreadFailed || __libc_single_threaded) {
    CollectInline(*c);
  } else {
    StartThreadOnce(*c);
  }
}

void StopCollectorThread() {
  CollectorState& c = *g_collector;
  bool running;
  {
    AllSignalsBlocked blocked;  // see RunOnPrivateStack
    pthread_mutex_lock(&c.mutex);
    running = c.thread_running;
    pthread_mutex_unlock(&c.mutex);
  }
  if (!running) return;
  c.stop.store(true, std::memory_order_release);
  WakeCollector();
  pthread_join(c.thread, nullptr);
  AllSignalsBlocked blocked;
  pthread_mutex_lock(&c.mutex);
  c.thread_running = false;
  pthread_mutex_unlock(&c.mutex);
}

namespace {

// The arguments and result of a profile written on the private stack; the
// mutex guards them.
ProfileKind g_private_kind = ProfileKind::kOnDemand;
bool g_private_result = false;

// Has the collector thread do `work` (a profile, or only a drain) and waits
// for it; does it on the calling thread when no collector thread runs.
bool RunOnCollector(CollectorState& c, bool drain_only, ProfileKind kind) {
  AllSignalsBlocked blocked;  // see RunOnPrivateStack
  pthread_mutex_lock(&c.mutex);
  bool ok = true;
  if (c.thread_running && !pthread_equal(pthread_self(), c.thread)) {
    while (c.request_pending) pthread_cond_wait(&c.request_done, &c.mutex);
    c.request_pending = true;
    c.request_drain_only = drain_only;
    c.request_kind = kind;
    uint64_t ticket = c.requests_served + 1;
    WakeCollector();
    while (c.requests_served < ticket) pthread_cond_wait(&c.request_done, &c.mutex);
    ok = c.request_result;
  } else if (drain_only) {
    RunOnPrivateStack(c, [](CollectorState& c) { DrainAndName(c); });
  } else {
    // No collector thread (not needed yet, or it could not start).
    g_private_kind = kind;
    RunOnPrivateStack(c, [](CollectorState& c) {
      FinishDeferredFrees();
      g_private_result = WriteProfileLocked(c, g_private_kind);
    });
    ok = g_private_result;
  }
  pthread_mutex_unlock(&c.mutex);
  return ok;
}

}  // namespace

bool WriteProfileNow(ProfileKind kind) {
  if (g_collector == nullptr) return false;
  CollectorState& c = *g_collector;
  // A program asking for a profile is a safe moment to start the thread
  // (its stack is sized for symbol work), if it has threads of its own
  // (RunCollectorIfDue says why not otherwise). Not at exit: a process that
  // never needed the thread writes its last profile itself.
  if (kind == ProfileKind::kOnDemand && !__libc_single_threaded) StartThreadOnce(c);
  return RunOnCollector(c, /*drain_only=*/false, kind);
}

void DrainRingNow() {
  if (g_collector == nullptr ||
      (RingBacklog() == 0 && !g_collector->names_pending.load(std::memory_order_relaxed))) {
    return;
  }
  RunOnCollector(*g_collector, /*drain_only=*/true, ProfileKind::kOnDemand);
}

void WakeCollector() {
  CollectorState* c = g_collector;
  // No thread to wake: spare the system call.
  if (c == nullptr) return;
  int state = c->thread_state.load(std::memory_order_acquire);
  if (state == kThreadNotStarted || state == kThreadFailed) return;
  c->wake_word.fetch_add(1, std::memory_order_release);
  syscall(SYS_futex, &c->wake_word, FUTEX_WAKE_PRIVATE, 1, nullptr, nullptr, 0);
}

void CollectorPrepareFork() {
  ++CurrentThread().busy;
  if (g_collector != nullptr) pthread_mutex_lock(&g_collector->mutex);
  g_sampled_blocks.LockAllForFork();
}

void CollectorParentAfterFork() {
  g_sampled_blocks.UnlockAllAfterFork();
  if (g_collector != nullptr) pthread_mutex_unlock(&g_collector->mutex);
  --CurrentThread().busy;
}

void CollectorChildAfterFork() {
  g_sampled_blocks.UnlockAllAfterFork();
  g_profiler.ring.RepairAfterFork();
  g_profiler.solo_ring.RepairAfterFork();
  // The child's diagnostics are about its own life. (Its profiles still
  // include what it inherited: those blocks are really in its heap.)
  ProfilerStats& stats = g_profiler.stats;
  for (std::atomic<uint64_t>* counter :
       {&stats.samples, &stats.dropped_samples, &stats.untracked_samples, &stats.deferred_frees}) {
    counter->store(0, std::memory_order_relaxed);
  }
  if (g_collector != nullptr) {
    CollectorState& c = *g_collector;
    // This thread holds the mutex; the thread that owned the collector does
    // not exist here, nor does anyone waiting for a request.
    pthread_mutex_init(&c.mutex, nullptr);
    pthread_cond_init(&c.request_done, nullptr);
    c.request_pending = false;
    c.stop.store(false, std::memory_order_relaxed);
    ResetForNewProcess(c);  // its thread starts when due, like the parent's
  }
  --CurrentThread().busy;
}

}  // namespace heapwatch
