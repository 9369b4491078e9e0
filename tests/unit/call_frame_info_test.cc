// FrameRules from hand-assembled CFI: each instruction the reader knows, the
// ones it refuses, and corrupt or truncated entries, which must read as
// "no rule" without a read outside the bounds (the ASan build checks that).

#include "preload/call_frame_info.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

namespace heapwatch {
namespace {

using Bytes = std::vector<uint8_t>;

// DWARF CFA opcodes and x86-64 register numbers used below.
constexpr uint8_t kAdvanceLoc = 0x40;  // | delta
constexpr uint8_t kOffset = 0x80;      // | reg, uleb offset / data_align
constexpr uint8_t kRestore = 0xc0;     // | reg
constexpr uint8_t kRememberState = 0x0a;
constexpr uint8_t kRestoreState = 0x0b;
constexpr uint8_t kDefCfa = 0x0c;
constexpr uint8_t kDefCfaRegister = 0x0d;
constexpr uint8_t kDefCfaOffset = 0x0e;
constexpr uint8_t kDefCfaExpression = 0x0f;
constexpr uint8_t kUndefined = 0x07;
constexpr uint8_t kRegister = 0x09;
constexpr uint8_t kRbp = 6, kRsp = 7, kRip = 16;

void Append32(Bytes& bytes, uint32_t value) {
  for (int i = 0; i < 4; ++i) bytes.push_back(static_cast<uint8_t>(value >> (8 * i)));
}
void Append64(Bytes& bytes, uint64_t value) {
  for (int i = 0; i < 8; ++i) bytes.push_back(static_cast<uint8_t>(value >> (8 * i)));
}
void Put32(Bytes& bytes, size_t at, uint32_t value) {
  for (int i = 0; i < 4; ++i) bytes[at + i] = static_cast<uint8_t>(value >> (8 * i));
}

// A CIE as GCC writes it for x86-64 (code_align 1, data_align -8, return
// address in r16, "zR" with absolute 8-byte FDE addresses to keep the tests
// free of relocation arithmetic), followed by one FDE for [begin, begin+size).
struct Cfi {
  Bytes bytes;
  size_t fde = 0;  // offset of the FDE
};

Cfi MakeCfi(uint64_t begin, uint64_t size, const Bytes& fde_instructions, const std::string& augmentation = "zR",
            const Bytes& cie_instructions = {kDefCfa, kRsp, 8, kOffset | kRip, 1}) {
  Cfi cfi;
  Bytes& b = cfi.bytes;
  Append32(b, 0);  // length, patched
  Append32(b, 0);  // CIE id
  b.push_back(1);  // version
  b.insert(b.end(), augmentation.begin(), augmentation.end());
  b.push_back(0);
  b.push_back(1);     // code alignment
  b.push_back(0x78);  // data alignment -8
  b.push_back(kRip);  // return address register
  b.push_back(1);     // augmentation data length
  b.push_back(0x00);  // 'R': DW_EH_PE_absptr
  b.insert(b.end(), cie_instructions.begin(), cie_instructions.end());
  Put32(b, 0, static_cast<uint32_t>(b.size() - 4));
  cfi.fde = b.size();
  Append32(b, 0);                                  // length, patched
  Append32(b, static_cast<uint32_t>(b.size()));    // CIE pointer: back to offset 0
  Append64(b, begin);
  Append64(b, size);
  b.push_back(0);  // augmentation data length
  b.insert(b.end(), fde_instructions.begin(), fde_instructions.end());
  Put32(b, cfi.fde, static_cast<uint32_t>(b.size() - cfi.fde - 4));
  return cfi;
}

FrameRule RuleAt(const Cfi& cfi, uintptr_t pc) {
  const uint8_t* data = cfi.bytes.data();
  return RuleFromFde(data + cfi.fde, {data, data + cfi.bytes.size()}, pc);
}

FrameRule Standard(bool from_rbp, uint32_t cfa_offset, int32_t rbp_offset = 0) {
  FrameRule rule;
  rule.kind = FrameRule::kStandard;
  rule.cfa_from_rbp = from_rbp;
  rule.cfa_offset = cfa_offset;
  rule.rbp_saved = rbp_offset != 0;
  rule.rbp_offset = rbp_offset;
  return rule;
}

constexpr uint64_t kBegin = 0x401000;

// push %rbp; mov %rsp,%rbp; ... as GCC describes it.
const Bytes kFramePointerPrologue = {kAdvanceLoc | 1, kDefCfaOffset, 16, kOffset | kRbp, 2,
                                     kAdvanceLoc | 3, kDefCfaRegister, kRbp};

TEST(CallFrameInfoTest, RowsFollowThePrologue) {
  Cfi cfi = MakeCfi(kBegin, 0x100, kFramePointerPrologue);
  EXPECT_EQ(RuleAt(cfi, kBegin), Standard(false, 8));
  EXPECT_EQ(RuleAt(cfi, kBegin + 1), Standard(false, 16, -16));
  EXPECT_EQ(RuleAt(cfi, kBegin + 3), Standard(false, 16, -16));
  EXPECT_EQ(RuleAt(cfi, kBegin + 4), Standard(true, 16, -16));
  EXPECT_EQ(RuleAt(cfi, kBegin + 0xff), Standard(true, 16, -16));
}

TEST(CallFrameInfoTest, AddressesOutsideTheFdeHaveNoRule) {
  Cfi cfi = MakeCfi(kBegin, 0x100, kFramePointerPrologue);
  EXPECT_EQ(RuleAt(cfi, kBegin - 1).kind, FrameRule::kNone);
  EXPECT_EQ(RuleAt(cfi, kBegin + 0x100).kind, FrameRule::kNone);
}

TEST(CallFrameInfoTest, RememberedStateComesBackWithItsCfa) {
  // An epilogue in the middle of a function: pop %rbp; ret; then the body
  // goes on with the frame as it was.
  Bytes instructions = kFramePointerPrologue;
  Bytes epilogue = {kAdvanceLoc | 8,  kRememberState, kDefCfa, kRsp, 8, kRestore | kRbp,
                    kAdvanceLoc | 2, kRestoreState};
  instructions.insert(instructions.end(), epilogue.begin(), epilogue.end());
  Cfi cfi = MakeCfi(kBegin, 0x100, instructions);
  EXPECT_EQ(RuleAt(cfi, kBegin + 12), Standard(false, 8));
  EXPECT_EQ(RuleAt(cfi, kBegin + 13), Standard(false, 8));
  EXPECT_EQ(RuleAt(cfi, kBegin + 14), Standard(true, 16, -16));
}

TEST(CallFrameInfoTest, LargeFramesAndAdvanceWidths) {
  // sub $0x12345,%rsp after an advance_loc1, then a row after advance_loc2.
  Bytes instructions = {0x02, 200, kDefCfaOffset, 0xcd, 0xc6, 0x04,  // uleb 0x12345 + 8 = 74573
                        0x03, 0x00, 0x01, kDefCfaOffset, 16};
  Cfi cfi = MakeCfi(kBegin, 0x1000, instructions);
  EXPECT_EQ(RuleAt(cfi, kBegin + 199), Standard(false, 8));
  EXPECT_EQ(RuleAt(cfi, kBegin + 200), Standard(false, 74573));
  EXPECT_EQ(RuleAt(cfi, kBegin + 200 + 255), Standard(false, 74573));
  EXPECT_EQ(RuleAt(cfi, kBegin + 200 + 256), Standard(false, 16));
}

TEST(CallFrameInfoTest, WhatARuleCannotSayIsUnsupported) {
  // CFA from an expression (stack realignment through a DRAP register).
  EXPECT_EQ(RuleAt(MakeCfi(kBegin, 16, {kDefCfaExpression, 3, 0x76, 0x78, 0x06}), kBegin).kind,
            FrameRule::kUnsupported);
  // CFA from another register (r10).
  EXPECT_EQ(RuleAt(MakeCfi(kBegin, 16, {kDefCfa, 10, 0}), kBegin).kind, FrameRule::kUnsupported);
  // rbp kept in rbx.
  EXPECT_EQ(RuleAt(MakeCfi(kBegin, 16, {kRegister, kRbp, 3}), kBegin).kind, FrameRule::kUnsupported);
  // rbp saved above the CFA.
  EXPECT_EQ(RuleAt(MakeCfi(kBegin, 16, {0x2f, kRbp, 1}), kBegin).kind, FrameRule::kUnsupported);
  // An opcode that does not exist.
  EXPECT_EQ(RuleAt(MakeCfi(kBegin, 16, {0x3f}), kBegin).kind, FrameRule::kUnsupported);
  // Unbalanced restore_state.
  EXPECT_EQ(RuleAt(MakeCfi(kBegin, 16, {kRestoreState}), kBegin).kind, FrameRule::kUnsupported);
}

TEST(CallFrameInfoTest, UndefinedReturnAddressIsTheOutermostFrame) {
  EXPECT_EQ(RuleAt(MakeCfi(kBegin, 16, {kUndefined, kRip}), kBegin).kind, FrameRule::kOutermost);
}

TEST(CallFrameInfoTest, SignalTrampolineIsRecognizedByItsCode) {
  // The FDE starts one byte before the trampoline, as glibc's does, and the
  // lookup is the return address (the trampoline) minus one.
  static const uint8_t code[] = {0x90, 0x48, 0xc7, 0xc0, 0x0f, 0x00, 0x00, 0x00, 0x0f, 0x05};
  uint64_t begin = reinterpret_cast<uintptr_t>(code);
  EXPECT_EQ(RuleAt(MakeCfi(begin, sizeof(code), {kDefCfaExpression, 1, 0x77}, "zRS"), begin).kind,
            FrameRule::kSignal);
  // Without 'S' the same code is an ordinary (here unsupported) frame.
  EXPECT_EQ(RuleAt(MakeCfi(begin, sizeof(code), {kDefCfaExpression, 1, 0x77}, "zR"), begin).kind,
            FrameRule::kUnsupported);
  // 'S' over other code is read as CFI.
  static const uint8_t other[10] = {};
  uint64_t other_begin = reinterpret_cast<uintptr_t>(other);
  EXPECT_EQ(RuleAt(MakeCfi(other_begin, sizeof(other), {}, "zRS"), other_begin), Standard(false, 8));
}

TEST(CallFrameInfoTest, PackedRulesRoundTrip) {
  for (const FrameRule& rule : {Standard(false, 8), Standard(true, 16, -16), Standard(false, FrameRule::kMaxCfaOffset - 1),
                                Standard(true, 0, -8 * 255)}) {
    EXPECT_EQ(FrameRule::Unpack(rule.Pack()), rule);
  }
  for (FrameRule::Kind kind : {FrameRule::kNone, FrameRule::kSignal, FrameRule::kOutermost, FrameRule::kUnsupported}) {
    FrameRule rule;
    rule.kind = kind;
    EXPECT_EQ(FrameRule::Unpack(rule.Pack()), rule);
  }
}

// Every prefix of a valid CIE+FDE, in a buffer of exactly that size, and
// every single-byte corruption: no crash, no read outside (ASan), and a
// truncated FDE never yields the full rule.
TEST(CallFrameInfoTest, TruncatedOrCorruptEntriesAreRefusedSafely) {
  Bytes instructions = kFramePointerPrologue;
  instructions.push_back(kRememberState);
  Cfi cfi = MakeCfi(kBegin, 0x100, instructions);
  for (size_t length = 0; length < cfi.bytes.size(); ++length) {
    std::unique_ptr<uint8_t[]> copy(new uint8_t[length + 1]);
    std::memcpy(copy.get(), cfi.bytes.data(), length);
    const uint8_t* fde = copy.get() + std::min(cfi.fde, length);
    FrameRule rule = RuleFromFde(fde, {copy.get(), copy.get() + length}, kBegin + 8);
    EXPECT_NE(rule, Standard(true, 16, -16)) << "length " << length;
  }
  for (size_t at = 0; at < cfi.bytes.size(); ++at) {
    for (uint8_t value : {uint8_t{0x00}, uint8_t{0xff}, uint8_t{0x80}, uint8_t{0x7f}}) {
      Bytes corrupt = cfi.bytes;
      corrupt[at] = value;
      std::unique_ptr<uint8_t[]> copy(new uint8_t[corrupt.size()]);
      std::memcpy(copy.get(), corrupt.data(), corrupt.size());
      FrameRule rule = RuleFromFde(copy.get() + cfi.fde, {copy.get(), copy.get() + corrupt.size()}, kBegin + 8);
      if (rule.kind == FrameRule::kStandard) {
        EXPECT_LT(rule.cfa_offset, FrameRule::kMaxCfaOffset);
      }
    }
  }
}

// What C++ objects carry: a version 3 CIE with a personality routine and an
// LSDA ("zPLR"), and pc-relative FDE addresses (pcrel sdata4).
TEST(CallFrameInfoTest, PcRelativeFdeOfACxxCieWithPersonalityAndLsda) {
  Bytes b;
  Append32(b, 0);  // length, patched
  Append32(b, 0);  // CIE id
  b.push_back(3);  // version
  for (char c : std::string("zPLR")) b.push_back(static_cast<uint8_t>(c));
  b.push_back(0);
  b.push_back(1);     // code alignment
  b.push_back(0x78);  // data alignment -8
  b.push_back(kRip);  // return address register (uleb in version 3)
  b.push_back(7);     // augmentation data: P (1 + 4), L (1), R (1)
  b.push_back(0x9b);  // personality: indirect pcrel sdata4
  Append32(b, 0x12345678);
  b.push_back(0x1b);  // LSDA: pcrel sdata4
  b.push_back(0x1b);  // FDE addresses: pcrel sdata4
  for (uint8_t op : {kDefCfa, kRsp, uint8_t{8}, uint8_t(kOffset | kRip), uint8_t{1}}) b.push_back(op);
  Put32(b, 0, static_cast<uint32_t>(b.size() - 4));
  size_t fde = b.size();
  Append32(b, 0);                                // length, patched
  Append32(b, static_cast<uint32_t>(b.size()));  // CIE pointer
  size_t begin_field = b.size();
  Append32(b, 0x1000);  // pc_begin: 0x1000 past this field
  Append32(b, 0x100);   // pc_range
  b.push_back(4);       // augmentation data: the LSDA pointer
  Append32(b, 0);
  b.insert(b.end(), kFramePointerPrologue.begin(), kFramePointerPrologue.end());
  Put32(b, fde, static_cast<uint32_t>(b.size() - fde - 4));

  const uint8_t* data = b.data();
  const uintptr_t begin = reinterpret_cast<uintptr_t>(data + begin_field) + 0x1000;
  CfiBounds bounds{data, data + b.size()};
  EXPECT_EQ(RuleFromFde(data + fde, bounds, begin - 1).kind, FrameRule::kNone);
  EXPECT_EQ(RuleFromFde(data + fde, bounds, begin), Standard(false, 8));
  EXPECT_EQ(RuleFromFde(data + fde, bounds, begin + 4), Standard(true, 16, -16));
  EXPECT_EQ(RuleFromFde(data + fde, bounds, begin + 0x100).kind, FrameRule::kNone);
}

// An .eh_frame_hdr search table (datarel sdata4 pairs) over three FDEs.
TEST(CallFrameInfoTest, FindFdeSearchesTheHeaderTable) {
  Bytes memory(256, 0);
  uint8_t* header = memory.data();
  header[0] = 1;     // version
  header[1] = 0x1b;  // eh_frame_ptr: pcrel sdata4
  header[2] = 0x03;  // fde_count: udata4
  header[3] = 0x3b;  // table: datarel sdata4
  Put32(memory, 4, 0);
  Put32(memory, 8, 3);
  const uintptr_t base = reinterpret_cast<uintptr_t>(header);
  // Entries: initial location and FDE, relative to the header.
  const int32_t locations[] = {0x1000, 0x2000, 0x3000};
  const int32_t fdes[] = {100, 140, 180};
  for (int i = 0; i < 3; ++i) {
    Put32(memory, 12 + 8 * i, static_cast<uint32_t>(locations[i]));
    Put32(memory, 16 + 8 * i, static_cast<uint32_t>(fdes[i]));
  }
  CfiBounds bounds{memory.data(), memory.data() + memory.size()};
  EXPECT_EQ(FindFde(header, bounds, base + 0xfff), nullptr);
  EXPECT_EQ(FindFde(header, bounds, base + 0x1000), header + 100);
  EXPECT_EQ(FindFde(header, bounds, base + 0x1fff), header + 100);
  EXPECT_EQ(FindFde(header, bounds, base + 0x2000), header + 140);
  EXPECT_EQ(FindFde(header, bounds, base + 0x2fff), header + 140);
  EXPECT_EQ(FindFde(header, bounds, base + 0x7fffffff), header + 180);

  // An FDE outside the bounds, a count the bounds cannot hold, another table
  // encoding: no FDE.
  Put32(memory, 16 + 16, 4096);
  EXPECT_EQ(FindFde(header, bounds, base + 0x3000), nullptr);
  Put32(memory, 8, 1000);
  EXPECT_EQ(FindFde(header, bounds, base + 0x1000), nullptr);
  Put32(memory, 8, 3);
  header[3] = 0x1b;
  EXPECT_EQ(FindFde(header, bounds, base + 0x1000), nullptr);
}

}  // namespace
}  // namespace heapwatch
