// The call stack of a sampled allocation.
//
// stack_walker.h walks it: frame rules from the binaries' unwind tables
// (most Debian code has no frame pointers), cached across threads, with
// libunwind for the frames they do not cover. The walk stays inside the
// thread's stack (CurrentThreadStack).
//
// Frames are the return addresses minus one, i.e. an address inside the call
// instruction, which is what pprof expects in proto input (it does not adjust
// them). Frames inside libheapwatch.so itself are dropped, whatever the
// compiler inlined, by comparing against our own code's address range.

#ifndef HEAPWATCH_PRELOAD_STACK_CAPTURE_H_
#define HEAPWATCH_PRELOAD_STACK_CAPTURE_H_

#include <cstdint>

#include "preload/stack_walker.h"

namespace heapwatch {

// Records the address range of the object containing this code, sets
// libunwind's per-thread caching (for the frames it walks) and walks the
// stack once so that lazy set-up happens now rather than inside the first
// sampled malloc.
void InitStackCapture();

// Writes up to `max_depth` frames, leaf (the allocation's caller) first,
// to `frames`; returns how many.
int CaptureStack(uintptr_t* frames, int max_depth);

// The part of the calling thread's stack from its stack pointer up, when
// known without locks (stack_capture.cc says how); empty otherwise.
StackBounds CurrentThreadStack();

// True when `pc` lies in libheapwatch.so's code.
bool IsOwnCode(uintptr_t pc);

}  // namespace heapwatch

#endif  // HEAPWATCH_PRELOAD_STACK_CAPTURE_H_
