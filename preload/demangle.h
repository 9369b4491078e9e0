// Demangling inside the target process, into caller-provided buffers.
//
// The preload's collector names functions with FunctionDisplayName: the name
// `go tool pprof` shows by default (pprof's Function.name), while the raw
// symbol goes to Function.system_name.
//  - C++ (Itanium ABI, "_Z..."): demangled as c++filt does, then shortened by
//    function_name.h's rule: "std::vector::_M_realloc_insert".
//  - Rust: legacy "_ZN...17h<hash>E" without the hash ("std::rt::lang_start"),
//    v0 "_R..." with its generic arguments and without crate disambiguators
//    ("<alloc::string::String as core::fmt::Display>::fmt"), which is what
//    pprof's own demangler prints for Rust.
//  - Anything else (C, or not demangleable) unchanged.
//
// No malloc: libiberty's callback entry points are used, and checked:
//  - cplus_demangle_v3_callback (cp-demangle.c) is d_demangle_callback, the
//    function libstdc++ also exports as __gcclibcxx_demangle_callback,
//    documented there as the "allocationless entry point". It keeps its
//    component and substitution arrays in VLAs/alloca and prints through a
//    fixed 256-byte buffer to the callback (cplus_demangle_print_callback's
//    saved scopes and templates are VLAs too); malloc/realloc/free are only
//    reached from the allocating wrappers (d_demangle's growable string).
//  - rust_demangle_callback (rust-demangle.c) prints straight to the
//    callback, except print_ident, which mallocs a buffer to decode a v0
//    punycode identifier ("u" before its length: non-ASCII names). So v0
//    symbols are first parsed here (fail-closed) and any with a punycode
//    identifier, or that do not parse, is left mangled.
// Checked in the library we link too: in Debian's libiberty.a
// (20230104) the call graph from both entry points reaches no allocator
// except that print_ident call. tests/unit/no_malloc_test.cc counts mallocs.
//
// Stack, not heap: libiberty keeps its working state on the caller's stack.
// For C++ it refuses symbols over 1024 chars (2 components per char against
// its recursion limit of 2048: the PR 87675 stack guard; c++filt shows them
// mangled too) and stops at 2048 levels of recursion; Rust stops at 1024
// levels. The worst symbol found (1000 nested pointer types) takes about
// 430 KiB of stack; tests run hostile names on a 1 MiB thread. Give the
// calling thread at least 1 MiB. Symbols longer than
// kMaxDemangledSymbolLength are left mangled: the copy made to NUL-terminate
// them lives on the stack too.

#ifndef HEAPWATCH_PRELOAD_DEMANGLE_H_
#define HEAPWATCH_PRELOAD_DEMANGLE_H_

#include <cstddef>

namespace heapwatch {

// Longer symbols are not demangled (see "Stack" above). It only matters for
// Rust: libiberty already stops C++ at 1024 chars, and v0 symbols of deeply
// generic code run to a few KiB.
inline constexpr size_t kMaxDemangledSymbolLength = 4096;

// c++filt's rendering of symbol[0, length) (C++ with parameters, Rust legacy
// with its hash, Rust v0 with crate disambiguators) into `out`
// (NUL-terminated, cut at out_size - 1 bytes). Returns its length, or 0 when
// the symbol is not one we demangle.
size_t DemangleSymbol(const char* symbol, size_t length, char* out, size_t out_size);

// The name pprof shows for symbol[0, length) (see above) into `out`
// (NUL-terminated, cut at out_size - 1 bytes, never inside a UTF-8
// sequence). Returns its length. `length` may stop short of the symbol's
// NUL, e.g. before a "@VERSION" suffix (ElfSymbol::name_length).
size_t FunctionDisplayName(const char* symbol, size_t length, char* out, size_t out_size);

}  // namespace heapwatch

#endif  // HEAPWATCH_PRELOAD_DEMANGLE_H_
