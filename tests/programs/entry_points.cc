// Every entry point of the allocation family, once each, plus the C and C++
// contracts the hooks must keep (checked here; a broken one exits 3).
#include "tests/programs/entry_points.h"

#include <errno.h>
#include <malloc.h>
#include <stdint.h>
#include <stdlib.h>

#include <new>

#include "tests/programs/test_program.h"

namespace {

void* g_kept[64];
int g_kept_count = 0;
void Keep(void* p) {
  EXPECT_OR_DIE(p != nullptr);
  g_kept[g_kept_count++] = p;
}
bool Aligned(void* p, size_t alignment) { return reinterpret_cast<uintptr_t>(p) % alignment == 0; }

constexpr std::align_val_t kAlign{64};
// Far more than any machine can give: malloc fails at once. Read through a
// volatile so the compiler does not reject the overflowing calls we mean.
volatile size_t g_huge = size_t{1} << 62;

}  // namespace

NOINLINE void ViaMalloc() { Keep(malloc(1001)); }
NOINLINE void ViaCalloc() {
  auto* p = static_cast<unsigned char*>(calloc(10, 101));
  for (int i = 0; i < 1010; ++i) EXPECT_OR_DIE(p[i] == 0);
  Keep(p);
}
NOINLINE void ViaRealloc() {
  char* p = static_cast<char*>(malloc(1020));
  p[0] = 'x';
  p = static_cast<char*>(realloc(p, 2020));
  EXPECT_OR_DIE(p[0] == 'x');
  Keep(p);
}
NOINLINE void ViaReallocNull() { Keep(realloc(nullptr, 1025)); }
NOINLINE void ViaReallocarray() { Keep(reallocarray(nullptr, 3, 341)); }
NOINLINE void ViaMemalign() {
  void* p = memalign(64, 1030);
  EXPECT_OR_DIE(Aligned(p, 64));
  Keep(p);
}
NOINLINE void ViaPosixMemalign() {
  void* p = nullptr;
  EXPECT_OR_DIE(posix_memalign(&p, 64, 1040) == 0);
  EXPECT_OR_DIE(Aligned(p, 64));
  Keep(p);
}
NOINLINE void ViaAlignedAlloc() {
  void* p = aligned_alloc(64, 1088);
  EXPECT_OR_DIE(Aligned(p, 64));
  Keep(p);
}
NOINLINE void ViaValloc() {
  void* p = valloc(1050);
  EXPECT_OR_DIE(Aligned(p, 4096));
  Keep(p);
}
NOINLINE void ViaPvalloc() {
  void* p = pvalloc(1060);
  EXPECT_OR_DIE(Aligned(p, 4096));
  Keep(p);
}
NOINLINE void ViaNew() { Keep(::operator new(1070)); }
NOINLINE void ViaNewArray() { Keep(::operator new[](1080)); }
NOINLINE void ViaNewNothrow() { Keep(::operator new(1090, std::nothrow)); }
NOINLINE void ViaNewArrayNothrow() { Keep(::operator new[](1100, std::nothrow)); }
NOINLINE void ViaNewAligned() {
  void* p = ::operator new(1110, kAlign);
  EXPECT_OR_DIE(Aligned(p, 64));
  Keep(p);
}
NOINLINE void ViaNewArrayAligned() {
  void* p = ::operator new[](1120, kAlign);
  EXPECT_OR_DIE(Aligned(p, 64));
  Keep(p);
}
NOINLINE void ViaNewAlignedNothrow() {
  void* p = ::operator new(1130, kAlign, std::nothrow);
  EXPECT_OR_DIE(Aligned(p, 64));
  Keep(p);
}
NOINLINE void ViaNewArrayAlignedNothrow() {
  void* p = ::operator new[](1140, kAlign, std::nothrow);
  EXPECT_OR_DIE(Aligned(p, 64));
  Keep(p);
}

NOINLINE void FreeViaDelete() { ::operator delete(::operator new(2001)); }
NOINLINE void FreeViaDeleteArray() { ::operator delete[](::operator new[](2002)); }
NOINLINE void FreeViaSizedDelete() { ::operator delete(::operator new(2003), 2003); }
NOINLINE void FreeViaSizedDeleteArray() { ::operator delete[](::operator new[](2004), 2004); }
NOINLINE void FreeViaAlignedDelete() { ::operator delete(::operator new(2005, kAlign), kAlign); }
NOINLINE void FreeViaAlignedDeleteArray() { ::operator delete[](::operator new[](2006, kAlign), kAlign); }
NOINLINE void FreeViaSizedAlignedDelete() { ::operator delete(::operator new(2007, kAlign), 2007, kAlign); }
NOINLINE void FreeViaSizedAlignedDeleteArray() {
  ::operator delete[](::operator new[](2008, kAlign), 2008, kAlign);
}
NOINLINE void FreeViaNothrowDelete() { ::operator delete(::operator new(2009), std::nothrow); }
NOINLINE void FreeViaAlignedNothrowDelete() {
  ::operator delete(::operator new(2010, kAlign), kAlign, std::nothrow);
}
NOINLINE void FreeViaReallocZero() {
  void* p = malloc(2011);
  Escape(p);
  // glibc frees p and returns NULL; either way nothing may stay "in use".
  void* q = realloc(p, 0);
  free(q);
}
NOINLINE void FreeViaFree() {
  void* p = malloc(2012);
  Escape(p);
  free(p);
}

// The contracts, none of which may allocate successfully.
NOINLINE void CheckContracts() {
  const size_t kHuge = g_huge;
  // free(NULL) is a no-op, and free keeps errno.
  free(nullptr);
  void* p = malloc(10);
  errno = 1234;
  free(p);
  EXPECT_OR_DIE(errno == 1234);
  // A failed realloc leaves the block alone.
  char* q = static_cast<char*>(malloc(16));
  q[0] = 'k';
  EXPECT_OR_DIE(realloc(q, kHuge) == nullptr);
  EXPECT_OR_DIE(q[0] == 'k');
  free(q);
  // Overflowing products fail cleanly.
  EXPECT_OR_DIE(calloc(kHuge, 16) == nullptr);
  EXPECT_OR_DIE(reallocarray(nullptr, kHuge, 16) == nullptr && errno == ENOMEM);
  EXPECT_OR_DIE(malloc(kHuge) == nullptr);
  // malloc_usable_size covers the request.
  void* r = malloc(100);
  EXPECT_OR_DIE(malloc_usable_size(r) >= 100);
  EXPECT_OR_DIE(malloc_usable_size(nullptr) == 0);
  free(r);
  // operator new throws bad_alloc; the nothrow forms return null.
  bool threw = false;
  try {
    Escape(::operator new(kHuge));
  } catch (const std::bad_alloc&) {
    threw = true;
  }
  EXPECT_OR_DIE(threw);
  threw = false;
  try {
    Escape(::operator new[](kHuge, kAlign));
  } catch (const std::bad_alloc&) {
    threw = true;
  }
  EXPECT_OR_DIE(threw);
  EXPECT_OR_DIE(::operator new(kHuge, std::nothrow) == nullptr);
  EXPECT_OR_DIE(::operator new[](kHuge, kAlign, std::nothrow) == nullptr);
}

// The new_handler runs when malloc fails; here it gives up after counting.
int g_handler_calls = 0;
void GiveUp() {
  ++g_handler_calls;
  std::set_new_handler(nullptr);  // next attempt throws
}
NOINLINE void CheckNewHandler() {
  const size_t kHuge = g_huge;
  std::set_new_handler(GiveUp);
  bool threw = false;
  try {
    Escape(::operator new(kHuge));
  } catch (const std::bad_alloc&) {
    threw = true;
  }
  EXPECT_OR_DIE(threw);
  EXPECT_OR_DIE(g_handler_calls == 1);
}

int main() {
  ViaMalloc();
  ViaCalloc();
  ViaRealloc();
  ViaReallocNull();
  ViaReallocarray();
  ViaMemalign();
  ViaPosixMemalign();
  ViaAlignedAlloc();
  ViaValloc();
  ViaPvalloc();
  ViaNew();
  ViaNewArray();
  ViaNewNothrow();
  ViaNewArrayNothrow();
  ViaNewAligned();
  ViaNewArrayAligned();
  ViaNewAlignedNothrow();
  ViaNewArrayAlignedNothrow();
  FreeViaDelete();
  FreeViaDeleteArray();
  FreeViaSizedDelete();
  FreeViaSizedDeleteArray();
  FreeViaAlignedDelete();
  FreeViaAlignedDeleteArray();
  FreeViaSizedAlignedDelete();
  FreeViaSizedAlignedDeleteArray();
  FreeViaNothrowDelete();
  FreeViaAlignedNothrowDelete();
  FreeViaReallocZero();
  FreeViaFree();
  CheckContracts();
  CheckNewHandler();
  return 0;
}
