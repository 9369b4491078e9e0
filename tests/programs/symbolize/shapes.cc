// A shared library of ours, built with -g -O2: its allocation site is looked
// up through a mapping at a load address the tests choose.

#include "shapes.h"

#include <cstdlib>

namespace shapes {

Grid* MakeGrid(int width, int height) {
  Grid* grid = static_cast<Grid*>(std::malloc(sizeof(Grid)));
  if (!grid) return nullptr;
  grid->width = width;
  grid->height = height;
  grid->cells = static_cast<int*>(std::calloc(static_cast<size_t>(width) * height, sizeof(int)));
  return grid;
}

}  // namespace shapes
