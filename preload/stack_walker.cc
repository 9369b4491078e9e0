#include "preload/stack_walker.h"

#include <ucontext.h>

#include <atomic>
#include <cstddef>
#include <cstring>

#define UNW_LOCAL_ONLY
#include <libunwind.h>

#include "preload/call_frame_info.h"
#include "preload/frame_rule_cache.h"

namespace heapwatch {
namespace {

constinit FrameRuleCache g_rules;
constinit std::atomic<uint32_t> g_generation{0};

__attribute__((noinline)) FrameRule LookUpAndCacheFrameRule(uintptr_t pc, uint32_t salt) {
  FrameRule rule = LookUpFrameRule(pc);
  g_rules.Insert(pc, salt, rule);
  return rule;
}

inline FrameRule RuleAt(uintptr_t pc, uint32_t salt) {
  FrameRule rule;
  if (__builtin_expect(g_rules.Find(pc, salt, &rule), true)) return rule;
  return LookUpAndCacheFrameRule(pc, salt);
}

// A word of the stack, which may hold anything (other frames' saved
// registers, bytes ASan has poisoned around another frame's locals).
__attribute__((no_sanitize("address", "thread"))) uintptr_t StackWord(uintptr_t address) {
  return *reinterpret_cast<const uintptr_t*>(address);
}

// Where the kernel's signal frame keeps an interrupted register: the
// ucontext_t at the trampoline frame's stack pointer (the kernel pushed
// rt_sigframe { return address, ucontext, siginfo }, and the handler's
// return popped the first).
constexpr uintptr_t GregOffset(int reg) {
  return offsetof(ucontext_t, uc_mcontext.gregs) + sizeof(greg_t) * static_cast<uintptr_t>(reg);
}

// libunwind from the frame reached: (pc, sp, bp) of a frame whose pc is a
// return address, or an instruction's own address when `exact` (the walk's
// first frame, or one a signal interrupted). After a signal frame,
// `interrupted` holds the address of the kernel's saved registers, all of
// which libunwind gets (the interrupted code's CFI may use any of them).
int ContinueWithLibunwind(uintptr_t pc, uintptr_t sp, uintptr_t bp, bool exact, uintptr_t interrupted,
                          uintptr_t* frames, int depth, int max_depth, WalkTrace* trace) {
  unw_context_t context;
  std::memset(&context, 0, sizeof(context));
  if (interrupted != 0) {
    for (int reg = 0; reg < NGREG; ++reg) {
      context.uc_mcontext.gregs[reg] = static_cast<greg_t>(StackWord(interrupted + sizeof(greg_t) * reg));
    }
  }
  context.uc_mcontext.gregs[REG_RIP] = static_cast<greg_t>(pc);
  context.uc_mcontext.gregs[REG_RSP] = static_cast<greg_t>(sp);
  context.uc_mcontext.gregs[REG_RBP] = static_cast<greg_t>(bp);
  unw_cursor_t cursor;
  if (unw_init_local2(&cursor, &context, exact ? UNW_INIT_SIGNAL_FRAME : 0) < 0) return depth;
  while (depth < max_depth && unw_step(&cursor) > 0) {
    unw_word_t ip;
    if (unw_get_reg(&cursor, UNW_REG_IP, &ip) < 0 || ip == 0) break;
    frames[depth++] = ip;
    if (trace != nullptr) ++trace->frames_from_libunwind;
  }
  return depth;
}

// Inlined into UnwindStack: a separate call could be a tail call, whose
// frame would overwrite the very registers UnwindStack saved.
__attribute__((always_inline)) inline int Walk(FrameRegisters registers, StackBounds stack, uintptr_t* frames,
                                               int max_depth, WalkTrace* trace) {
  uintptr_t pc = registers.pc, sp = registers.sp, bp = registers.bp;
  bool exact = registers.exact;
  uintptr_t interrupted = 0;  // the saved registers, right after a signal frame
  int depth = 0;
  auto hand_over = [&] {
    if (trace != nullptr) {
      trace->reached_libunwind = true;
      if (trace->rules_only) return depth;
    }
    return ContinueWithLibunwind(pc, sp, bp, exact, interrupted, frames, depth, max_depth, trace);
  };
  if (sp < stack.low || sp >= stack.high) return hand_over();
  const uintptr_t high = stack.high;
  const uint32_t salt = FrameRuleCache::SaltFor(g_generation.load(std::memory_order_relaxed));
  while (depth < max_depth) {
    // A return address may follow a call that never returns, at the very
    // end of a function: its rule is the call's, one byte back.
    FrameRule rule = RuleAt(exact ? pc : pc - 1, salt);
    switch (rule.kind) {
      case FrameRule::kStandard: {
        uintptr_t cfa = (rule.cfa_from_rbp ? bp : sp) + rule.cfa_offset;
        // Stack slots are 8-byte aligned: anything else is a corrupt stack.
        // A CFA above the stack is one too (a frame that switched stacks
        // describes itself with a DWARF expression, which is libunwind's):
        // it ends the walk rather than letting libunwind read there.
        if (cfa < sp + sizeof(uintptr_t) || cfa > high || cfa % sizeof(uintptr_t) != 0) return depth;
        if (rule.rbp_saved) {
          uintptr_t slot = cfa + static_cast<intptr_t>(rule.rbp_offset);  // below cfa
          if (slot < sp) return depth;
          bp = StackWord(slot);
        }
        pc = StackWord(cfa - sizeof(uintptr_t));
        sp = cfa;
        exact = false;
        interrupted = 0;
        break;
      }
      case FrameRule::kSignal: {
        if (high - sp < GregOffset(NGREG) || sp % sizeof(uintptr_t) != 0) return depth;
        uintptr_t interrupted_sp = StackWord(sp + GregOffset(REG_RSP));
        // The signal interrupted code on another stack (the handler runs on
        // this one): what the kernel saved is sound, libunwind goes on from it.
        if (interrupted_sp <= sp || interrupted_sp > high) return hand_over();
        interrupted = sp + GregOffset(0);
        pc = StackWord(sp + GregOffset(REG_RIP));
        bp = StackWord(sp + GregOffset(REG_RBP));
        sp = interrupted_sp;
        exact = true;
        break;
      }
      case FrameRule::kOutermost:
        return depth;
      case FrameRule::kNone:
      case FrameRule::kUnsupported:
        return hand_over();
    }
    if (pc == 0) return depth;
    frames[depth++] = pc;
    if (trace != nullptr) ++trace->frames_from_rules;
  }
  return depth;
}

}  // namespace

__attribute__((noinline)) int UnwindStack(StackBounds stack, uintptr_t* frames, int max_depth, WalkTrace* trace) {
  // This function's own registers, at an instruction of its own: the CFI
  // row for `pc` describes exactly this `sp`.
  uintptr_t pc, sp, bp;
  asm volatile("leaq 0(%%rip), %0\n\tmovq %%rsp, %1\n\tmovq %%rbp, %2" : "=r"(pc), "=r"(sp), "=r"(bp));
  int depth = Walk({pc, sp, bp, true}, stack, frames, max_depth, trace);
  asm volatile("" ::: "memory");  // and certainly no tail call
  return depth;
}

int WalkFrom(FrameRegisters registers, StackBounds stack, uintptr_t* frames, int max_depth, WalkTrace* trace) {
  return Walk(registers, stack, frames, max_depth, trace);
}

void ForgetFrameRules() { g_generation.fetch_add(1, std::memory_order_relaxed); }

}  // namespace heapwatch
