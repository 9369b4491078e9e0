// The shared library of the symbolization tests (libsymbolize_shapes.so).

#ifndef HEAPWATCH_TESTS_PROGRAMS_SYMBOLIZE_SHAPES_H_
#define HEAPWATCH_TESTS_PROGRAMS_SYMBOLIZE_SHAPES_H_

#include <cstddef>

namespace shapes {

struct Grid {
  int width;
  int height;
  int* cells;
};

// Allocates a grid and its cells; the cells' malloc call is the site the
// tests look up.
Grid* MakeGrid(int width, int height);

}  // namespace shapes

#endif  // HEAPWATCH_TESTS_PROGRAMS_SYMBOLIZE_SHAPES_H_
