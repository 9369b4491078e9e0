// dlopen and dlclose.
//
// dlopen is interposed only to catch RTLD_DEEPBIND loads (deepbind_patch.h).
//
// glibc's dlopen takes its caller's return address to pick the search path
// for bare names (the caller's RUNPATH) and to expand $ORIGIN. So the entry
// point is a few instructions of assembly that tail-jump into the real
// dlopen with the caller's return address untouched, for every call except a
// RTLD_DEEPBIND load of an explicit path (a name with a '/' and no '$'),
// where the caller does not matter: that one goes through C, which loads,
// then redirects the new objects' allocation calls to our hooks.
//
// x86-64 only; elsewhere dlopen is not interposed and DEEPBIND objects'
// allocations go unrecorded.

#include <dlfcn.h>
#include <link.h>

#include <atomic>
#include <cstring>

#include "preload/collector.h"
#include "preload/deepbind_patch.h"
#include "preload/profiler_state.h"
#include "preload/stack_capture.h"
#include "preload/stack_walker.h"
#include "preload/thread_state.h"

#if defined(__x86_64__)

extern "C" {
__attribute__((visibility("hidden"))) void* (*heapwatch_next_dlopen)(const char*, int) = nullptr;
__attribute__((visibility("hidden"))) bool heapwatch_dlopen_should_patch(const char* file, int mode);
__attribute__((visibility("hidden"))) void* heapwatch_dlopen_and_patch(const char* file, int mode);
__attribute__((visibility("hidden"))) void* heapwatch_dlopen_unresolved(const char* file, int mode);
}

// void* dlopen(const char* file /* rdi */, int mode /* esi */)
asm(R"(
  .text
  .globl dlopen
  .type dlopen, @function
dlopen:
  .cfi_startproc
  testl $8, %esi                 # RTLD_DEEPBIND?
  jz 1f
  pushq %rdi
  .cfi_adjust_cfa_offset 8
  pushq %rsi
  .cfi_adjust_cfa_offset 8
  subq $8, %rsp                  # keep the stack 16-byte aligned for the call
  .cfi_adjust_cfa_offset 8
  call heapwatch_dlopen_should_patch
  addq $8, %rsp
  .cfi_adjust_cfa_offset -8
  popq %rsi
  .cfi_adjust_cfa_offset -8
  popq %rdi
  .cfi_adjust_cfa_offset -8
  testb %al, %al
  jnz heapwatch_dlopen_and_patch
1:
  movq heapwatch_next_dlopen(%rip), %rax
  testq %rax, %rax
  jz heapwatch_dlopen_unresolved
  jmp *%rax                      # the real dlopen sees our caller
  .cfi_endproc
  .size dlopen, .-dlopen
)");

namespace heapwatch {
namespace {

// Every function we interpose, by its symbol name.
constexpr const char* kInterposed[] = {
    "malloc", "free", "calloc", "realloc", "reallocarray", "memalign", "posix_memalign", "aligned_alloc",
    "valloc", "pvalloc", "malloc_usable_size",
    "_Znwm", "_Znam", "_ZnwmRKSt9nothrow_t", "_ZnamRKSt9nothrow_t", "_ZnwmSt11align_val_t",
    "_ZnamSt11align_val_t", "_ZnwmSt11align_val_tRKSt9nothrow_t", "_ZnamSt11align_val_tRKSt9nothrow_t",
    "_ZdlPv", "_ZdaPv", "_ZdlPvRKSt9nothrow_t", "_ZdaPvRKSt9nothrow_t", "_ZdlPvm", "_ZdaPvm",
    "_ZdlPvSt11align_val_t", "_ZdaPvSt11align_val_t", "_ZdlPvmSt11align_val_t", "_ZdaPvmSt11align_val_t",
    "_ZdlPvSt11align_val_tRKSt9nothrow_t", "_ZdaPvSt11align_val_tRKSt9nothrow_t"};
constexpr size_t kInterposedCount = sizeof(kInterposed) / sizeof(kInterposed[0]);

GotRedirect g_redirects[kInterposedCount];
std::atomic<bool> g_redirects_ready{false};

void ResolveNext() {
  if (heapwatch_next_dlopen == nullptr) {
    __atomic_store_n(&heapwatch_next_dlopen, reinterpret_cast<void* (*)(const char*, int)>(dlsym(RTLD_NEXT, "dlopen")),
                     __ATOMIC_RELEASE);
  }
}

// Our hook for each name (the global definition, which is ours unless the
// program defines the function itself) and the definition after ours.
void BuildRedirects() {
  if (g_redirects_ready.load(std::memory_order_acquire)) return;
  for (size_t i = 0; i < kInterposedCount; ++i) {
    g_redirects[i] = {kInterposed[i], dlsym(RTLD_DEFAULT, kInterposed[i]), dlsym(RTLD_NEXT, kInterposed[i])};
  }
  g_redirects_ready.store(true, std::memory_order_release);
}

bool IsOwnObject(const dl_phdr_info& info) {
  for (int i = 0; i < info.dlpi_phnum; ++i) {
    const ElfW(Phdr)& phdr = info.dlpi_phdr[i];
    if (phdr.p_type == PT_LOAD && (phdr.p_flags & PF_X) && IsOwnCode(info.dlpi_addr + phdr.p_vaddr)) return true;
  }
  return false;
}

int RedirectObject(dl_phdr_info* info, size_t, void*) {
  if (IsOwnObject(*info)) return 0;
  GotRedirect usable[kInterposedCount];
  size_t count = 0;
  for (const GotRedirect& r : g_redirects) {
    if (r.hook != nullptr && r.hook != r.next) usable[count++] = r;
  }
  RedirectGotSlots(*info, usable, count);
  return 0;
}

}  // namespace
}  // namespace heapwatch

extern "C" bool heapwatch_dlopen_should_patch(const char* file, int) {
  return file != nullptr && std::strchr(file, '/') != nullptr && std::strchr(file, '$') == nullptr &&
         heapwatch::g_profiler.phase.load(std::memory_order_acquire) == heapwatch::Phase::kActive;
}

extern "C" void* heapwatch_dlopen_and_patch(const char* file, int mode) {
  using namespace heapwatch;
  ResolveNext();
  void* handle = heapwatch_next_dlopen(file, mode);
  if (handle != nullptr) {
    BusyScope busy;
    BuildRedirects();
    // Every object: only slots bound past us or still lazy are rewritten,
    // so objects loaded normally (already bound to us) are left as they are.
    dl_iterate_phdr(RedirectObject, nullptr);
  }
  return handle;
}

extern "C" void* heapwatch_dlopen_unresolved(const char* file, int mode) {
  // dlopen called before our constructor resolved the real one (another
  // library's constructor). Rare, and the caller is ours here.
  heapwatch::ResolveNext();
  return heapwatch_next_dlopen(file, mode);
}

namespace heapwatch {
void ResolveNextDlopen() { ResolveNext(); }
}  // namespace heapwatch

#endif

// dlclose: samples still waiting in the ring may have frames in the library
// about to be unmapped. They are interned (and named) first, and the stack
// walker's cached rules for its code are forgotten after. glibc's dlclose
// does not depend on its caller, so a plain wrapper is fine here.
extern "C" __attribute__((visibility("default"))) int dlclose(void* handle) {
  using namespace heapwatch;
  static int (*next_dlclose)(void*) = nullptr;
  auto* next = __atomic_load_n(&next_dlclose, __ATOMIC_ACQUIRE);
  if (next == nullptr) {
    next = reinterpret_cast<int (*)(void*)>(dlsym(RTLD_NEXT, "dlclose"));
    __atomic_store_n(&next_dlclose, next, __ATOMIC_RELEASE);
  }
  if (g_profiler.phase.load(std::memory_order_acquire) == Phase::kActive && CurrentThread().busy == 0) {
    BusyScope busy;
    DrainRingNow();
  }
  int result = next(handle);
  ForgetFrameRules();  // the unwind rules of what was unmapped
  return result;
}

#if !defined(__x86_64__)
namespace heapwatch {
void ResolveNextDlopen() {}
}  // namespace heapwatch
#endif
