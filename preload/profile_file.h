// Writing a profile file safely: gzip (zlib) into a temporary file in the
// output directory, then rename() over the final name.
//
// A reader therefore sees either the previous complete file or the new
// complete file, never half of one, and a SIGKILL mid-write leaves the last
// snapshot intact. The temporary file is created with O_EXCL | O_NOFOLLOW
// and mode 0600 (profiles reveal a program's internals), so a symlink planted
// in the directory is never followed; rename() replaces a symlink at the
// final name rather than writing through it.
//
// zlib's memory comes from MapPages, not from the malloc we interpose.
//
// A write past RLIMIT_FSIZE raises SIGXFSZ on the whole process, whose
// default action kills it: we never attempt one. The limit is checked
// before each write, which then fails with EFBIG like any other error.

#ifndef HEAPWATCH_PRELOAD_PROFILE_FILE_H_
#define HEAPWATCH_PRELOAD_PROFILE_FILE_H_

#include <cstddef>
#include <cstdint>

#include "preload/config.h"

namespace heapwatch {

class ProfileFile {
 public:
  ProfileFile() = default;
  ProfileFile(const ProfileFile&) = delete;
  ProfileFile& operator=(const ProfileFile&) = delete;
  ~ProfileFile() { Abort(); }

  // Creates `directory`/.`name`.tmp.<pid> and starts a gzip stream. On
  // failure returns false with errno set.
  bool Open(const char* directory, const char* name);

  // Compresses and writes `size` bytes. False (errno set) on failure.
  bool Write(const uint8_t* data, size_t size);

  // Ends the stream, closes and renames the file to its final name. False
  // (errno set) on failure, in which case the temporary file is removed.
  bool Commit();

  // Closes and removes the temporary file, if any.
  void Abort();

  // Bytes of zlib state mapped while a file is open (0 otherwise).
  size_t compressor_bytes() const { return compressor_bytes_; }
  static void AddCompressorBytes(void* file, ptrdiff_t bytes) {
    static_cast<ProfileFile*>(file)->compressor_bytes_ += static_cast<size_t>(bytes);
  }

  // For ProtobufWriter: Write() as a sink.
  static bool Sink(void* file, const uint8_t* data, size_t size) {
    return static_cast<ProfileFile*>(file)->Write(data, size);
  }

 private:
  bool Deflate(int flush);
  bool WriteAll(const uint8_t* data, size_t size);

  int fd_ = -1;
  uint64_t bytes_written_ = 0;
  uint64_t size_limit_ = UINT64_MAX;  // RLIMIT_FSIZE when the file was opened
  bool stream_open_ = false;
  size_t compressor_bytes_ = 0;
  void* stream_ = nullptr;  // z_stream, in its own mapping
  char temp_path_[kMaxPathLength + 64] = {};
  char final_path_[kMaxPathLength + 64] = {};
};

// Creates `directory` and any missing parents (mode 0700 for what we create).
// False with errno set on failure.
bool MakeDirectories(const char* directory);

// Calls fn(name, context) for each entry of `directory` but . and .. False
// (errno set) when it cannot be read. Read with getdents64 into a buffer on
// the stack: opendir would malloc its buffer through our hooks.
bool ForEachDirectoryEntry(const char* directory, void (*fn)(const char* name, void* context), void* context);

// True when a file can be created in `directory` (tried, not guessed from
// permission bits: read-only mounts and ACLs count). errno set when false.
bool DirectoryIsWritable(const char* directory);

}  // namespace heapwatch

#endif  // HEAPWATCH_PRELOAD_PROFILE_FILE_H_
