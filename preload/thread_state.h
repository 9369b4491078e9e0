// What each thread of the profiled program carries for us.
//
// Initial-exec TLS: the variable lives in the static TLS block set up when
// the thread starts, so reading it is one %fs-relative load and never calls
// into the dynamic loader (whose TLS slow path may allocate, i.e. re-enter
// our hooks). Plain data with no destructor, so threads start and end
// without us knowing or caring.

#ifndef HEAPWATCH_PRELOAD_THREAD_STATE_H_
#define HEAPWATCH_PRELOAD_THREAD_STATE_H_

#include <cstdint>

#include "preload/byte_sampler.h"

namespace heapwatch {

struct ThreadState {
  ByteSampler sampler;
  // Non-zero while this thread runs heapwatch code that may call back into
  // the hooks (unwinding, loading symbols, writing a profile). Re-entrant
  // calls are passed straight to the real allocator and never sampled.
  uint32_t busy = 0;
};

extern __thread ThreadState t_thread_state __attribute__((tls_model("initial-exec"), visibility("hidden")));

inline ThreadState& CurrentThread() { return t_thread_state; }

// Marks the current thread busy for the lifetime of the object.
class BusyScope {
 public:
  BusyScope() { ++t_thread_state.busy; }
  ~BusyScope() { --t_thread_state.busy; }
  BusyScope(const BusyScope&) = delete;
  BusyScope& operator=(const BusyScope&) = delete;
};

}  // namespace heapwatch

#endif  // HEAPWATCH_PRELOAD_THREAD_STATE_H_
