#include "preload/stack_capture.h"

#include <link.h>
#include <pthread.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#define UNW_LOCAL_ONLY
#include <libunwind.h>

#include "preload/config.h"
#include "preload/memory_map.h"

namespace heapwatch {
namespace {

// [start, end) of the executable segments of the object holding this code.
uintptr_t g_own_code_start = 0;
uintptr_t g_own_code_end = 0;

// The main thread's stack, [low, high).
StackBounds g_main_stack;

// Larger than any thread stack a program asks for; further than this below
// the descriptor, sp is on some other stack.
constexpr uintptr_t kMaxThreadStack = uintptr_t{1} << 30;

// Frames of our own between the hook's caller and UnwindStack: a margin so
// that dropping them still leaves max_depth frames of the program.
constexpr int kOwnFramesMargin = 16;

int FindOwnCode(dl_phdr_info* info, size_t, void* data) {
  uintptr_t probe = reinterpret_cast<uintptr_t>(data);
  uintptr_t start = UINTPTR_MAX, end = 0;
  for (int i = 0; i < info->dlpi_phnum; ++i) {
    const ElfW(Phdr)& phdr = info->dlpi_phdr[i];
    if (phdr.p_type != PT_LOAD || !(phdr.p_flags & PF_X)) continue;
    uintptr_t segment_start = info->dlpi_addr + phdr.p_vaddr;
    uintptr_t segment_end = segment_start + phdr.p_memsz;
    if (segment_start < start) start = segment_start;
    if (segment_end > end) end = segment_end;
  }
  if (probe < start || probe >= end) return 0;
  g_own_code_start = start;
  g_own_code_end = end;
  return 1;
}

}  // namespace

// Where the current thread's stack ends, learned without locks or memory:
// a walk runs inside malloc, where pthread_getattr_np must not be called
// (it holds the thread's lock while it allocates: a program calling it
// whose allocation we sample would deadlock on its own thread).
//  - The main thread: its stack as we found it while we started: the
//    mapping holding the constructor's stack pointer, grown down as far as
//    RLIMIT_STACK or the mapping below allows (as pthread_getattr_np says,
//    which we do not call: it reads /proc/self/maps through stdio, i.e.
//    allocates through the hooks we serve).
//  - Threads glibc created: on x86-64 the thread pointer is the thread's
//    descriptor, at the top of the block that holds its stack and static
//    TLS, so everything from sp up to it is mapped.
// Anything else (a signal handler on an alternate stack, a coroutine's
// stack far from the thread's) is walked by libunwind.
StackBounds CurrentThreadStack() {
  uintptr_t sp;
  asm volatile("movq %%rsp, %0" : "=r"(sp));
  if (sp >= g_main_stack.low && sp < g_main_stack.high) return g_main_stack;
  uintptr_t descriptor = reinterpret_cast<uintptr_t>(pthread_self());
  // `low` only tells this stack from others: reads stay at or above the sp
  // a walk starts from, and everything from there up to `high` is mapped.
  if (sp < descriptor && descriptor - sp < kMaxThreadStack && descriptor > kMaxThreadStack) {
    return {descriptor - kMaxThreadStack, descriptor};
  }
  return {};
}

bool IsOwnCode(uintptr_t pc) { return pc >= g_own_code_start && pc < g_own_code_end; }

void InitStackCapture() {
  dl_iterate_phdr(FindOwnCode, reinterpret_cast<void*>(&InitStackCapture));
  // Only if this is the main thread (a dlopen of the library from another
  // thread leaves the main stack unknown, and libunwind walks it).
  if (getpid() == static_cast<pid_t>(syscall(SYS_gettid))) {
    int local = 0;
    MappingRange stack;
    if (FindMapping(reinterpret_cast<uintptr_t>(&local), &stack)) {
      uintptr_t low = stack.previous_end;
      rlimit limit;
      if (getrlimit(RLIMIT_STACK, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY && limit.rlim_cur < stack.end &&
          stack.end - limit.rlim_cur > low) {
        low = stack.end - limit.rlim_cur;
      }
      if (low > stack.start) low = stack.start;
      g_main_stack = {low, stack.end};
    }
  }
  unw_set_caching_policy(unw_local_addr_space, UNW_CACHE_PER_THREAD);
  uintptr_t frames[8];
  CaptureStack(frames, 8);
}

int CaptureStack(uintptr_t* frames, int max_depth) {
  uintptr_t raw[kMaxStackDepth + kOwnFramesMargin];
  int limit = max_depth + kOwnFramesMargin;
  if (limit > static_cast<int>(sizeof(raw) / sizeof(raw[0]))) limit = sizeof(raw) / sizeof(raw[0]);
  int n = UnwindStack(CurrentThreadStack(), raw, limit);
  int first = 0;
  while (first < n && IsOwnCode(raw[first])) ++first;
  int depth = 0;
  for (int i = first; i < n && depth < max_depth; ++i) {
    uintptr_t pc = raw[i];
    if (pc == 0) break;
    frames[depth++] = pc - 1;  // inside the call instruction
  }
  return depth;
}

}  // namespace heapwatch
