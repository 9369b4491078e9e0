#include "preload/memory_map.h"

#include <pthread.h>
#include <sys/mman.h>
#include <unistd.h>

#include <string>

#include <gtest/gtest.h>

namespace heapwatch {
namespace {

// A maps text from memory, as a file descriptor.
int MapsFile(const std::string& text) {
  int fd = memfd_create("maps", 0);
  EXPECT_GE(fd, 0);
  EXPECT_EQ(write(fd, text.data(), text.size()), static_cast<ssize_t>(text.size()));
  lseek(fd, 0, SEEK_SET);
  return fd;
}

TEST(MemoryMapTest, FindsTheMainThreadsStackAsPthreadDoes) {
  int local = 0;
  MappingRange stack;
  ASSERT_TRUE(FindMapping(reinterpret_cast<uintptr_t>(&local), &stack));
  EXPECT_LE(stack.start, reinterpret_cast<uintptr_t>(&local));
  EXPECT_GT(stack.end, reinterpret_cast<uintptr_t>(&local));
  EXPECT_LE(stack.previous_end, stack.start);
  pthread_attr_t attributes;
  ASSERT_EQ(pthread_getattr_np(pthread_self(), &attributes), 0);
  void* address;
  size_t size;
  ASSERT_EQ(pthread_attr_getstack(&attributes, &address, &size), 0);
  pthread_attr_destroy(&attributes);
  uintptr_t pthread_high = reinterpret_cast<uintptr_t>(address) + size;
  // glibc ends the main stack at the page above __libc_stack_end; the
  // mapping goes on over the arguments and the environment.
  EXPECT_GE(stack.end, pthread_high);
  EXPECT_LT(stack.end - pthread_high, uintptr_t{1} << 20);
  EXPECT_GE(reinterpret_cast<uintptr_t>(address), stack.previous_end);
}

TEST(MemoryMapTest, FindsAHeapMappingAndNothingInAHole) {
  long page = sysconf(_SC_PAGESIZE);
  char* three = static_cast<char*>(mmap(nullptr, 3 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  ASSERT_NE(three, MAP_FAILED);
  ASSERT_EQ(munmap(three + page, page), 0);  // a hole in the middle
  MappingRange found;
  ASSERT_TRUE(FindMapping(reinterpret_cast<uintptr_t>(three + 2 * page + 5), &found));
  EXPECT_EQ(found.start, reinterpret_cast<uintptr_t>(three + 2 * page));
  EXPECT_EQ(found.previous_end, reinterpret_cast<uintptr_t>(three + page));
  EXPECT_FALSE(FindMapping(reinterpret_cast<uintptr_t>(three + page), &found));
  munmap(three, page);
  munmap(three + 2 * page, page);
}

TEST(MemoryMapTest, ReadsLongLinesAcrossBufferBoundaries) {
  std::string long_path = "/" + std::string(10000, 'x');
  std::string text = "1000-2000 r--p 00000000 00:00 0 " + long_path + "\n" +
                     "not a mapping line\n" +
                     "3000-5000 rw-p 00000000 00:00 0 " + long_path + long_path + "\n" +
                     "7ffff000-7ffff800 rw-p 00000000 00:00 0 [stack]\n";
  MappingRange found;
  int fd = MapsFile(text);
  ASSERT_TRUE(FindMappingIn(fd, 0x4fff, &found));
  EXPECT_EQ(found.start, 0x3000u);
  EXPECT_EQ(found.end, 0x5000u);
  EXPECT_EQ(found.previous_end, 0x2000u);
  close(fd);
  fd = MapsFile(text);
  ASSERT_TRUE(FindMappingIn(fd, 0x7ffff7ff, &found));
  EXPECT_EQ(found.previous_end, 0x5000u);
  close(fd);
  fd = MapsFile(text);
  EXPECT_FALSE(FindMappingIn(fd, 0x2000, &found)) << "end is exclusive";
  close(fd);
  fd = MapsFile("1000-2000 r--p");  // no newline: never a complete line
  EXPECT_FALSE(FindMappingIn(fd, 0x1000, &found));
  close(fd);
}

}  // namespace
}  // namespace heapwatch
