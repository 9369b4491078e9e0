// Naming the frames of a sample so that profiles from different runs match.
//
// Raw addresses change with ASLR, ids change from file to file; what stays is
// the function name, or failing that the object and the offset in its file.
// Everything that compares profiles (diff, trend, check) keys frames by the
// strings produced here.

#ifndef HEAPWATCH_ANALYZER_FRAMES_H_
#define HEAPWATCH_ANALYZER_FRAMES_H_

#include <cstddef>
#include <string>
#include <vector>

#include "analyzer/profile.h"

namespace heapwatch {

// The frames of `sample`, leaf first, with inlined frames expanded (innermost
// first). Each frame is the function name when known, else
// "<object base name>+0x<offset in file>", else "0x<address>".
std::vector<std::string> StackFrames(const Profile& profile, const Sample& sample);

// True for frames of the allocation plumbing between user code and the heap:
// malloc and operator new wrappers of libc, libstdc++/libc++, the standard
// containers' allocators, and heapwatch's own hooks.
bool IsAllocatorFrame(const std::string& frame);

// Index of the first frame (from the leaf) that is not allocator plumbing:
// the call site a user would fix. Returns 0 when every frame is plumbing.
size_t FirstUserFrame(const std::vector<std::string>& frames);

}  // namespace heapwatch

#endif  // HEAPWATCH_ANALYZER_FRAMES_H_
