// Implementation of leak_baseline.h.

#include "analyzer/leak_baseline.h"


#include <nlohmann/json.hpp>

#include "absl/strings/str_format.h"
#include "analyzer/text_file.h"

namespace heapwatch {

void LeakBaseline::AddFunction(const std::string& site) {
  sites_.insert(site);
  functions_.insert(site);
  ++entries_;
}

void LeakBaseline::AddStack(const std::string& site, const std::vector<std::string>& stack) {
  sites_.insert(site);
  stacks_.insert(stack);
  ++entries_;
}

bool LeakBaseline::Contains(const SiteTrend& leak) const {
  if (leak.is_function) return sites_.contains(leak.site);
  return functions_.contains(leak.site) || stacks_.contains(leak.stack);
}

absl::StatusOr<LeakBaseline> LeakBaseline::Parse(std::string_view json_text) {
  using nlohmann::json;
  json report = json::parse(json_text.begin(), json_text.end(), nullptr, /*allow_exceptions=*/false);
  if (report.is_discarded()) return absl::InvalidArgumentError("not JSON");
  if (!report.is_object() || !report.contains("processes") || !report["processes"].is_array()) {
    return absl::InvalidArgumentError("not a heapwatch check or trend report (no \"processes\" list)");
  }
  LeakBaseline baseline;
  for (const json& process : report["processes"]) {
    if (!process.is_object() || !process.contains("sites") || !process["sites"].is_array()) {
      return absl::InvalidArgumentError("a process has no \"sites\" list");
    }
    for (const json& site : process["sites"]) {
      if (!site.is_object() || !site.contains("classification") || !site["classification"].is_string()) {
        return absl::InvalidArgumentError("a site has no \"classification\"");
      }
      if (site["classification"] != "leak") continue;
      if (!site.contains("site") || !site["site"].is_string()) {
        return absl::InvalidArgumentError("a leak has no \"site\" name");
      }
      std::string name = site["site"];
      std::string level = site.contains("level") && site["level"].is_string() ? site["level"].get<std::string>()
                                                                              : "function";
      if (level != "stack") {
        baseline.AddFunction(name);
        continue;
      }
      std::vector<std::string> stack;
      if (!site.contains("stack") || !site["stack"].is_array()) {
        return absl::InvalidArgumentError(absl::StrFormat("the stack leak at %s has no \"stack\"", name));
      }
      for (const json& frame : site["stack"]) {
        if (!frame.is_string()) return absl::InvalidArgumentError("a stack frame is not a string");
        stack.push_back(frame.get<std::string>());
      }
      baseline.AddStack(name, stack);
    }
  }
  return baseline;
}

absl::StatusOr<LeakBaseline> LeakBaseline::ReadFile(const std::string& path) {
  return ParseTextFile(path, [](std::string_view text) { return Parse(text); });
}

}  // namespace heapwatch
