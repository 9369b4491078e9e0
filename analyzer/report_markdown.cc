// The Markdown report, for CI job summaries (GitHub's $GITHUB_STEP_SUMMARY,
// GitLab's): a heading with the verdict, a table of processes, and a table
// of sites per process. GitHub-flavoured tables; every cell is escaped
// (text_escape.h), so a name from a profile cannot break a row.

#include "absl/strings/str_format.h"
#include "analyzer/quantities.h"
#include "analyzer/report.h"
#include "analyzer/text_escape.h"

namespace heapwatch {
namespace {

std::string Row(const std::vector<std::string>& cells) {
  std::string out = "|";
  for (const std::string& cell : cells) out += " " + cell + " |";
  return out + "\n";
}

std::string Table(const std::vector<std::string>& header, const std::vector<std::vector<std::string>>& rows) {
  std::string out = Row(header);
  out += "|";
  for (size_t i = 0; i < header.size(); ++i) out += "---|";
  out += "\n";
  for (const std::vector<std::string>& row : rows) out += Row(row);
  return out;
}

std::string ProcessName(const ProcessTrend& t) {
  return t.name.empty() ? (t.pid ? absl::StrFormat("pid %d", *t.pid) : "process") : t.name;
}

}  // namespace

std::string MarkdownReport(const Report& report, size_t max_sites) {
  std::string out;
  std::string verdict = report.failed ? (*report.failed ? "FAIL" : "PASS") : "report";
  absl::StrAppendFormat(&out, "### heapwatch %s: %s\n\n", report.verb, verdict);
  absl::StrAppendFormat(&out, "%s\n\n", MarkdownText(VerdictLine(report)));

  std::vector<std::vector<std::string>> rows;
  for (const ReportProcess& p : report.processes) {
    const ProcessTrend& t = *p.trend;
    size_t leaks = 0;
    for (const ReportSite& s : p.sites) leaks += s.site->verdict.kind == GrowthKind::kLeak;
    std::string judged = !t.judged() ? "too short to judge" : p.failed ? (*p.failed ? "**fail**" : "pass") : "judged";
    rows.push_back({MarkdownText(ProcessName(t)), judged, absl::StrFormat("%d", t.snapshots),
                    t.timed && !t.seconds.empty() ? FormatSeconds(t.seconds.back()) : "?",
                    absl::StrFormat("%d", leaks), MarkdownText(FormatSignedBytes(t.total.verdict.growth_bytes))});
  }
  out += Table({"process", "verdict", "snapshots", "duration", "leaks", "heap growth"}, rows);

  for (const ReportProcess& p : report.processes) {
    const ProcessTrend& t = *p.trend;
    absl::StrAppendFormat(&out, "\n#### %s\n\n", MarkdownText(ProcessName(t)));
    for (const std::string& failure : p.failures) absl::StrAppendFormat(&out, "- failed: %s\n", MarkdownText(failure));
    for (const std::string& warning : t.warnings) {
      absl::StrAppendFormat(&out, "- warning: %s\n", MarkdownText(warning));
    }
    if (!p.failures.empty() || !t.warnings.empty()) out += "\n";
    std::vector<std::vector<std::string>> site_rows;
    for (const ReportSite& s : p.sites) {
      if (max_sites > 0 && site_rows.size() == max_sites) break;
      const GrowthVerdict& v = s.site->verdict;
      if (!s.status && v.kind == GrowthKind::kStable) continue;
      std::vector<std::string> row;
      if (report.failed) row.push_back(std::string(LeakStatusName(*s.status)));
      row.push_back(std::string(GrowthKindName(v.kind)));
      row.push_back(MarkdownText(FormatSignedBytes(v.growth_bytes)));
      row.push_back(MarkdownText(FormatBytesPerSecond(v.growth_bytes_per_sec)));
      row.push_back(MarkdownCode(s.site->site));
      row.push_back(MarkdownCode(ShortStack(*s.site)));
      site_rows.push_back(std::move(row));
    }
    if (site_rows.empty()) {
      out += report.failed ? "No leak.\n" : "No site changed beyond noise.\n";
    } else {
      std::vector<std::string> header = {"classification", "growth", "rate", "site", "stack"};
      if (report.failed) header.insert(header.begin(), "status");
      out += Table(header, site_rows);
    }
    if (t.exit) {
      absl::StrAppendFormat(&out, "\nNot freed at exit (information, not a verdict): %s",
                            MarkdownText(FormatBytes(t.exit->inuse_bytes)));
      if (!t.exit->sites.empty()) {
        absl::StrAppendFormat(&out, ", largest %s %s", MarkdownCode(t.exit->sites.front().site),
                              MarkdownText(FormatBytes(t.exit->sites.front().inuse_bytes)));
      }
      out += "\n";
    }
  }
  return out;
}

}  // namespace heapwatch
