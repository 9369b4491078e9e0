# Every dependency comes from a Debian 12 package; tools/setup.sh installs them.

# Declared here too (the top-level option() comes after this file is
# included): without it a fresh configure skips find_package(GTest) below
# and fails on GTest::gtest.
option(HEAPWATCH_BUILD_TESTS "Build the test suite" ON)

find_package(Threads REQUIRED)
find_package(ZLIB REQUIRED)
find_package(Protobuf REQUIRED)
find_package(absl REQUIRED)
find_package(PkgConfig REQUIRED)
pkg_check_modules(LIBDW REQUIRED IMPORTED_TARGET libdw)
find_package(nlohmann_json 3.10 REQUIRED)

# libunwind (the nongnu.org one, Debian's libunwind-dev). LLVM's
# libunwind-NN-dev conflicts with it and owns /usr/lib/<triplet>/libunwind.so
# on machines that have it, so we link the library by its soname and let
# tools/setup.sh point HEAPWATCH_LIBUNWIND_ROOT at a locally unpacked
# libunwind-dev when the system one cannot be installed. Debian's libunwind.a
# is not position independent, so the preload links the shared library.
set(HEAPWATCH_LIBUNWIND_ROOT "" CACHE PATH "Prefix holding include/libunwind.h of libunwind-dev")
# The nongnu headers sit in the multiarch include directory and come with
# libunwind-common.h, which LLVM's libunwind does not have.
if(HEAPWATCH_LIBUNWIND_ROOT)
  set(_unw_hints ${HEAPWATCH_LIBUNWIND_ROOT}/usr/include NO_DEFAULT_PATH)
endif()
find_path(LIBUNWIND_INCLUDE_DIR libunwind-common.h
  HINTS ${_unw_hints}
  PATH_SUFFIXES ${CMAKE_LIBRARY_ARCHITECTURE})
find_library(LIBUNWIND_LIBRARY NAMES libunwind.so.8)
if(NOT LIBUNWIND_INCLUDE_DIR OR NOT LIBUNWIND_LIBRARY)
  message(FATAL_ERROR "libunwind (libunwind-dev, libunwind8) not found: run tools/setup.sh")
endif()
file(STRINGS ${LIBUNWIND_INCLUDE_DIR}/libunwind-common.h _unw_backtrace_decl REGEX "unw_backtrace")
if(NOT _unw_backtrace_decl)
  message(FATAL_ERROR "${LIBUNWIND_INCLUDE_DIR} does not hold the nongnu libunwind "
                      "(no unw_backtrace): run tools/setup.sh")
endif()
add_library(heapwatch::libunwind INTERFACE IMPORTED)
target_include_directories(heapwatch::libunwind SYSTEM INTERFACE ${LIBUNWIND_INCLUDE_DIR})
target_link_libraries(heapwatch::libunwind INTERFACE ${LIBUNWIND_LIBRARY})

# libiberty's C++/Rust demangler: its *_callback entry points never call
# malloc, which is what the preload needs. Debian builds libiberty.a as PIC.
find_path(LIBIBERTY_INCLUDE_DIR demangle.h PATH_SUFFIXES libiberty)
find_library(LIBIBERTY_LIBRARY NAMES libiberty.a)
if(NOT LIBIBERTY_INCLUDE_DIR OR NOT LIBIBERTY_LIBRARY)
  message(FATAL_ERROR "libiberty (libiberty-dev) not found: run tools/setup.sh")
endif()
add_library(heapwatch::libiberty INTERFACE IMPORTED)
target_include_directories(heapwatch::libiberty SYSTEM INTERFACE ${LIBIBERTY_INCLUDE_DIR})
target_link_libraries(heapwatch::libiberty INTERFACE ${LIBIBERTY_LIBRARY})

if(HEAPWATCH_BUILD_TESTS)
  find_package(GTest REQUIRED)
  find_package(benchmark REQUIRED)
  find_program(GO_EXECUTABLE go REQUIRED)
  # A real XML parser to hold the JUnit report to well-formedness.
  pkg_check_modules(LIBXML2 REQUIRED IMPORTED_TARGET libxml-2.0)
endif()
