// Implementation of report_output.h.

#include "analyzer/report_output.h"

#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <fstream>

#include "absl/strings/str_format.h"
#include "analyzer/quantities.h"

namespace heapwatch {
namespace {

// Sites per process in the human formats: a screenful.
constexpr size_t kDefaultHumanSites = 10;

absl::Status WriteFile(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (out) out << text;
  out.close();
  if (!out) return absl::UnavailableError(absl::StrFormat("%s: cannot write: %s", path, std::strerror(errno)));
  return absl::OkStatus();
}

}  // namespace

std::optional<ReportFormat> ParseReportFormat(std::string_view name) {
  if (name == "text") return ReportFormat::kText;
  if (name == "json") return ReportFormat::kJson;
  if (name == "junit") return ReportFormat::kJUnit;
  if (name == "markdown" || name == "md") return ReportFormat::kMarkdown;
  return std::nullopt;
}

std::string RenderReport(const Report& report, ReportFormat format, const ReportOutput& output) {
  size_t human = output.max_sites.value_or(kDefaultHumanSites);
  switch (format) {
    case ReportFormat::kText: return TextReport(report, output.verbosity, output.verbosity > 0 ? 0 : human);
    case ReportFormat::kJson: return JsonReport(report, output.max_sites.value_or(0));
    case ReportFormat::kJUnit: return JUnitReport(report, human);
    case ReportFormat::kMarkdown: return MarkdownReport(report, human);
  }
  return "";
}

absl::Status WriteReports(const Report& report, const ReportOutput& output) {
  std::string main = RenderReport(report, output.format, output);
  if (output.path.empty()) {
    if (std::fwrite(main.data(), 1, main.size(), stdout) != main.size() || std::fflush(stdout) != 0) {
      return absl::UnavailableError(absl::StrFormat("writing the report: %s", std::strerror(errno)));
    }
  } else if (absl::Status s = WriteFile(output.path, main); !s.ok()) {
    return s;
  }
  for (const auto& [format, path] : output.extra_files) {
    if (absl::Status s = WriteFile(path, RenderReport(report, format, output)); !s.ok()) return s;
  }
  return absl::OkStatus();
}

bool ParseWarmup(std::string_view text, GrowthOptions* options) {
  if (text.ends_with('%')) {
    std::string_view number = text.substr(0, text.size() - 1);
    double percent = -1;
    auto [end, error] = std::from_chars(number.data(), number.data() + number.size(), percent);
    if (error != std::errc() || end != number.data() + number.size() || !(percent >= 0 && percent < 100)) {
      return false;
    }
    options->warmup_fraction = percent / 100;
    options->warmup_seconds.reset();
    return true;
  }
  std::optional<double> seconds = ParseSeconds(text);
  if (!seconds) return false;
  options->warmup_seconds = *seconds;
  return true;
}

}  // namespace heapwatch
