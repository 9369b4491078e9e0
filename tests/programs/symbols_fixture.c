// See symbols_fixture.h. noinline/used keep every function a real symbol
// at any optimization level.
#include "symbols_fixture.h"

#define FIXTURE_FUNCTION __attribute__((noinline, used))

int fixture_data[4] = {1, 2, 3, 4};

FIXTURE_FUNCTION int fixture_add(int a, int b) { return a + b * 3; }

FIXTURE_FUNCTION int fixture_loop(int n) {
  int sum = 0;
  for (int i = 0; i < n; ++i) sum += fixture_add(i, n) ^ fixture_data[i & 3];
  return sum;
}

static FIXTURE_FUNCTION int fixture_static_helper(int x) { return x * 7 + fixture_data[0]; }
void* fixture_static_helper_address(void) { return (void*)&fixture_static_helper; }

__attribute__((visibility("hidden"))) FIXTURE_FUNCTION int fixture_hidden(int x) { return x * x + 11; }
void* fixture_hidden_address(void) { return (void*)&fixture_hidden; }

FIXTURE_FUNCTION int __fixture_libc_alloc(int x) { return x + 42; }
int fixture_alloc(int x) __attribute__((alias("__fixture_libc_alloc")));
static int __fixture_alloc_local(int x) __attribute__((alias("__fixture_libc_alloc"), used));

FIXTURE_FUNCTION int _fixture_strong(int x) { return x - 5; }
int fixture_weak(int x) __attribute__((weak, alias("_fixture_strong")));

static FIXTURE_FUNCTION int fixture_local_impl(int x) { return x ^ 0x55; }
int fixture_weak_only(int x) __attribute__((weak, alias("fixture_local_impl")));
void* fixture_local_impl_address(void) { return (void*)&fixture_local_impl; }

#if defined(__x86_64__)
__asm__(
    ".text\n"
    ".globl fixture_sizeless\n"
    ".type fixture_sizeless, @function\n"
    ".p2align 4\n"
    "fixture_sizeless:\n"
    "  movl %edi, %eax\n"  // 2 bytes
    "  nop\n"
    "  ret\n"
    ".globl fixture_outer\n"
    ".type fixture_outer, @function\n"
    ".p2align 4\n"
    "fixture_outer:\n"
    "  movl %edi, %eax\n"
    "  nop\n"
    "  nop\n"
    ".globl fixture_inner_label\n"
    ".type fixture_inner_label, @function\n"
    "fixture_inner_label:\n"
    "  nop\n"
    "  nop\n"
    "  nop\n"
    "  ret\n"
    ".size fixture_outer, . - fixture_outer\n");
#endif
