// The collector: a background thread that takes samples off the ring,
// interns their stacks, and writes heap profiles on a timer; the same code
// writes the exit profile and on-demand profiles.
//
// All profile data (stacks, locations, functions, strings, objects) belongs
// to the collector and is touched only with its mutex held: by the thread,
// by the exit path after the thread has stopped, and by heapwatch_dump().
// In-use totals are not kept incrementally: each profile scans the live
// sampled blocks (sampled_blocks.h), so frees never need to reach us.
//
// Lock order: collector mutex, then sampled-block shard locks. Allocating
// threads take shard locks only, never the mutex.
//
// The thread starts lazily, when it is first needed: when the first
// periodic profile is due, when samples back up in the ring, or when a
// program asks for a profile. A thread is visible to the program: glibc
// aborts a setresgid() whose effect differs between threads (setpriv drops
// per-thread capabilities first), and unshare(CLONE_NEWUSER) fails in a
// multi-threaded process. Short-lived tools therefore never get one; their
// exit profile is written on the exiting thread.
//
// fork(): the prepare handler takes the mutex and every shard lock (so the
// child inherits consistent tables), marking the forking thread busy so that
// anything allocating or freeing inside fork cannot wait on those locks. The
// child repairs the ring, takes its own pid and restarts numbering; its own
// thread starts lazily like the parent's did. The parent carries on.

#ifndef HEAPWATCH_PRELOAD_COLLECTOR_H_
#define HEAPWATCH_PRELOAD_COLLECTOR_H_

#include <cstddef>
#include <cstdint>

namespace heapwatch {

enum class ProfileKind { kPeriodic, kOnDemand, kExit };

// Sets up the collector's tables. `main_program_path` is the executable's
// absolute path. False when out of memory.
bool InitCollector(const char* main_program_path);

// Starts the background thread now if it is due: the first periodic profile
// is due or the ring's backlog is past the wake-up mark. Called after each
// published sample (cheap once the thread runs). If the thread cannot be
// created, profiles are written at exit and on demand only.
void StartCollectorThreadIfDue();

// Stops and joins the thread, if running.
void StopCollectorThread();

// Writes a profile now. False (after saying why, once) when it failed;
// a failed write switches profiling off.
bool WriteProfileNow(ProfileKind kind);

// Called by allocating threads when the ring is filling up.
void WakeCollector();

// The fork protocol (see above), for pthread_atfork.
void CollectorPrepareFork();
void CollectorParentAfterFork();
void CollectorChildAfterFork();

}  // namespace heapwatch

#endif  // HEAPWATCH_PRELOAD_COLLECTOR_H_
