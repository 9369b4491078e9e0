#include "preload/stack_capture.h"

#define UNW_LOCAL_ONLY
#include <libunwind.h>
#include <link.h>

#include "preload/config.h"

namespace heapwatch {
namespace {

// [start, end) of the executable segments of the object holding this code.
uintptr_t g_own_code_start = 0;
uintptr_t g_own_code_end = 0;

// Frames of our own between the hook's caller and unw_backtrace: a margin so
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

bool IsOwnCode(uintptr_t pc) { return pc >= g_own_code_start && pc < g_own_code_end; }

void InitStackCapture() {
  dl_iterate_phdr(FindOwnCode, reinterpret_cast<void*>(&InitStackCapture));
  unw_set_caching_policy(unw_local_addr_space, UNW_CACHE_PER_THREAD);
  uintptr_t frames[8];
  CaptureStack(frames, 8);
}

int CaptureStack(uintptr_t* frames, int max_depth) {
  void* raw[kMaxStackDepth + kOwnFramesMargin];
  int limit = max_depth + kOwnFramesMargin;
  if (limit > static_cast<int>(sizeof(raw) / sizeof(raw[0]))) limit = sizeof(raw) / sizeof(raw[0]);
  int n = unw_backtrace(raw, limit);
  int first = 0;
  while (first < n && IsOwnCode(reinterpret_cast<uintptr_t>(raw[first]))) ++first;
  int depth = 0;
  for (int i = first; i < n && depth < max_depth; ++i) {
    uintptr_t pc = reinterpret_cast<uintptr_t>(raw[i]);
    if (pc == 0) break;
    frames[depth++] = pc - 1;  // inside the call instruction
  }
  return depth;
}

}  // namespace heapwatch
