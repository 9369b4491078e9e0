// Objects loaded with dlopen(RTLD_DEEPBIND) look symbols up in their own
// dependencies before the global scope, so their calls to malloc bind to
// libc's and bypass LD_PRELOAD. Nothing would crash (their blocks go back to
// the same libc), but their allocations would go unrecorded.
//
// After such a dlopen we do what heaptrack's injector does: walk the
// relocations of each newly loaded object and point its GOT slots for the
// allocation family at our hooks. A slot is rewritten only when it is bound
// to the allocator we interpose on (the definition after ours) or not bound
// yet (a lazy PLT slot still pointing into the object itself), and never in
// an object that defines that function itself (its own allocator stays its
// own). RELRO pages are made writable for the write and read-only again.
//
// Allocations made by the object's constructors, which run inside dlopen
// before we get control back, are not seen.

#ifndef HEAPWATCH_PRELOAD_DEEPBIND_PATCH_H_
#define HEAPWATCH_PRELOAD_DEEPBIND_PATCH_H_

#include <link.h>

#include <cstddef>

namespace heapwatch {

// One function to redirect: its name, our hook, and the definition it is
// currently bound to when DEEPBIND went past us (null: look it up).
struct GotRedirect {
  const char* name;
  void* hook;
  void* next;
};

// Rewrites the GOT slots of the object described by `info` for every entry
// of `redirects`. Returns how many slots were rewritten.
size_t RedirectGotSlots(const dl_phdr_info& info, const GotRedirect* redirects, size_t count);

}  // namespace heapwatch

#endif  // HEAPWATCH_PRELOAD_DEEPBIND_PATCH_H_
