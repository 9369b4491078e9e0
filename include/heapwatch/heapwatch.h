/* heapwatch: the API libheapwatch.so offers to the program it profiles.
 *
 * Nothing here is needed to profile a program: preloading the library is
 * enough. These calls let a program that knows about heapwatch ask for a
 * profile at a moment of its choosing (end of a test phase, a debug
 * endpoint). To avoid a link-time dependency, look them up at run time:
 *
 *   int (*dump)(void) = (int (*)(void))dlsym(RTLD_DEFAULT, "heapwatch_dump");
 *   if (dump) dump();
 */
#ifndef HEAPWATCH_HEAPWATCH_H_
#define HEAPWATCH_HEAPWATCH_H_

#ifdef __cplusplus
extern "C" {
#endif

/* Writes a heap profile now (heap.<pid>.<seq>.pb.gz in the output directory,
 * numbered with the periodic ones). Returns 0 on success, -1 if profiling is
 * off or the profile could not be written. Any thread; not from a signal
 * handler. */
int heapwatch_dump(void);

/* 1 while this process is being profiled, else 0. */
int heapwatch_is_active(void);

/* The mean number of bytes between samples (1: every allocation). */
long long heapwatch_sample_rate(void);

#ifdef __cplusplus
}
#endif

#endif /* HEAPWATCH_HEAPWATCH_H_ */
