// Walks the calling thread's stack: FrameRules (call_frame_info.h) from a
// shared cache for the frames they describe, libunwind for the rest.
//
// A frame costs a cache lookup and one or two loads from the stack, ~7 ns
// warm: a chain of dependent loads, no faster per frame than libunwind's
// unw_backtrace, but with less work per walk and no memory of its own per
// thread (libunwind keeps a 256 KiB cache in each thread that walks). libunwind takes over, from the frame
// reached, wherever a rule cannot be had: no CFI (hand-written code, JIT
// code; libunwind then tries frame pointers), CFI beyond FrameRule (DWARF
// expressions, e.g. functions that realign the stack), or a stack pointer
// outside the thread's stack (a signal handler on an alternate stack, a
// coroutine's stack), so the frames are the ones unw_backtrace would find.
//
// Every read of ours lies in [sp at the start, stack.high): a wrong rule or
// a corrupt stack ends the walk early instead of faulting. Each step must
// move the stack pointer up, so the walk ends.

#ifndef HEAPWATCH_PRELOAD_STACK_WALKER_H_
#define HEAPWATCH_PRELOAD_STACK_WALKER_H_

#include <cstdint>

namespace heapwatch {

// The calling thread's stack: a walk starting at an sp in [low, high)
// reads only from [sp, high), all of which must be mapped. Empty when
// unknown.
struct StackBounds {
  uintptr_t low = 0;
  uintptr_t high = 0;
};

// How a walk went, for tests.
struct WalkTrace {
  bool rules_only = false;  // in: end the walk where libunwind would take over
  int frames_from_rules = 0;
  int frames_from_libunwind = 0;
  bool reached_libunwind = false;  // a frame needed it (taken over unless rules_only)
};

// Writes the return addresses of the caller's callers, innermost first, as
// unw_backtrace does: the first is the return address into the function
// that called UnwindStack. After a signal frame comes the interrupted
// instruction's own address. Returns how many, at most `max_depth`.
int UnwindStack(StackBounds stack, uintptr_t* frames, int max_depth, WalkTrace* trace = nullptr);

// The registers of a frame to walk from; `exact`: pc is an instruction's
// own address (the first frame, or one a signal interrupted), not a return
// address.
struct FrameRegisters {
  uintptr_t pc;
  uintptr_t sp;
  uintptr_t bp;
  bool exact;
};

// The same walk from the frame `registers` describe, on a stack whose words
// are in [registers.sp, stack.high): for tests, which fabricate stacks.
int WalkFrom(FrameRegisters registers, StackBounds stack, uintptr_t* frames, int max_depth, WalkTrace* trace);

// Code was unmapped (dlclose): cached rules for its addresses must not be
// used again.
void ForgetFrameRules();

}  // namespace heapwatch

#endif  // HEAPWATCH_PRELOAD_STACK_WALKER_H_
