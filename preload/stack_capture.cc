#include "preload/stack_capture.h"

#include <link.h>
#include <pthread.h>

#define UNW_LOCAL_ONLY
#include <libunwind.h>

#include "preload/config.h"
#include "preload/thread_state.h"

namespace heapwatch {
namespace {

// [start, end) of the executable segments of the object holding this code.
uintptr_t g_own_code_start = 0;
uintptr_t g_own_code_end = 0;

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

// pthread_getattr_np failing (a thread glibc did not create) leaves [1, 1):
// every walk of that thread is libunwind's.
StackBounds CurrentThreadStack() {
  ThreadState& thread = CurrentThread();
  if (thread.stack_high == 0) {
    uintptr_t low = 1, high = 1;
    pthread_attr_t attributes;
    if (pthread_getattr_np(pthread_self(), &attributes) == 0) {
      void* address;
      size_t size;
      if (pthread_attr_getstack(&attributes, &address, &size) == 0) {
        low = reinterpret_cast<uintptr_t>(address);
        high = low + size;
      }
      pthread_attr_destroy(&attributes);
    }
    thread.stack_low = low;
    thread.stack_high = high;
  }
  return {thread.stack_low, thread.stack_high};
}

bool IsOwnCode(uintptr_t pc) { return pc >= g_own_code_start && pc < g_own_code_end; }

void InitStackCapture() {
  dl_iterate_phdr(FindOwnCode, reinterpret_cast<void*>(&InitStackCapture));
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
