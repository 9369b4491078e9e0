// A shared library whose functions have the shapes ELF symbol lookup must
// handle (tests/unit/elf_symbols_test.cc): exported, static, hidden, aliases
// of each binding, a size-0 assembly function, and a label inside a sized
// one. extern "C" so tests take their addresses by name.

#ifndef HEAPWATCH_TESTS_PROGRAMS_SYMBOLS_FIXTURE_H_
#define HEAPWATCH_TESTS_PROGRAMS_SYMBOLS_FIXTURE_H_

#ifdef __cplusplus
extern "C" {
#endif

int fixture_add(int a, int b);
int fixture_loop(int n);
// Addresses of functions the library does not export.
void* fixture_static_helper_address(void);  // static: .symtab only
void* fixture_hidden_address(void);         // hidden visibility: .symtab only
void* fixture_local_impl_address(void);     // static, aliased by fixture_weak_only

// One function, three names: GLOBAL __fixture_libc_alloc and fixture_alloc,
// LOCAL __fixture_alloc_local (glibc's malloc / __libc_malloc / __malloc).
int __fixture_libc_alloc(int x);
int fixture_alloc(int x);
// GLOBAL _fixture_strong and WEAK fixture_weak.
int _fixture_strong(int x);
int fixture_weak(int x);
// WEAK fixture_weak_only over the LOCAL fixture_local_impl.
int fixture_weak_only(int x);

#if defined(__x86_64__)
#define HEAPWATCH_FIXTURE_HAS_ASM 1
// Assembly without .size: a symbol of size 0, 4 bytes of code.
int fixture_sizeless(int x);
// A sized assembly function (8 bytes) with a size-0 function label 4 bytes in.
int fixture_outer(int x);
int fixture_inner_label(int x);
#endif

// Data, not code: its address is in no function.
extern int fixture_data[4];

#ifdef __cplusplus
}
#endif

#endif  // HEAPWATCH_TESTS_PROGRAMS_SYMBOLS_FIXTURE_H_
