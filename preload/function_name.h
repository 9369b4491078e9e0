// The name pprof shows by default for a demangled C++ function: no return
// type, no parameters, no template arguments.
//
//   "void std::vector<int, std::allocator<int> >::_M_realloc_insert<int const&>(...)"
//       -> "std::vector::_M_realloc_insert"
//
// Operators ("operator new", "operator()", "operator<<"), "(anonymous
// namespace)" and lambda names ("{lambda()#1}") are kept; "[abi:cxx11]" tags
// and " [clone .cold]" suffixes are dropped. Names that do not look like C++
// (C, Go, already short) pass through unchanged.
//
// This is the one implementation of that rule: the preload's collector uses it
// inside the target process, the analyzer's ShortFunctionName wraps it. So it
// allocates nothing and depends on nothing: text comes in as chars, the result
// goes to a caller's buffer. FunctionNameShortener takes its input in pieces
// (as libiberty's demangler streams it), so the full demangled name, which
// template arguments can make many KiB long, is never stored.
//
// Output longer than the buffer is cut at out_size - 1 bytes (never in the
// middle of a UTF-8 sequence) and always NUL-terminated.

#ifndef HEAPWATCH_PRELOAD_FUNCTION_NAME_H_
#define HEAPWATCH_PRELOAD_FUNCTION_NAME_H_

#include <cstddef>

namespace heapwatch {

// Shortens a demangled C++ name fed in any number of pieces. Not thread safe;
// one shortener per name.
class FunctionNameShortener {
 public:
  // The short name is written to out[0, out_size); out_size must be >= 1.
  FunctionNameShortener(char* out, size_t out_size);
  FunctionNameShortener(const FunctionNameShortener&) = delete;
  FunctionNameShortener& operator=(const FunctionNameShortener&) = delete;

  void Append(const char* text, size_t length);

  // Ends the input, NUL-terminates `out` and returns the length written.
  // 0 means the short form is empty (the caller should show the original).
  size_t Finish();

  // True when the short name did not fit in the buffer (valid after Finish).
  bool truncated() const { return length_ > out_size_ - 1; }

 private:
  enum class State : unsigned char {
    kText,           // outside any bracket
    kSkipGroup,      // inside <...>, (...) or [...], dropped
    kQualifiers,     // right after a parameter list: " const", " &&"...
    kCopyGroup,      // inside {...}, kept ("{lambda()#1}")
    kOperatorStart,  // right after the word "operator"
    kOperatorWords,  // "operator new[]", "operator bool": words up to '('
  };

  // The longest text a decision looks at: "(anonymous namespace)".
  static constexpr size_t kLookahead = 21;
  // Input is staged here until kLookahead chars are available; twice that so
  // refills are rare.
  static constexpr size_t kWindowSize = 4 * kLookahead;

  size_t available() const { return window_end_ - window_begin_; }
  char Peek(size_t offset) const { return window_[window_begin_ + offset]; }
  bool At(const char* literal, size_t length) const;
  void Consume(size_t count);
  void Emit(char c);
  void EmitConsumed(size_t count);  // copies the next `count` input chars out
  void Step();                      // one decision; needs kLookahead chars or the end of input
  void Drain(bool final);

  char* out_;
  size_t out_size_;
  size_t length_ = 0;  // length of the short name so far (may exceed out_size_ - 1)
  State state_ = State::kText;
  int depth_ = 0;  // bracket depth in kSkipGroup / kCopyGroup
  char open_ = 0;  // kSkipGroup's brackets
  char close_ = 0;
  bool params_ = false;   // kSkipGroup is a parameter list
  int qualifier_ = 0;     // next qualifier kQualifiers tries
  char previous_ = 0;     // last input char consumed
  bool at_start_ = true;  // nothing consumed yet
  bool finished_ = false;
  char window_[kWindowSize];
  size_t window_begin_ = 0;
  size_t window_end_ = 0;
};

// True for names ShortenFunctionName rewrites: they contain "::", "operator"
// or " [clone ", or end in ")" or " const".
bool LooksLikeCxxFunctionName(const char* name, size_t length);

// Writes the short form of name[0, length) to `out` (out_size >= 1), or the
// name itself when it does not look like C++ or its short form is empty.
// Returns the length written. The result is never longer than the name, so
// out_size = length + 1 never truncates.
size_t ShortenFunctionName(const char* name, size_t length, char* out, size_t out_size);

// Cuts text[0, length) so that it does not end inside a UTF-8 sequence;
// returns the new length.
size_t TrimPartialUtf8(const char* text, size_t length);

}  // namespace heapwatch

#endif  // HEAPWATCH_PRELOAD_FUNCTION_NAME_H_
