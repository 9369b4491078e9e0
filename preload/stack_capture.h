// The call stack of a sampled allocation, from libunwind.
//
// unw_backtrace walks the stack with the binaries' unwind tables (most
// Debian code has no frame pointers) and caches what it learns per thread, so
// a warm walk costs ~10 ns a frame. It does not allocate on its fast path;
// where it does (pthread_setspecific on a thread's first walk) the call
// re-enters our hooks with the thread marked busy and passes through.
//
// Frames are the return addresses minus one, i.e. an address inside the call
// instruction, which is what pprof expects in proto input (it does not adjust
// them). Frames inside libheapwatch.so itself are dropped, whatever the
// compiler inlined, by comparing against our own code's address range.

#ifndef HEAPWATCH_PRELOAD_STACK_CAPTURE_H_
#define HEAPWATCH_PRELOAD_STACK_CAPTURE_H_

#include <cstdint>

namespace heapwatch {

// Records the address range of the object containing this code, sets
// libunwind's per-thread caching and walks the stack once so that lazy
// set-up happens now rather than inside the first sampled malloc.
void InitStackCapture();

// Writes up to `max_depth` frames, leaf (the allocation's caller) first,
// to `frames`; returns how many.
int CaptureStack(uintptr_t* frames, int max_depth);

// True when `pc` lies in libheapwatch.so's code.
bool IsOwnCode(uintptr_t pc);

}  // namespace heapwatch

#endif  // HEAPWATCH_PRELOAD_STACK_CAPTURE_H_
