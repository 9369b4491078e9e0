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
// threads take shard locks, and only ever try the mutex (to do the
// collector's work while no collector thread runs).
//
// The thread starts lazily, when it is first needed: when the first
// periodic profile is due, when samples back up in the ring, or when a
// program asks for a profile. And only in a process that already has threads
// of its own. A thread is visible to the program: the first one switches
// glibc's malloc to its locked, multi-threaded paths for good (python3
// running tools/bench's alloc_heavy.py takes 7% longer with nothing but an
// idle thread preloaded beside it), glibc aborts a setresgid() whose effect
// differs between threads (setpriv drops per-thread capabilities first), and
// unshare(CLONE_NEWUSER) fails in a multi-threaded process. While the
// program is single-threaded, the thread that finds work due at a sample or
// a check-in does it (drains the ring, writes the periodic profile), as the
// exit path and heapwatch_dump() do. The price: a single-threaded program
// that stops allocating gets no periodic profiles until it allocates again
// (nothing it could leak changes meanwhile), and the periodic profile's few
// milliseconds (the first one's also read symbol tables) are spent on its
// thread. Work done on a program thread runs on a private 2 MiB stack with
// every signal blocked (collector.cc: RunOnPrivateStack). If the thread
// cannot be created, the allocating threads do its work the same way.
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

// Does the collector's work if it is due (the next periodic profile, or the
// ring's backlog past the wake-up mark): starts the background thread, or,
// in a single-threaded process, does the work on this thread. Called after
// each published sample and at check-ins (cheap once the thread runs); the
// caller is busy.
void RunCollectorIfDue();

// Stops and joins the thread, if running.
void StopCollectorThread();

// Writes a profile now. False (after saying why, once) when it failed;
// a failed write switches profiling off.
bool WriteProfileNow(ProfileKind kind);

// Interns every sample waiting in the ring now and names every location not
// named yet: before dlclose() unmaps a library, so its frames are still
// there to be found and named. Done by the collector thread when it runs
// (and waited for), else by the caller.
void DrainRingNow();

// Called by allocating threads when the ring is filling up.
void WakeCollector();

// The fork protocol (see above), for pthread_atfork.
void CollectorPrepareFork();
void CollectorParentAfterFork();
void CollectorChildAfterFork();

}  // namespace heapwatch

#endif  // HEAPWATCH_PRELOAD_COLLECTOR_H_
