// Messages from the preload to the user, on stderr.
//
// The profiled program's stderr is not ours: we write one line per event
// worth knowing ("writing profiles to ...", "profiling is off because ...")
// and never more than once per kind. Formatting uses a fixed stack buffer and
// write(2) directly: no stdio (its locks and buffers belong to the program),
// no malloc.

#ifndef HEAPWATCH_PRELOAD_DIAGNOSTICS_H_
#define HEAPWATCH_PRELOAD_DIAGNOSTICS_H_

namespace heapwatch {

// Writes "heapwatch: <formatted message>\n" to stderr. printf-style; the line
// is truncated at 1 KiB. Preserves errno. Suppressed when HEAPWATCH_QUIET is
// set, except for messages passed through WarnAlways.
void Warn(const char* format, ...) __attribute__((format(printf, 1, 2)));
void WarnAlways(const char* format, ...) __attribute__((format(printf, 1, 2)));

// errno's description, for messages: strerrordesc_np's English text, which
// takes no lock (strerror reads the locale under libc's locale lock, which
// the program may hold for writing while it allocates, i.e. while our code
// runs inside its malloc).
const char* ErrorText(int error);

// Silences Warn (not WarnAlways) for the rest of the process.
void SetQuiet(bool quiet);

}  // namespace heapwatch

#endif  // HEAPWATCH_PRELOAD_DIAGNOSTICS_H_
