// How to step from a frame to its caller at a given code address, read from
// the loaded object's DWARF call frame information (.eh_frame, found through
// the binary-search table of .eh_frame_hdr). x86-64 only.
//
// Why our own reader rather than libunwind's: libunwind stays our unwinder
// of last resort (stack_walker.h), but its warm walk costs ~7.5 ns a frame
// and a 256 KiB trace cache per sampling thread. Almost every frame of
// compiled x86-64 code follows one of a few rules: the caller's stack
// pointer (the CFA) is rsp or rbp plus a constant, the return address is
// just below it, and rbp is either untouched or saved at a constant offset
// from it. This file reduces the CFI at an address to that rule (FrameRule,
// 32 bits), or says that the address needs more (kUnsupported) or has no CFI
// (kNone); the walker caches rules by address and hands every other frame to
// libunwind. Signal trampolines (glibc's __restore_rt: an 'S' CIE over
// `mov $15,%rax; syscall`) get their own kind: the interrupted registers are
// in the ucontext the kernel pushed.
//
// Reading in-memory CFI of loaded objects: every read is bounds-checked
// against the loaded segment holding .eh_frame_hdr, so malformed CFI reads
// as kNone or kUnsupported, never outside that segment.

#ifndef HEAPWATCH_PRELOAD_CALL_FRAME_INFO_H_
#define HEAPWATCH_PRELOAD_CALL_FRAME_INFO_H_

#include <cstddef>
#include <cstdint>

namespace heapwatch {

struct FrameRule {
  enum Kind : uint8_t {
    kNone = 0,     // no CFI covers the address
    kStandard,     // the fields below
    kSignal,       // a signal trampoline: registers from the ucontext at its sp
    kOutermost,    // the return address is undefined: the first frame of a thread
    kUnsupported,  // CFI this rule cannot express (DWARF expressions, other registers)
  };
  Kind kind = kNone;
  bool cfa_from_rbp = false;  // CFA = (rbp or rsp) + cfa_offset
  bool rbp_saved = false;     // caller's rbp at CFA + rbp_offset, else unchanged
  uint32_t cfa_offset = 0;    // < kMaxCfaOffset
  int32_t rbp_offset = 0;     // a multiple of 8 in [-8 * 255, -8]

  static constexpr uint32_t kMaxCfaOffset = uint32_t{1} << 19;

  // 32 bits for the cache: kind 3, cfa_from_rbp 1, rbp_saved 1, -rbp_offset/8 8, cfa_offset 19.
  uint32_t Pack() const {
    return static_cast<uint32_t>(kind) | (cfa_from_rbp ? 1u << 3 : 0) | (rbp_saved ? 1u << 4 : 0) |
           (static_cast<uint32_t>(-rbp_offset / 8) & 0xff) << 5 | cfa_offset << 13;
  }
  static FrameRule Unpack(uint32_t packed) {
    FrameRule rule;
    rule.kind = static_cast<Kind>(packed & 7);
    rule.cfa_from_rbp = (packed >> 3) & 1;
    rule.rbp_saved = (packed >> 4) & 1;
    rule.rbp_offset = -8 * static_cast<int32_t>((packed >> 5) & 0xff);
    rule.cfa_offset = packed >> 13;
    return rule;
  }

  bool operator==(const FrameRule&) const = default;
};

// The bytes of a loaded object that CFI reads may touch: [begin, end).
struct CfiBounds {
  const uint8_t* begin;
  const uint8_t* end;
};

// The FDE whose range covers `pc`, from the binary-search table of the
// .eh_frame_hdr at `header`; nullptr when the table has another encoding
// than the one GNU ld and lld write (datarel sdata4), or no FDE covers pc.
const uint8_t* FindFde(const uint8_t* header, CfiBounds bounds, uintptr_t pc);

// The rule at `pc` from the FDE at `fde` (and its CIE). `pc` is the address
// looked up: an instruction's own address, or a return address minus one.
FrameRule RuleFromFde(const uint8_t* fde, CfiBounds bounds, uintptr_t pc);

// The rule at `pc` in whichever loaded object holds it (dl_iterate_phdr,
// which holds the loader's lock while we read, so no dlclose unmaps the
// CFI under us). Does not allocate.
FrameRule LookUpFrameRule(uintptr_t pc);

}  // namespace heapwatch

#endif  // HEAPWATCH_PRELOAD_CALL_FRAME_INFO_H_
