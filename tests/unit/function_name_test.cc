#include "preload/function_name.h"

#include <cstring>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace heapwatch {
namespace {

// Demangled names of every shape the rule handles (the analyzer's
// frames_test.cc checks the expected short forms of most of these).
const std::vector<std::string>& Names() {
  static const std::vector<std::string> names = {
      "void std::vector<int, std::allocator<int> >::_M_realloc_insert<int "
      "const&>(__gnu_cxx::__normal_iterator<int*, "
      "std::vector<int, std::allocator<int> > >, int const&)",
      "Cache::insert(std::__cxx11::basic_string<char, std::char_traits<char>, std::allocator<char> > const&) "
      "const",
      "unsigned long ns::f(int)",
      "foo(int) [clone .cold]",
      "make_name[abi:cxx11](int)",
      "operator new(unsigned long)",
      "operator delete[](void*, unsigned long)",
      "Matrix::operator()(int, int)",
      "bool operator<<(std::ostream&, Foo const&)",
      "Point::operator<(Point const&) const",
      "(anonymous namespace)::Worker::run()",
      "main::{lambda()#1}::operator()() const",
      "Outer::method(int)::Local::get()",
      "Foo::operator bool() const",
      "Foo::operator std::__cxx11::basic_string<char, std::char_traits<char>, std::allocator<char> >() const",
      "S::f() const volatile &&",
      "testing::Message& testing::Message::operator<< <char const>(char const* const&)",
      "std::_Function_handler<void (), main::{lambda()#2}>::_M_invoke(std::_Any_data const&)",
      "malloc",
      "main.(*Cache).Put",
      "runtime.mallocgc",
      "unclosed<template(int",
  };
  return names;
}

std::string Shorten(const std::string& name) {
  std::string out(name.size() + 1, '\0');
  out.resize(ShortenFunctionName(name.data(), name.size(), out.data(), out.size()));
  return out;
}

// Streams `name` in pieces of the given sizes (cycled) into a shortener.
std::string ShortenInPieces(const std::string& name, const std::vector<size_t>& pieces, size_t out_size) {
  std::string out(out_size, '\0');
  FunctionNameShortener shortener(out.data(), out.size());
  size_t at = 0;
  for (size_t i = 0; at < name.size(); ++i) {
    size_t count = std::min(pieces[i % pieces.size()], name.size() - at);
    shortener.Append(name.data() + at, count);
    at += count;
  }
  out.resize(shortener.Finish());
  return out;
}

TEST(FunctionNameTest, ExamplesFromTheContract) {
  EXPECT_EQ(Shorten(Names()[0]), "std::vector::_M_realloc_insert");
  EXPECT_EQ(Shorten("Foo::operator bool() const"), "Foo::operator bool");
  EXPECT_EQ(Shorten("S::f() const volatile &&"), "S::f");
  EXPECT_EQ(Shorten("std::_Function_handler<void (), main::{lambda()#2}>::_M_invoke(std::_Any_data const&)"),
            "std::_Function_handler::_M_invoke");
  // The demangler spaces template arguments off "operator<".
  EXPECT_EQ(Shorten("testing::Message& testing::Message::operator<< <char const>(char const* const&)"),
            "testing::Message::operator<<");
  EXPECT_EQ(Shorten("bool operator< <int>(Point<int> const&, Point<int> const&)"), "operator<");
  EXPECT_EQ(Shorten("malloc"), "malloc");
  EXPECT_EQ(Shorten("main.(*Cache).Put"), "main.(*Cache).Put");
  EXPECT_EQ(Shorten(""), "");
}

TEST(FunctionNameTest, PiecewiseInputGivesTheSameResult) {
  std::mt19937 random(7);
  for (const std::string& name : Names()) {
    if (!LooksLikeCxxFunctionName(name.data(), name.size())) continue;  // the shortener assumes C++
    std::string whole = Shorten(name);
    EXPECT_EQ(ShortenInPieces(name, {1}, name.size() + 1), whole) << name;
    EXPECT_EQ(ShortenInPieces(name, {2, 3, 5, 7}, name.size() + 1), whole) << name;
    std::vector<size_t> pieces;
    for (int i = 0; i < 16; ++i) pieces.push_back(1 + random() % 40);
    EXPECT_EQ(ShortenInPieces(name, pieces, name.size() + 1), whole) << name;
  }
}

TEST(FunctionNameTest, NeverLongerThanTheName) {
  for (const std::string& name : Names()) EXPECT_LE(Shorten(name).size(), name.size()) << name;
}

TEST(FunctionNameTest, CutsToTheBufferAndNeverWritesPastIt) {
  constexpr size_t kGuard = 16;
  for (const std::string& name : {Names()[0], Names()[1], std::string("malloc"), Names()[11]}) {
    std::string whole = Shorten(name);
    for (size_t out_size = 1; out_size <= whole.size() + 2; ++out_size) {
      std::string buffer(out_size + kGuard, '\x7f');
      size_t length = ShortenFunctionName(name.data(), name.size(), buffer.data(), out_size);
      ASSERT_EQ(length, std::min(whole.size(), out_size - 1)) << name << " in " << out_size;
      EXPECT_EQ(buffer.substr(0, length), whole.substr(0, length));
      EXPECT_EQ(buffer[length], '\0');
      EXPECT_EQ(buffer.substr(out_size), std::string(kGuard, '\x7f')) << "wrote past the buffer";
    }
  }
  char untouched = 'x';
  EXPECT_EQ(ShortenFunctionName("f(int)", 6, &untouched, 0), 0u);
  EXPECT_EQ(untouched, 'x');
}

TEST(FunctionNameTest, AReturnTypeCutOffDoesNotCutTheName) {
  // The return type overflows the buffer, then the space before the name
  // starts over.
  std::string name = std::string(100, 'T') + " ns::f(int)";
  char out[8];
  EXPECT_EQ(ShortenFunctionName(name.data(), name.size(), out, sizeof(out)), 5u);
  EXPECT_STREQ(out, "ns::f");
}

TEST(FunctionNameTest, CutsOnlyBetweenUtf8Sequences) {
  std::string name = "ns::na\xc3\xafve(int)";  // "ns::naïve(int)", ï is 2 bytes
  char out[8];                                 // room for "ns::na" and the first byte of ï
  EXPECT_EQ(ShortenFunctionName(name.data(), name.size(), out, sizeof(out)), 6u);
  EXPECT_STREQ(out, "ns::na");
  EXPECT_EQ(TrimPartialUtf8("a\xe2\x82", 3), 1u);      // 3-byte sequence missing its last byte
  EXPECT_EQ(TrimPartialUtf8("a\xe2\x82\xac", 4), 4u);  // complete: "a€"
  EXPECT_EQ(TrimPartialUtf8("\x80\x80", 2), 2u);       // not UTF-8: left alone
}

}  // namespace
}  // namespace heapwatch
