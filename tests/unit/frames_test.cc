#include "analyzer/frames.h"

#include <gtest/gtest.h>

namespace heapwatch {
namespace {

TEST(ShortFunctionNameTest, StripsReturnTypeParametersAndTemplates) {
  EXPECT_EQ(ShortFunctionName("void std::vector<int, std::allocator<int> >::_M_realloc_insert<int const&>("
                              "__gnu_cxx::__normal_iterator<int*, std::vector<int, std::allocator<int> > >, int const&)"),
            "std::vector::_M_realloc_insert");
  EXPECT_EQ(ShortFunctionName("Cache::insert(std::__cxx11::basic_string<char, std::char_traits<char>, "
                              "std::allocator<char> > const&) const"),
            "Cache::insert");
  EXPECT_EQ(ShortFunctionName("unsigned long ns::f(int)"), "ns::f");
  EXPECT_EQ(ShortFunctionName("foo(int) [clone .cold]"), "foo");
  EXPECT_EQ(ShortFunctionName("make_name[abi:cxx11](int)"), "make_name");
}

TEST(ShortFunctionNameTest, KeepsOperatorsLambdasAndAnonymousNamespaces) {
  EXPECT_EQ(ShortFunctionName("operator new(unsigned long)"), "operator new");
  EXPECT_EQ(ShortFunctionName("operator delete[](void*, unsigned long)"), "operator delete[]");
  EXPECT_EQ(ShortFunctionName("Matrix::operator()(int, int)"), "Matrix::operator()");
  EXPECT_EQ(ShortFunctionName("bool operator<<(std::ostream&, Foo const&)"), "operator<<");
  EXPECT_EQ(ShortFunctionName("Point::operator<(Point const&) const"), "Point::operator<");
  EXPECT_EQ(ShortFunctionName("std::basic_ostream<char, std::char_traits<char> >& std::operator<< "
                              "<std::char_traits<char> >(std::basic_ostream<char, std::char_traits<char> >&, char)"),
            "std::operator<<");
  EXPECT_EQ(ShortFunctionName("bool operator< <Foo>(Foo const&, Foo const&)"), "operator<");
  EXPECT_EQ(ShortFunctionName("(anonymous namespace)::Worker::run()"), "(anonymous namespace)::Worker::run");
  EXPECT_EQ(ShortFunctionName("main::{lambda()#1}::operator()() const"), "main::{lambda()#1}::operator()");
  EXPECT_EQ(ShortFunctionName("Outer::method(int)::Local::get()"), "Outer::method::Local::get");
}

TEST(ShortFunctionNameTest, LeavesCAndGoNamesAlone) {
  EXPECT_EQ(ShortFunctionName("malloc"), "malloc");
  EXPECT_EQ(ShortFunctionName("main.(*Cache).Put"), "main.(*Cache).Put");
  EXPECT_EQ(ShortFunctionName("runtime.mallocgc"), "runtime.mallocgc");
}

Profile TwoObjectProfile() {
  Profile p;
  p.mappings.push_back({.id = 1, .memory_start = 0x400000, .memory_limit = 0x500000, .file_offset = 0x1000,
                        .filename = "/usr/bin/server"});
  p.mappings.push_back({.id = 2, .memory_start = 0x7f0000000000, .memory_limit = 0x7f0000100000,
                        .file_offset = 0, .filename = "/lib/x86_64-linux-gnu/libc.so.6"});
  p.functions.push_back({.id = 1, .name = "malloc", .system_name = "malloc"});
  p.functions.push_back({.id = 2, .name = "Cache::put(int)", .system_name = "_ZN5Cache3putEi"});
  p.functions.push_back({.id = 3, .name = "helper(int)", .system_name = "_Z6helperi"});
  // malloc in libc; an unnamed frame in the server; put with helper inlined.
  p.locations.push_back({.id = 1, .mapping = 1, .address = 0x7f0000001234, .lines = {{.function = 0}}});
  p.locations.push_back({.id = 2, .mapping = 0, .address = 0x400100});
  p.locations.push_back({.id = 3, .mapping = 0, .address = 0x400200,
                         .lines = {{.function = 2, .line = 7}, {.function = 1, .line = 30}}});
  p.locations.push_back({.id = 4, .address = 0x1234});
  p.sample_types = {{"inuse_space", "bytes"}};
  p.samples.push_back({.locations = {0, 1, 2, 3}, .values = {10}});
  return p;
}

TEST(StackFramesTest, NamesByFunctionElseObjectOffsetElseAddress) {
  Profile p = TwoObjectProfile();
  ASSERT_TRUE(p.CheckValid().ok());
  std::vector<Frame> frames = StackFrames(p, p.samples[0]);
  std::vector<Frame> expected = {
      {"malloc", "libc.so.6"},
      {"server+0x1100", "server"},  // 0x400100 - 0x400000 + file offset 0x1000
      {"helper", "server"},         // inlined: innermost first
      {"Cache::put", "server"},
      {"0x1234", ""},
  };
  EXPECT_EQ(frames, expected);
}

TEST(FirstUserFrameTest, SkipsAllocatorAndRuntimeFrames) {
  std::vector<Frame> frames = {{"malloc", "libheapwatch.so"},
                               {"operator new", "libstdc++.so.6"},
                               {"std::vector::_M_realloc_insert", "server"},
                               {"Cache::put", "server"},
                               {"main", "server"}};
  EXPECT_EQ(FirstUserFrame(frames), 3u);
  EXPECT_EQ(FirstUserFrame({{"runtime.mallocgc", ""}, {"runtime.makeslice", ""}, {"main.leak", ""}}), 2u);
  EXPECT_EQ(FirstUserFrame({{"fopen", ""}, {"open_logs", ""}}), 1u);
  EXPECT_EQ(FirstUserFrame({{"malloc", ""}, {"start_thread", "libc.so.6"}}), 0u);
  EXPECT_EQ(FirstUserFrame({}), 0u);
}

}  // namespace
}  // namespace heapwatch
