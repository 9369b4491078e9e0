#include "preload/function_name.h"

#include <cstring>

namespace heapwatch {
namespace {

struct Literal {
  const char* text;
  size_t length;
};

template <size_t N>
constexpr Literal L(const char (&text)[N]) {
  return {text, N - 1};
}

// The symbol of an operator, longest first so "<<=" wins over "<<" and "<".
constexpr Literal kOperatorSymbols[] = {
    L("<<="), L(">>="), L("->*"), L("<=>"), L("()"), L("[]"), L("<<"), L(">>"), L("<="), L(">="),
    L("=="),  L("!="),  L("&&"),  L("||"),  L("++"), L("--"), L("->"), L("+="), L("-="), L("*="),
    L("/="),  L("%="),  L("^="),  L("&="),  L("|="), L("<"),  L(">"),  L("="),  L("!"),  L("+"),
    L("-"),   L("*"),   L("/"),   L("%"),   L("^"),  L("&"),  L("|"),  L("~"),  L(","),  L("\"\"")};

// Qualifiers after a parameter list belong to the signature; each is tried
// once, in this order.
constexpr Literal kQualifiers[] = {L(" const"), L(" volatile"), L(" &&"), L(" &")};

constexpr Literal kAnonymousNamespace = L("(anonymous namespace)");
constexpr Literal kOperator = L("operator");

bool IsIdentifierChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

bool Contains(const char* text, size_t length, Literal part) {
  if (part.length > length) return false;
  for (size_t i = 0; i + part.length <= length; ++i) {
    if (std::memcmp(text + i, part.text, part.length) == 0) return true;
  }
  return false;
}

bool EndsWith(const char* text, size_t length, Literal suffix) {
  return length >= suffix.length &&
         std::memcmp(text + length - suffix.length, suffix.text, suffix.length) == 0;
}

}  // namespace

FunctionNameShortener::FunctionNameShortener(char* out, size_t out_size) : out_(out), out_size_(out_size) {}

bool FunctionNameShortener::At(const char* literal, size_t length) const {
  return available() >= length && std::memcmp(window_ + window_begin_, literal, length) == 0;
}

void FunctionNameShortener::Consume(size_t count) {
  previous_ = Peek(count - 1);
  at_start_ = false;
  window_begin_ += count;
}

void FunctionNameShortener::Emit(char c) {
  if (length_ < out_size_ - 1) out_[length_] = c;
  ++length_;
}

void FunctionNameShortener::EmitConsumed(size_t count) {
  for (size_t i = 0; i < count; ++i) Emit(Peek(i));
  Consume(count);
}

void FunctionNameShortener::Step() {
  static_assert(kAnonymousNamespace.length <= kLookahead && kOperator.length + 1 <= kLookahead &&
                    L(" volatile").length <= kLookahead,
                "a decision must see every char it compares before more input arrives");
  switch (state_) {
    case State::kText: {
      bool word_start = at_start_ || previous_ == ':' || previous_ == ' ';
      if (At(kAnonymousNamespace.text, kAnonymousNamespace.length)) {
        EmitConsumed(kAnonymousNamespace.length);
        return;
      }
      if (word_start && At(kOperator.text, kOperator.length) &&
          (available() == kOperator.length || !IsIdentifierChar(Peek(kOperator.length)))) {
        EmitConsumed(kOperator.length);
        state_ = State::kOperatorStart;
        return;
      }
      char c = Peek(0);
      switch (c) {
        case '<':
        case '(':
        case '[':
          // "[abi:cxx11]" tags and " [clone .cold]" suffixes go with the
          // template arguments and parameters.
          open_ = c;
          close_ = c == '<' ? '>' : c == '(' ? ')' : ']';
          params_ = c == '(';
          depth_ = 0;
          state_ = State::kSkipGroup;
          return;
        case '{':  // "{lambda(int)#1}" names a lambda
          depth_ = 0;
          state_ = State::kCopyGroup;
          return;
        case ' ':
          // A space outside any bracket ends a return type ("void ns::f"), or
          // starts a suffix such as " [clone .cold]".
          if (!(available() > 1 && Peek(1) == '[')) length_ = 0;
          Consume(1);
          return;
        default:
          EmitConsumed(1);
          return;
      }
    }
    case State::kSkipGroup: {
      // An unclosed group swallows the rest of the name.
      char c = Peek(0);
      Consume(1);
      if (c == open_) ++depth_;
      if (c == close_ && --depth_ == 0) {
        state_ = params_ ? State::kQualifiers : State::kText;
        qualifier_ = 0;
      }
      return;
    }
    case State::kQualifiers:
      while (qualifier_ < static_cast<int>(sizeof(kQualifiers) / sizeof(kQualifiers[0]))) {
        const Literal& qualifier = kQualifiers[qualifier_++];
        if (At(qualifier.text, qualifier.length)) {
          Consume(qualifier.length);
          return;
        }
      }
      state_ = State::kText;
      return;
    case State::kCopyGroup: {
      char c = Peek(0);
      EmitConsumed(1);
      if (c == '{') ++depth_;
      if (c == '}' && --depth_ == 0) state_ = State::kText;
      return;
    }
    case State::kOperatorStart:
      for (const Literal& symbol : kOperatorSymbols) {
        if (At(symbol.text, symbol.length)) {
          EmitConsumed(symbol.length);
          // "operator<< <char>(...)": the demangler spaces template arguments
          // off an operator ending in '<'; that space ends no return type.
          if (At(" <", 2)) Consume(1);
          state_ = State::kText;
          return;
        }
      }
      // "operator new[]", "operator delete", or a conversion ("operator
      // bool"): a space, then words up to the parameter list.
      state_ = State::kOperatorWords;
      return;
    case State::kOperatorWords:
      if (Peek(0) == '(') {
        state_ = State::kText;
      } else {
        EmitConsumed(1);
      }
      return;
  }
}

void FunctionNameShortener::Drain(bool final) {
  // Every step consumes input or moves to a state whose next step does.
  while (available() > 0 && (final || available() >= kLookahead)) Step();
}

void FunctionNameShortener::Append(const char* text, size_t length) {
  while (length > 0) {
    if (window_begin_ > 0) {
      std::memmove(window_, window_ + window_begin_, available());
      window_end_ -= window_begin_;
      window_begin_ = 0;
    }
    size_t take = kWindowSize - window_end_;
    if (take > length) take = length;
    std::memcpy(window_ + window_end_, text, take);
    window_end_ += take;
    text += take;
    length -= take;
    Drain(false);
  }
}

size_t FunctionNameShortener::Finish() {
  if (!finished_) {
    finished_ = true;
    Drain(true);
  }
  size_t written = length_;
  if (written > out_size_ - 1) written = TrimPartialUtf8(out_, out_size_ - 1);
  out_[written] = '\0';
  return written;
}

bool LooksLikeCxxFunctionName(const char* name, size_t length) {
  return Contains(name, length, L("::")) || EndsWith(name, length, L(")")) ||
         EndsWith(name, length, L(" const")) || Contains(name, length, kOperator) ||
         Contains(name, length, L(" [clone "));
}

size_t ShortenFunctionName(const char* name, size_t length, char* out, size_t out_size) {
  if (out_size == 0) return 0;
  if (LooksLikeCxxFunctionName(name, length)) {
    FunctionNameShortener shortener(out, out_size);
    shortener.Append(name, length);
    size_t written = shortener.Finish();
    if (written > 0 || shortener.truncated()) return written;
  }
  size_t written = length;
  if (written > out_size - 1) written = TrimPartialUtf8(name, out_size - 1);
  std::memcpy(out, name, written);
  out[written] = '\0';
  return written;
}

size_t TrimPartialUtf8(const char* text, size_t length) {
  size_t continuation = 0;
  while (continuation < length && continuation < 3 &&
         (static_cast<unsigned char>(text[length - 1 - continuation]) & 0xC0) == 0x80) {
    ++continuation;
  }
  if (continuation == length) return length;  // no lead byte: not UTF-8, leave it
  unsigned char lead = static_cast<unsigned char>(text[length - 1 - continuation]);
  size_t needed = (lead & 0xE0) == 0xC0 ? 2 : (lead & 0xF0) == 0xE0 ? 3 : (lead & 0xF8) == 0xF0 ? 4 : 1;
  return continuation + 1 < needed ? length - 1 - continuation : length;
}

}  // namespace heapwatch
