#include "preload/demangle.h"

#include <cstdint>
#include <cstring>

// libiberty.h (included by its demangle.h) declares basename() unless told
// the C library already does; glibc's C++ <string.h> overloads differ.
#define HAVE_DECL_BASENAME 1
#include <demangle.h>  // libiberty

#include "preload/function_name.h"

namespace heapwatch {
namespace {

// c++filt's options: parameters, cv-qualifiers, and the full expansion of
// std:: abbreviations.
constexpr int kCxxfiltOptions = DMGL_PARAMS | DMGL_ANSI | DMGL_VERBOSE;
// For display, Rust without hashes and crate disambiguators (not verbose).
constexpr int kRustDisplayOptions = DMGL_NO_OPTS;

// Collects demangler output into a fixed buffer, cutting what does not fit.
struct BufferSink {
  char* out;
  size_t size;
  size_t length = 0;  // may exceed size - 1

  static void Callback(const char* text, size_t count, void* opaque) {
    BufferSink* sink = static_cast<BufferSink*>(opaque);
    size_t room = sink->length < sink->size - 1 ? sink->size - 1 - sink->length : 0;
    if (room > 0) std::memcpy(sink->out + sink->length, text, count < room ? count : room);
    sink->length += count;
  }

  size_t Finish() {
    size_t written = length;
    if (written > size - 1) written = TrimPartialUtf8(out, size - 1);
    out[written] = '\0';
    return written;
  }
};

void ShortenerCallback(const char* text, size_t count, void* opaque) {
  static_cast<FunctionNameShortener*>(opaque)->Append(text, count);
}

size_t CopyRaw(const char* symbol, size_t length, char* out, size_t out_size) {
  size_t written = length;
  if (written > out_size - 1) written = TrimPartialUtf8(symbol, out_size - 1);
  std::memcpy(out, symbol, written);
  out[written] = '\0';
  return written;
}

// Parses a Rust v0 symbol (the part after "_R", up to any ".suffix") the way
// libiberty's rust_demangle_callback will, to learn whether printing it would
// reach print_ident's malloc: true only if it parses and has no punycode
// identifier. Fails closed: anything unexpected (unknown syntax, a forward
// back-reference, too deep, too much work) counts as unsafe. Grammar: the
// Rust v0 mangling RFC (2603), as libiberty implements it.
class RustV0Scanner {
 public:
  RustV0Scanner(const char* text, size_t length) : text_(text), length_(length) {}

  bool SafeToDemangle() {
    Path();
    if (!error_ && position_ < length_) Path();  // the instantiating crate
    return !error_ && !punycode_ && position_ == length_;
  }

 private:
  // libiberty stops at 1024 levels; real symbols need far fewer.
  static constexpr int kMaxDepth = 256;
  // Back-references can make the work exponential in the symbol's length;
  // this bounds ours, and so libiberty's (it follows a subset of them).
  static constexpr int kMaxSteps = 1 << 16;

  char Peek() const { return position_ < length_ ? text_[position_] : '\0'; }
  bool Eat(char c) {
    if (Peek() != c || c == '\0') return false;
    ++position_;
    return true;
  }
  char Next() {
    char c = Peek();
    if (c == '\0') {
      error_ = true;
    } else {
      ++position_;
    }
    return c;
  }
  static bool IsDigit(char c) { return c >= '0' && c <= '9'; }
  static bool IsLower(char c) { return c >= 'a' && c <= 'z'; }
  static bool IsUpper(char c) { return c >= 'A' && c <= 'Z'; }

  bool Enter() {
    if (error_ || ++depth_ > kMaxDepth || ++steps_ > kMaxSteps) error_ = true;
    return !error_;
  }
  void Leave() { --depth_; }

  // <base-62-number> = {<0-9a-zA-Z>} "_", valued +1 unless empty.
  uint64_t Integer62() {
    if (Eat('_')) return 0;
    uint64_t value = 0;
    while (!error_ && !Eat('_')) {
      char c = Next();
      uint64_t digit = IsDigit(c) ? c - '0' : IsLower(c) ? 10 + (c - 'a') : IsUpper(c) ? 36 + (c - 'A') : 62;
      if (digit == 62 || value > (UINT64_MAX - digit) / 62) {
        error_ = true;
        return 0;
      }
      value = value * 62 + digit;
    }
    return value + 1;
  }

  void Disambiguator() {
    if (Eat('s')) Integer62();
  }

  // <undisambiguated-identifier> = ["u"] <decimal-number> ["_"] <bytes>
  void Identifier() {
    if (Eat('u')) punycode_ = true;
    char c = Next();
    if (!IsDigit(c)) {
      error_ = true;
      return;
    }
    uint64_t count = c - '0';
    if (c != '0') {
      while (IsDigit(Peek())) {
        count = count * 10 + (Next() - '0');
        if (count > length_) {
          error_ = true;
          return;
        }
      }
    }
    Eat('_');
    if (count > length_ - position_) {
      error_ = true;
      return;
    }
    position_ += count;
  }

  // <backref> = "B" <base-62-number>, an offset into the symbol before it.
  template <typename Parse>
  void BackReference(Parse parse) {
    size_t tag = position_ - 1;
    uint64_t target = Integer62();
    if (error_) return;
    if (target >= tag) {
      error_ = true;
      return;
    }
    size_t saved = position_;
    position_ = static_cast<size_t>(target);
    parse();
    position_ = saved;
  }

  void Path() {
    if (!Enter()) return;
    switch (Next()) {
      case 'C':  // crate root
        Disambiguator();
        Identifier();
        break;
      case 'N': {  // nested path
        char ns = Next();
        if (!IsLower(ns) && !IsUpper(ns)) error_ = true;
        Path();
        Disambiguator();
        Identifier();
        break;
      }
      case 'M':  // inherent impl
        Disambiguator();
        Path();
        Type();
        break;
      case 'X':  // trait impl
        Disambiguator();
        Path();
        Type();
        Path();
        break;
      case 'Y':  // trait definition
        Type();
        Path();
        break;
      case 'I':  // generic arguments
        Path();
        while (!error_ && !Eat('E')) GenericArgument();
        break;
      case 'B':
        BackReference([this] { Path(); });
        break;
      default:
        error_ = true;
    }
    Leave();
  }

  void GenericArgument() {
    if (Eat('L')) {
      Integer62();
    } else if (Eat('K')) {
      Const();
    } else {
      Type();
    }
  }

  static bool IsBasicType(char c) { return c != '\0' && std::strchr("abcdefhijlmnopstuvxyz", c) != nullptr; }

  void Type() {
    if (!Enter()) return;
    char tag = Next();
    if (!IsBasicType(tag)) {
      switch (tag) {
        case 'R':  // &T
        case 'Q':  // &mut T
          if (Eat('L')) Integer62();
          Type();
          break;
        case 'P':  // *const T
        case 'O':  // *mut T
        case 'S':  // [T]
          Type();
          break;
        case 'A':  // [T; N]
          Type();
          Const();
          break;
        case 'T':  // tuple
          while (!error_ && !Eat('E')) Type();
          break;
        case 'F':  // fn pointer: [binder] ["U"] ["K" abi] {type} "E" type
          Binder();
          Eat('U');
          if (Eat('K') && !Eat('C')) Identifier();
          while (!error_ && !Eat('E')) Type();
          if (!Eat('u')) Type();
          break;
        case 'D':  // dyn Trait + ... + 'lifetime
          Binder();
          while (!error_ && !Eat('E')) DynTrait();
          if (Eat('L')) {
            Integer62();
          } else {
            error_ = true;
          }
          break;
        case 'B':
          BackReference([this] { Type(); });
          break;
        default:  // a named type is a path
          if (tag != '\0') --position_;
          Path();
      }
    }
    Leave();
  }

  void Binder() {
    if (Eat('G')) Integer62();
  }

  void DynTrait() {
    if (!Enter()) return;
    if (Eat('B')) {
      BackReference([this] { PathMaybeWithGenerics(); });
    } else {
      PathMaybeWithGenerics();
    }
    while (!error_ && Eat('p')) {  // associated type binding
      Identifier();
      Type();
    }
    Leave();
  }

  void PathMaybeWithGenerics() {
    if (Eat('I')) {
      Path();
      while (!error_ && !Eat('E')) GenericArgument();
    } else {
      Path();
    }
  }

  void Const() {
    if (!Enter()) return;
    if (Eat('B')) {
      BackReference([this] { Const(); });
    } else {
      // <const> = "p" | <basic type> ["n"] {<hex digit>} "_" (integers, bool, char)
      char type = Next();
      bool is_signed = type != '\0' && std::strchr("aslxni", type) != nullptr;
      bool is_other = type != '\0' && std::strchr("htmyojbc", type) != nullptr;
      if (type == 'p') {  // placeholder
      } else if (is_signed || is_other) {
        if (is_signed) Eat('n');  // negative
        while (!error_ && !Eat('_')) {
          char c = Next();
          if (!IsDigit(c) && !(c >= 'a' && c <= 'f')) error_ = true;
        }
      } else {
        error_ = true;
      }
    }
    Leave();
  }

  const char* text_;
  size_t length_;
  size_t position_ = 0;
  int depth_ = 0;
  int steps_ = 0;
  bool error_ = false;
  bool punycode_ = false;
};

// True if libiberty may be given this NUL-terminated symbol: not a Rust v0
// symbol, or one whose printing does not allocate.
bool RustV0SafeOrNotV0(const char* symbol, size_t length) {
  if (length < 2 || symbol[0] != '_' || symbol[1] != 'R') return true;
  const char* path = symbol + 2;
  size_t path_length = length - 2;
  const char* dot = static_cast<const char*>(std::memchr(path, '.', path_length));
  if (dot != nullptr) path_length = static_cast<size_t>(dot - path);  // libiberty ignores ".suffix"es
  return RustV0Scanner(path, path_length).SafeToDemangle();
}

// Copies symbol[0, length) to `copy` with a NUL; false if it is too long to
// demangle or contains a NUL.
bool CopyForDemangling(const char* symbol, size_t length, char (&copy)[kMaxDemangledSymbolLength + 1]) {
  if (length > kMaxDemangledSymbolLength || std::memchr(symbol, '\0', length) != nullptr) return false;
  std::memcpy(copy, symbol, length);
  copy[length] = '\0';
  return true;
}

}  // namespace

size_t DemangleSymbol(const char* symbol, size_t length, char* out, size_t out_size) {
  if (out_size == 0) return 0;
  out[0] = '\0';
  char mangled[kMaxDemangledSymbolLength + 1];
  if (!CopyForDemangling(symbol, length, mangled) || !RustV0SafeOrNotV0(mangled, length)) return 0;
  // Rust first, as c++filt does: legacy Rust symbols are valid C++ ones too.
  BufferSink rust{out, out_size};
  if (rust_demangle_callback(mangled, kCxxfiltOptions, BufferSink::Callback, &rust) != 0)
    return rust.Finish();
  BufferSink cxx{out, out_size};
  if (cplus_demangle_v3_callback(mangled, kCxxfiltOptions, BufferSink::Callback, &cxx) != 0)
    return cxx.Finish();
  out[0] = '\0';
  return 0;
}

size_t FunctionDisplayName(const char* symbol, size_t length, char* out, size_t out_size) {
  if (out_size == 0) return 0;
  char mangled[kMaxDemangledSymbolLength + 1];
  if (CopyForDemangling(symbol, length, mangled) && RustV0SafeOrNotV0(mangled, length)) {
    BufferSink rust{out, out_size};
    if (rust_demangle_callback(mangled, kRustDisplayOptions, BufferSink::Callback, &rust) != 0) {
      return rust.Finish();
    }
    // The shortener sees the demangled text piece by piece as libiberty
    // prints it; the full text is never stored.
    FunctionNameShortener shortener(out, out_size);
    if (cplus_demangle_v3_callback(mangled, kCxxfiltOptions, ShortenerCallback, &shortener) != 0) {
      size_t written = shortener.Finish();
      if (written > 0 || shortener.truncated()) return written;
      // Nothing is left of it: show the whole demangled name, as
      // ShortenFunctionName does.
      BufferSink cxx{out, out_size};
      if (cplus_demangle_v3_callback(mangled, kCxxfiltOptions, BufferSink::Callback, &cxx) != 0)
        return cxx.Finish();
    }
  }
  return CopyRaw(symbol, length, out, out_size);
}

}  // namespace heapwatch
