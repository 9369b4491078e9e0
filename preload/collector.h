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
// fork(): the prepare handler takes the mutex and every shard lock (so the
// child inherits consistent tables), marking the forking thread busy so that
// anything allocating or freeing inside fork cannot wait on those locks. The
// child repairs the ring, takes its own pid, restarts numbering and starts
// its own thread; the parent carries on.

#ifndef HEAPWATCH_PRELOAD_COLLECTOR_H_
#define HEAPWATCH_PRELOAD_COLLECTOR_H_

#include <cstddef>
#include <cstdint>

namespace heapwatch {

enum class ProfileKind { kPeriodic, kOnDemand, kExit };

// Sets up the collector's tables. `main_program_path` is the executable's
// absolute path. False when out of memory.
bool InitCollector(const char* main_program_path);

// Starts the background thread (periodic profiles). False if it could not
// be created; profiles are then written only at exit and on demand.
bool StartCollectorThread();

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
