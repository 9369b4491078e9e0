// Naming the frames of a sample so that profiles from different runs match.
//
// Raw addresses change with ASLR, ids change from file to file; what stays is
// the function name, or failing that the object and the offset in its file.
// Everything that compares profiles (diff, trend, check) keys frames by the
// names produced here.

#ifndef HEAPWATCH_ANALYZER_FRAMES_H_
#define HEAPWATCH_ANALYZER_FRAMES_H_

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "analyzer/profile.h"

namespace heapwatch {

struct Frame {
  // The function's name shortened by ShortFunctionName; else
  // "<object>+0x<offset in file>"; else "0x<address>".
  std::string name;
  // Base name of the file the frame's code was mapped from ("" if unknown).
  std::string object;
  bool operator==(const Frame&) const = default;
};

// The frames of `sample`, leaf first, with inlined frames expanded (innermost
// first).
std::vector<Frame> StackFrames(const Profile& profile, const Sample& sample);

// The name pprof shows by default for a demangled C++ name: no return type,
// no parameters, no template arguments ("void std::vector<int>::push_back(int
// const&)" -> "std::vector::push_back"). Names that are not C++ pass through.
// The rule itself is preload/function_name.h's, shared with the preload.
std::string ShortFunctionName(std::string_view name);

// True for frames of the allocation plumbing between user code and the heap:
// the malloc family and operator new/delete, anything in the C and C++
// runtime libraries or in namespace std, Go's runtime allocator, and
// heapwatch's own hooks.
bool IsAllocatorFrame(const Frame& frame);

// Index of the first frame (from the leaf) that is not allocator plumbing:
// the call site a user would fix. Returns 0 when every frame is plumbing.
size_t FirstUserFrame(const std::vector<Frame>& frames);

}  // namespace heapwatch

#endif  // HEAPWATCH_ANALYZER_FRAMES_H_
