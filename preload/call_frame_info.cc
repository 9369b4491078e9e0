#include "preload/call_frame_info.h"

#include <link.h>

#include <cstring>

namespace heapwatch {
namespace {

// DWARF register numbers on x86-64 (System V psABI, "DWARF Register Number
// Mapping").
constexpr uint64_t kRbp = 6;
constexpr uint64_t kRsp = 7;
constexpr uint64_t kReturnAddress = 16;

// Pointer encodings (DW_EH_PE_*, LSB "Exception Frames").
constexpr uint8_t kPeOmit = 0xff;
constexpr uint8_t kPeFormatMask = 0x0f;
constexpr uint8_t kPeApplicationMask = 0x70;
constexpr uint8_t kPeAbsptr = 0x00;
constexpr uint8_t kPeUleb128 = 0x01;
constexpr uint8_t kPeUdata2 = 0x02;
constexpr uint8_t kPeUdata4 = 0x03;
constexpr uint8_t kPeUdata8 = 0x04;
constexpr uint8_t kPeSleb128 = 0x09;
constexpr uint8_t kPeSdata2 = 0x0a;
constexpr uint8_t kPeSdata4 = 0x0b;
constexpr uint8_t kPeSdata8 = 0x0c;
constexpr uint8_t kPePcrel = 0x10;
constexpr uint8_t kPeDatarel = 0x30;
constexpr uint8_t kPeIndirect = 0x80;

// glibc's x86-64 signal trampoline, __restore_rt: mov $15,%rax; syscall
// (rt_sigreturn). libunwind recognizes signal frames by the same bytes.
constexpr uint8_t kSigreturnCode[] = {0x48, 0xc7, 0xc0, 0x0f, 0x00, 0x00, 0x00, 0x0f, 0x05};

// Sequential reads that never pass `end`; one failed read fails the rest.
class Reader {
 public:
  Reader(const uint8_t* at, CfiBounds bounds) : at_(at), end_(bounds.end), ok_(at >= bounds.begin && at <= end_) {}

  bool ok() const { return ok_; }
  const uint8_t* position() const { return at_; }
  const uint8_t* end() const { return end_; }
  void Fail() { ok_ = false; }
  bool AtEnd() const { return !ok_ || at_ >= end_; }

  // Narrows the readable range to end at `end` (an entry's length).
  void Limit(const uint8_t* end) {
    if (end < at_ || end > end_) ok_ = false;
    else end_ = end;
  }

  void Skip(uint64_t count) {
    if (!ok_ || count > static_cast<uint64_t>(end_ - at_)) ok_ = false;
    else at_ += count;
  }

  template <typename T>
  T Fixed() {
    T value{};
    if (!ok_ || sizeof(T) > static_cast<size_t>(end_ - at_)) {
      ok_ = false;
      return value;
    }
    std::memcpy(&value, at_, sizeof(T));
    at_ += sizeof(T);
    return value;
  }

  uint64_t Uleb() {
    uint64_t value = 0;
    for (unsigned shift = 0; shift < 64; shift += 7) {
      uint8_t byte = Fixed<uint8_t>();
      value |= static_cast<uint64_t>(byte & 0x7f) << shift;
      if (!(byte & 0x80)) return value;
    }
    ok_ = false;
    return 0;
  }

  int64_t Sleb() {
    uint64_t value = 0;
    for (unsigned shift = 0; shift < 64; shift += 7) {
      uint8_t byte = Fixed<uint8_t>();
      value |= static_cast<uint64_t>(byte & 0x7f) << shift;
      if (!(byte & 0x80)) {
        if (shift + 7 < 64 && (byte & 0x40)) value |= ~uint64_t{0} << (shift + 7);
        return static_cast<int64_t>(value);
      }
    }
    ok_ = false;
    return 0;
  }

  // A pointer in `encoding`; `data_base` is what datarel is relative to
  // (0: not allowed here). Indirect pointers are read, not followed: only
  // personality routines use them, and we skip those.
  uintptr_t Encoded(uint8_t encoding, uintptr_t data_base) {
    uintptr_t field = reinterpret_cast<uintptr_t>(at_);
    uint64_t value;
    switch (encoding & kPeFormatMask) {
      case kPeAbsptr: value = Fixed<uint64_t>(); break;
      case kPeUleb128: value = Uleb(); break;
      case kPeUdata2: value = Fixed<uint16_t>(); break;
      case kPeUdata4: value = Fixed<uint32_t>(); break;
      case kPeUdata8: value = Fixed<uint64_t>(); break;
      case kPeSleb128: value = static_cast<uint64_t>(Sleb()); break;
      case kPeSdata2: value = static_cast<uint64_t>(int64_t{Fixed<int16_t>()}); break;
      case kPeSdata4: value = static_cast<uint64_t>(int64_t{Fixed<int32_t>()}); break;
      case kPeSdata8: value = Fixed<uint64_t>(); break;
      default: ok_ = false; return 0;
    }
    switch (encoding & kPeApplicationMask) {
      case 0: break;
      case kPePcrel: value += field; break;
      case kPeDatarel:
        if (data_base == 0) ok_ = false;
        value += data_base;
        break;
      default: ok_ = false;  // textrel, funcrel, aligned: not used on x86-64
    }
    return static_cast<uintptr_t>(value);
  }

 private:
  const uint8_t* at_;
  const uint8_t* end_;
  bool ok_;
};

// Reads an entry's length (32-bit, or 64-bit after 0xffffffff) and limits
// the reader to the entry. False for the zero terminator or a bad length.
bool EnterEntry(Reader& reader) {
  uint64_t length = reader.Fixed<uint32_t>();
  if (length == 0xffffffff) length = reader.Fixed<uint64_t>();
  if (!reader.ok() || length == 0) return false;
  const uint8_t* start = reader.position();
  reader.Skip(length);
  if (!reader.ok()) return false;
  const uint8_t* end = reader.position();
  reader = Reader(start, {start, end});
  return true;
}

struct Cie {
  uint64_t code_align = 0;
  int64_t data_align = 0;
  uint8_t fde_encoding = kPeAbsptr;
  bool has_augmentation_data = false;  // 'z'
  bool signal_frame = false;           // 'S'
  const uint8_t* instructions = nullptr;
  const uint8_t* end = nullptr;
};

bool ParseCie(const uint8_t* at, CfiBounds bounds, Cie* cie) {
  Reader reader(at, bounds);
  if (!EnterEntry(reader)) return false;
  if (reader.Fixed<uint32_t>() != 0) return false;  // a CIE's id is 0 in .eh_frame
  uint8_t version = reader.Fixed<uint8_t>();
  if (version != 1 && version != 3) return false;
  char augmentation[8];
  size_t length = 0;
  for (;;) {
    char c = static_cast<char>(reader.Fixed<uint8_t>());
    if (!reader.ok() || length == sizeof(augmentation)) return false;
    augmentation[length++] = c;
    if (c == '\0') break;
  }
  cie->code_align = reader.Uleb();
  cie->data_align = reader.Sleb();
  uint64_t return_register = version == 1 ? reader.Fixed<uint8_t>() : reader.Uleb();
  if (return_register != kReturnAddress) return false;
  if (augmentation[0] == 'z') {
    cie->has_augmentation_data = true;
    uint64_t data_length = reader.Uleb();
    if (!reader.ok() || data_length > static_cast<uint64_t>(reader.end() - reader.position())) return false;
    const uint8_t* data_end = reader.position() + data_length;
    for (const char* c = augmentation + 1; *c != '\0' && reader.ok(); ++c) {
      if (*c == 'R') {
        cie->fde_encoding = reader.Fixed<uint8_t>();
      } else if (*c == 'P') {
        uint8_t encoding = reader.Fixed<uint8_t>();
        reader.Encoded(static_cast<uint8_t>(encoding & ~kPeIndirect), 0 /* never datarel here */);
      } else if (*c == 'L') {
        reader.Fixed<uint8_t>();
      } else if (*c == 'S') {
        cie->signal_frame = true;
      } else {
        break;  // unknown: the data length lets us skip the rest
      }
    }
    if (!reader.ok() || data_end < reader.position()) return false;
    reader.Skip(static_cast<uint64_t>(data_end - reader.position()));
  } else if (augmentation[0] != '\0') {
    return false;  // without 'z' an unknown augmentation cannot be skipped
  }
  // Real factors are 1 and -8; bounding them keeps every factored offset
  // (an operand below 2^31 times a factor) far from overflow.
  if (!reader.ok() || cie->code_align == 0 || cie->code_align > 256 || cie->data_align < -256 ||
      cie->data_align > 256) {
    return false;
  }
  cie->instructions = reader.position();
  cie->end = reader.end();
  return true;
}

struct RegisterRule {
  enum How : uint8_t { kUnchanged, kAtCfaOffset, kUndefined, kOther };
  How how = kUnchanged;
  int64_t offset = 0;
};

// One row of the CFI table, for the registers the walk needs.
struct Row {
  uint64_t cfa_register = ~uint64_t{0};  // none until the CIE defines it
  int64_t cfa_offset = 0;
  bool cfa_is_expression = false;
  RegisterRule rbp;
  RegisterRule return_address;

  RegisterRule* Tracked(uint64_t reg) {
    if (reg == kRbp) return &rbp;
    if (reg == kReturnAddress) return &return_address;
    return nullptr;
  }
  const RegisterRule* Tracked(uint64_t reg) const { return const_cast<Row*>(this)->Tracked(reg); }
};

// Runs CFA instructions from `reader` on `row`. For an FDE (`initial` set:
// the row after the CIE's instructions), stops before the first move of the
// location past `pc`, `location` being the address the row applies from.
// False for instructions we do not know or cannot use (the rule is then
// kUnsupported).
bool Execute(Reader reader, const Cie& cie, const Row* initial, uintptr_t pc, uintptr_t location, Row* row) {
  constexpr int kMaxRemembered = 8;
  Row remembered[kMaxRemembered];
  int remembered_count = 0;
  // Offset operands, bounded so that factoring them cannot overflow (a
  // larger one fails the reader: no real frame is 2 GiB).
  constexpr int64_t kMaxOperand = int64_t{1} << 31;
  auto unsigned_operand = [&]() -> int64_t {
    uint64_t value = reader.Uleb();
    if (value >= static_cast<uint64_t>(kMaxOperand)) reader.Fail();
    return reader.ok() ? static_cast<int64_t>(value) : 0;
  };
  auto signed_operand = [&]() -> int64_t {
    int64_t value = reader.Sleb();
    if (value >= kMaxOperand || value <= -kMaxOperand) reader.Fail();
    return reader.ok() ? value : 0;
  };
  auto set = [&](uint64_t reg, RegisterRule::How how, int64_t offset) {
    if (RegisterRule* rule = row->Tracked(reg)) *rule = {how, offset};
  };
  // Back to the CIE's rule for `reg`; a CIE itself has nothing to go back to.
  auto restore = [&](uint64_t reg) {
    if (initial == nullptr) reader.Fail();
    else if (RegisterRule* rule = row->Tracked(reg)) *rule = *initial->Tracked(reg);
  };
  while (!reader.AtEnd()) {
    uint8_t op = reader.Fixed<uint8_t>();
    uint8_t operand = op & 0x3f;
    bool moves = false;  // the instruction moves the location to `next`
    uintptr_t next = 0;
    auto advance = [&](uint64_t delta) {
      moves = true;
      next = location + delta * cie.code_align;
    };
    // The three primary opcodes keep an operand in their low 6 bits; the
    // extended ones are all below 0x40.
    switch (op < 0x40 ? op : op & 0xc0) {
      case 0x40:  // DW_CFA_advance_loc
        advance(operand);
        break;
      case 0x80:  // DW_CFA_offset
        set(operand, RegisterRule::kAtCfaOffset, unsigned_operand() * cie.data_align);
        break;
      case 0xc0:  // DW_CFA_restore
        restore(operand);
        break;
      case 0x00:  // DW_CFA_nop
        break;
      case 0x01:  // DW_CFA_set_loc
        moves = true;
        next = reader.Encoded(cie.fde_encoding, 0);
        break;
      case 0x02:  // DW_CFA_advance_loc1
        advance(reader.Fixed<uint8_t>());
        break;
      case 0x03:  // DW_CFA_advance_loc2
        advance(reader.Fixed<uint16_t>());
        break;
      case 0x04:  // DW_CFA_advance_loc4
        advance(reader.Fixed<uint32_t>());
        break;
      case 0x05: {  // DW_CFA_offset_extended
        uint64_t reg = reader.Uleb();
        set(reg, RegisterRule::kAtCfaOffset, unsigned_operand() * cie.data_align);
        break;
      }
      case 0x06:  // DW_CFA_restore_extended
        restore(reader.Uleb());
        break;
      case 0x07:  // DW_CFA_undefined
        set(reader.Uleb(), RegisterRule::kUndefined, 0);
        break;
      case 0x08:  // DW_CFA_same_value
        set(reader.Uleb(), RegisterRule::kUnchanged, 0);
        break;
      case 0x09: {  // DW_CFA_register
        uint64_t reg = reader.Uleb();
        reader.Uleb();
        set(reg, RegisterRule::kOther, 0);
        break;
      }
      case 0x0a:  // DW_CFA_remember_state (the whole row, CFA included, as libgcc and libunwind do)
        if (remembered_count == kMaxRemembered) return false;
        remembered[remembered_count++] = *row;
        break;
      case 0x0b:  // DW_CFA_restore_state
        if (remembered_count == 0) return false;
        *row = remembered[--remembered_count];
        break;
      case 0x0c:  // DW_CFA_def_cfa
        row->cfa_register = reader.Uleb();
        row->cfa_offset = unsigned_operand();
        row->cfa_is_expression = false;
        break;
      case 0x0d:  // DW_CFA_def_cfa_register
        row->cfa_register = reader.Uleb();
        row->cfa_is_expression = false;
        break;
      case 0x0e:  // DW_CFA_def_cfa_offset
        row->cfa_offset = unsigned_operand();
        break;
      case 0x0f:  // DW_CFA_def_cfa_expression
        reader.Skip(reader.Uleb());
        row->cfa_is_expression = true;
        break;
      case 0x10:    // DW_CFA_expression
      case 0x16: {  // DW_CFA_val_expression
        uint64_t reg = reader.Uleb();
        reader.Skip(reader.Uleb());
        set(reg, RegisterRule::kOther, 0);
        break;
      }
      case 0x11: {  // DW_CFA_offset_extended_sf
        uint64_t reg = reader.Uleb();
        set(reg, RegisterRule::kAtCfaOffset, signed_operand() * cie.data_align);
        break;
      }
      case 0x12:  // DW_CFA_def_cfa_sf
        row->cfa_register = reader.Uleb();
        row->cfa_offset = signed_operand() * cie.data_align;
        row->cfa_is_expression = false;
        break;
      case 0x13:  // DW_CFA_def_cfa_offset_sf
        row->cfa_offset = signed_operand() * cie.data_align;
        break;
      case 0x14:    // DW_CFA_val_offset
      case 0x15: {  // DW_CFA_val_offset_sf
        uint64_t reg = reader.Uleb();
        if (op == 0x14) reader.Uleb();
        else reader.Sleb();
        set(reg, RegisterRule::kOther, 0);
        break;
      }
      case 0x2e:  // DW_CFA_GNU_args_size
        reader.Uleb();
        break;
      case 0x2f: {  // DW_CFA_GNU_negative_offset_extended
        uint64_t reg = reader.Uleb();
        set(reg, RegisterRule::kAtCfaOffset, -unsigned_operand() * cie.data_align);
        break;
      }
      default:
        return false;
    }
    if (moves) {
      if (initial == nullptr || !reader.ok()) return false;  // a CIE does not move
      if (pc < next) return true;                            // the row at pc is complete
      location = next;
    }
  }
  return reader.ok();
}

FrameRule Unsupported() {
  FrameRule rule;
  rule.kind = FrameRule::kUnsupported;
  return rule;
}

FrameRule RuleFromRow(const Row& row) {
  FrameRule rule;
  if (row.return_address.how == RegisterRule::kUndefined) {
    rule.kind = FrameRule::kOutermost;
    return rule;
  }
  if (row.cfa_is_expression || (row.cfa_register != kRsp && row.cfa_register != kRbp)) return Unsupported();
  if (row.return_address.how != RegisterRule::kAtCfaOffset || row.return_address.offset != -8) return Unsupported();
  if (row.cfa_offset < 0 || row.cfa_offset >= int64_t{FrameRule::kMaxCfaOffset}) return Unsupported();
  rule.kind = FrameRule::kStandard;
  rule.cfa_from_rbp = row.cfa_register == kRbp;
  rule.cfa_offset = static_cast<uint32_t>(row.cfa_offset);
  switch (row.rbp.how) {
    case RegisterRule::kUnchanged:
    case RegisterRule::kUndefined:  // libunwind, too, leaves it as it was
      break;
    case RegisterRule::kAtCfaOffset:
      if (row.rbp.offset % 8 != 0 || row.rbp.offset > -8 || row.rbp.offset < -8 * 255) return Unsupported();
      rule.rbp_saved = true;
      rule.rbp_offset = static_cast<int32_t>(row.rbp.offset);
      break;
    case RegisterRule::kOther:
      return Unsupported();
  }
  return rule;
}

struct LookUp {
  uintptr_t pc;
  FrameRule rule;
};

int LookUpInObject(dl_phdr_info* info, size_t, void* data) {
  auto* lookup = static_cast<LookUp*>(data);
  bool holds_pc = false;
  const ElfW(Phdr)* eh_frame_header = nullptr;
  for (int i = 0; i < info->dlpi_phnum; ++i) {
    const ElfW(Phdr)& phdr = info->dlpi_phdr[i];
    uintptr_t start = info->dlpi_addr + phdr.p_vaddr;
    if (phdr.p_type == PT_LOAD && lookup->pc >= start && lookup->pc - start < phdr.p_memsz) holds_pc = true;
    if (phdr.p_type == PT_GNU_EH_FRAME) eh_frame_header = &phdr;
  }
  if (!holds_pc) return 0;
  if (eh_frame_header == nullptr) return 1;  // kNone
  uintptr_t header = info->dlpi_addr + eh_frame_header->p_vaddr;
  // .eh_frame_hdr and .eh_frame share a read-only segment in what GNU ld
  // and lld write: reads are kept inside it.
  for (int i = 0; i < info->dlpi_phnum; ++i) {
    const ElfW(Phdr)& phdr = info->dlpi_phdr[i];
    uintptr_t start = info->dlpi_addr + phdr.p_vaddr;
    if (phdr.p_type != PT_LOAD || header < start || header - start >= phdr.p_filesz) continue;
    CfiBounds bounds{reinterpret_cast<const uint8_t*>(start), reinterpret_cast<const uint8_t*>(start + phdr.p_filesz)};
    if (const uint8_t* fde = FindFde(reinterpret_cast<const uint8_t*>(header), bounds, lookup->pc)) {
      lookup->rule = RuleFromFde(fde, bounds, lookup->pc);
    }
    break;
  }
  return 1;
}

}  // namespace

const uint8_t* FindFde(const uint8_t* header, CfiBounds bounds, uintptr_t pc) {
  Reader reader(header, bounds);
  uintptr_t base = reinterpret_cast<uintptr_t>(header);
  uint8_t version = reader.Fixed<uint8_t>();
  uint8_t eh_frame_encoding = reader.Fixed<uint8_t>();
  uint8_t count_encoding = reader.Fixed<uint8_t>();
  uint8_t table_encoding = reader.Fixed<uint8_t>();
  if (!reader.ok() || version != 1 || eh_frame_encoding == kPeOmit || count_encoding == kPeOmit ||
      table_encoding != (kPeDatarel | kPeSdata4)) {
    return nullptr;
  }
  reader.Encoded(eh_frame_encoding, base);
  uint64_t count = reader.Encoded(count_encoding, base);
  const uint8_t* table = reader.position();
  if (!reader.ok() || count == 0 || count > static_cast<uint64_t>(bounds.end - table) / 8) return nullptr;
  auto entry = [&](uint64_t i, int which) {
    int32_t offset;
    std::memcpy(&offset, table + 8 * i + 4 * which, sizeof(offset));
    return base + static_cast<uintptr_t>(static_cast<intptr_t>(offset));
  };
  // The last entry whose initial location is at or below pc.
  uint64_t low = 0, high = count;
  while (low < high) {
    uint64_t middle = low + (high - low) / 2;
    if (entry(middle, 0) <= pc) low = middle + 1;
    else high = middle;
  }
  if (low == 0) return nullptr;
  uintptr_t fde = entry(low - 1, 1);
  if (fde < reinterpret_cast<uintptr_t>(bounds.begin) || fde >= reinterpret_cast<uintptr_t>(bounds.end)) return nullptr;
  return reinterpret_cast<const uint8_t*>(fde);
}

FrameRule RuleFromFde(const uint8_t* fde, CfiBounds bounds, uintptr_t pc) {
  Reader reader(fde, bounds);
  if (!EnterEntry(reader)) return {};
  const uint8_t* cie_pointer = reader.position();
  uint32_t cie_offset = reader.Fixed<uint32_t>();
  if (!reader.ok() || cie_offset == 0 || cie_offset > static_cast<uintptr_t>(cie_pointer - bounds.begin)) return {};
  Cie cie;
  if (!ParseCie(cie_pointer - cie_offset, bounds, &cie)) return Unsupported();
  uintptr_t begin = reader.Encoded(cie.fde_encoding, 0);
  uintptr_t range = reader.Encoded(cie.fde_encoding & kPeFormatMask, 0);
  if (!reader.ok() || pc < begin || pc - begin >= range) return {};
  if (cie.has_augmentation_data) reader.Skip(reader.Uleb());
  if (!reader.ok()) return Unsupported();

  if (cie.signal_frame && pc + 1 - begin + sizeof(kSigreturnCode) <= range &&
      std::memcmp(reinterpret_cast<const void*>(pc + 1), kSigreturnCode, sizeof(kSigreturnCode)) == 0) {
    FrameRule rule;
    rule.kind = FrameRule::kSignal;
    return rule;
  }
  Row initial;
  if (!Execute(Reader(cie.instructions, {cie.instructions, cie.end}), cie, nullptr, pc, 0, &initial)) {
    return Unsupported();
  }
  Row row = initial;
  if (!Execute(reader, cie, &initial, pc, begin, &row)) return Unsupported();
  return RuleFromRow(row);
}

FrameRule LookUpFrameRule(uintptr_t pc) {
  LookUp lookup{pc, {}};
  dl_iterate_phdr(LookUpInObject, &lookup);
  return lookup.rule;
}

}  // namespace heapwatch
