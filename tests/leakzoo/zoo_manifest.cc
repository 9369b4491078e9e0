#include "tests/leakzoo/zoo_manifest.h"

#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

namespace heapwatch::testing {

std::string ManifestPath() { return std::string(HEAPWATCH_SOURCE_DIR) + "/tests/leakzoo/zoo.json"; }

std::string ZooBinary(const std::string& name) {
  return std::string(HEAPWATCH_BINARY_DIR) + "/tests/leakzoo/" + name;
}

std::vector<ZooProgram> LoadZoo() {
  std::ifstream in(ManifestPath());
  std::stringstream text;
  text << in.rdbuf();
  std::vector<ZooProgram> programs;
  nlohmann::json manifest = nlohmann::json::parse(text.str(), nullptr, /*allow_exceptions=*/false);
  if (!manifest.is_object() || !manifest.contains("programs")) return programs;
  for (const auto& entry : manifest["programs"]) {
    ZooProgram program{entry.value("name", "")};
    for (const auto& leak : entry.value("leaks", nlohmann::json::array())) program.leaks.push_back(leak["function"]);
    for (const auto& control : entry.value("controls", nlohmann::json::array())) {
      program.controls.push_back(control["function"]);
    }
    programs.push_back(program);
  }
  return programs;
}

void PrintTo(const ZooProgram& program, std::ostream* out) { *out << program.name; }

}  // namespace heapwatch::testing
