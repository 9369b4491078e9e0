// A dlsym that allocates, as glibc's did before 2.34 (for its dlerror
// state) and as tracing shims still do. Preloaded ahead of libheapwatch.so,
// it makes heapwatch's lookup of the real allocator re-enter malloc, calloc,
// realloc, posix_memalign, malloc_usable_size and free while it resolves:
// the bootstrap pool must serve them. Each call keeps one block and frees
// the previous call's; the last is freed at exit, long after the real
// allocator is in place. Such a block must never reach the real free
// (glibc would abort: "free(): invalid pointer").
//
// dlsym must reach glibc's with its caller's return address, which is how
// RTLD_NEXT knows where to look from: the entry point is a tail-calling
// trampoline in assembly, which C cannot promise.
#define _GNU_SOURCE
#include <dlfcn.h>
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef void* (*DlsymFn)(void*, const char*);
__attribute__((used)) static DlsymFn g_next_dlsym;
static void* g_kept;
static int g_calls;

static void Fail(const char* what) {
  static const char prefix[] = "allocating dlsym: ";
  write(2, prefix, sizeof(prefix) - 1);
  write(2, what, strlen(what));
  write(2, "\n", 1);
  abort();
}

__attribute__((used)) static void AllocateAround(void) {
  if (g_next_dlsym == NULL) g_next_dlsym = (DlsymFn)dlvsym(RTLD_NEXT, "dlsym", "GLIBC_2.34");
  if (g_next_dlsym == NULL) g_next_dlsym = (DlsymFn)dlvsym(RTLD_NEXT, "dlsym", "GLIBC_2.2.5");
  if (g_next_dlsym == NULL) Fail("no next dlsym");
  ++g_calls;
  char* a = malloc(40);
  if (a == NULL) Fail("malloc failed");
  memset(a, 'a', 40);
  unsigned char* b = calloc(4, 16);
  if (b == NULL) Fail("calloc failed");
  for (int i = 0; i < 64; ++i) {
    if (b[i] != 0) Fail("calloc's block is not zero");
  }
  memset(b, 'b', 64);
  b = realloc(b, 200);
  if (b == NULL) Fail("realloc failed");
  for (int i = 0; i < 64; ++i) {
    if (b[i] != 'b') Fail("realloc lost the contents");
  }
  if (malloc_usable_size(b) < 200) Fail("malloc_usable_size is below the size asked for");
  void* c = NULL;
  if (posix_memalign(&c, 64, 100) != 0 || ((uintptr_t)c & 63) != 0) Fail("posix_memalign");
  free(a);
  free(c);
  free(g_kept);
  g_kept = b;
}

__asm__(
    ".text\n"
    ".globl dlsym\n"
    ".type dlsym, @function\n"
    "dlsym:\n"
    ".cfi_startproc\n"
    "  push %rdi\n"
    ".cfi_adjust_cfa_offset 8\n"
    "  push %rsi\n"
    ".cfi_adjust_cfa_offset 8\n"
    "  sub $8, %rsp\n"
    ".cfi_adjust_cfa_offset 8\n"
    "  call AllocateAround\n"
    "  add $8, %rsp\n"
    ".cfi_adjust_cfa_offset -8\n"
    "  pop %rsi\n"
    ".cfi_adjust_cfa_offset -8\n"
    "  pop %rdi\n"
    ".cfi_adjust_cfa_offset -8\n"
    "  jmp *g_next_dlsym(%rip)\n"
    ".cfi_endproc\n"
    ".size dlsym, .-dlsym\n");

__attribute__((destructor)) static void FreeTheLast(void) {
  free(g_kept);
  g_kept = NULL;
  char line[64];
  int n = snprintf(line, sizeof(line), "allocating dlsym: %d calls\n", g_calls);
  write(2, line, (size_t)n);
}
