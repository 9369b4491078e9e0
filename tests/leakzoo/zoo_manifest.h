// The leak zoo's manifest (zoo.json): each program, the functions that leak
// and their look-alike controls. Shared by the zoo's tests.

#ifndef HEAPWATCH_TESTS_LEAKZOO_ZOO_MANIFEST_H_
#define HEAPWATCH_TESTS_LEAKZOO_ZOO_MANIFEST_H_

#include <ostream>
#include <string>
#include <vector>

namespace heapwatch::testing {

struct ZooProgram {
  std::string name;
  std::vector<std::string> leaks;     // functions whose in-use bytes grow
  std::vector<std::string> controls;  // look-alikes that must not
};

std::string ManifestPath();
std::string ZooBinary(const std::string& name);

// Empty if the manifest is missing or malformed (ZooManifest.* then fails).
std::vector<ZooProgram> LoadZoo();

// Names the test parameter in test lists ("GetParam() = view_pins_buffer").
void PrintTo(const ZooProgram& program, std::ostream* out);

}  // namespace heapwatch::testing

#endif  // HEAPWATCH_TESTS_LEAKZOO_ZOO_MANIFEST_H_
