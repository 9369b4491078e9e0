// Setting an environment variable without allocating through the program's
// allocator: glibc's setenv mallocs the new "NAME=value" string and a new
// environ array, and a block of ours among the program's changes where its
// own blocks land (and so when its heap can shrink).
//
// Our memory holds both instead. glibc copes with an environ it did not
// allocate, as it does with the one the kernel passed: a later setenv or
// putenv copies the array into one of its own, unsetenv edits it in place,
// clearenv drops it; none frees it.

#ifndef HEAPWATCH_PRELOAD_ENVIRONMENT_H_
#define HEAPWATCH_PRELOAD_ENVIRONMENT_H_

namespace heapwatch {

// As setenv(name, value, 1), for our start-up (which runs before the
// program's threads could race with it, or while they do not touch the
// environment). False, with nothing changed, when memory cannot be mapped.
bool SetEnvironmentVariable(const char* name, const char* value);

}  // namespace heapwatch

#endif  // HEAPWATCH_PRELOAD_ENVIRONMENT_H_
