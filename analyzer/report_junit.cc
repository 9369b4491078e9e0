// The JUnit XML report of check: one testcase per process, failing with the
// top leaking stacks; a process too short to judge is skipped, with the
// reason, so that CI shows it instead of passing it silently.
//
// The format is the one Jenkins, GitLab and GitHub test reporters read
// (testsuites > testsuite > testcase, with failure/skipped/system-out).
// Names come from profiles and are escaped, including bytes that XML 1.0
// does not allow at all (control characters, invalid UTF-8).

#include <cmath>

#include "absl/strings/str_format.h"
#include "analyzer/quantities.h"
#include "analyzer/report.h"
#include "analyzer/text_escape.h"

namespace heapwatch {
namespace {

std::string Escape(std::string_view text) { return XmlEscape(text); }

std::string LeakLine(const ReportSite& s) {
  return absl::StrFormat("%s %s (%s): %s", s.site->site, FormatSignedBytes(s.site->verdict.growth_bytes),
                         FormatBytesPerSecond(s.site->verdict.growth_bytes_per_sec), s.note);
}

}  // namespace

std::string JUnitReport(const Report& report, size_t max_sites) {
  size_t failures = 0, skipped = 0;
  for (const ReportProcess& p : report.processes) {
    failures += p.failed.value_or(false);
    skipped += !p.failed.value_or(false) && !p.trend->judged();
  }
  std::string suite = Escape("heapwatch " + report.verb);
  std::string out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  absl::StrAppendFormat(&out, "<testsuites name=\"%s\" tests=\"%d\" failures=\"%d\" errors=\"0\" skipped=\"%d\">\n",
                        suite, report.processes.size(), failures, skipped);
  absl::StrAppendFormat(&out, "  <testsuite name=\"%s\" tests=\"%d\" failures=\"%d\" errors=\"0\" skipped=\"%d\">\n",
                        suite, report.processes.size(), failures, skipped);
  for (const ReportProcess& p : report.processes) {
    const ProcessTrend& t = *p.trend;
    std::string name = t.name.empty() ? (t.pid ? absl::StrFormat("pid %d", *t.pid) : "process") : t.name;
    double seconds = t.seconds.empty() ? 0 : t.seconds.back();
    absl::StrAppendFormat(&out, "    <testcase classname=\"heapwatch.%s\" name=\"%s\" time=\"%.3f\">\n",
                          Escape(report.verb), Escape(name), seconds);
    if (p.failed.value_or(false)) {
      std::string message = p.failures.empty() ? "leak" : p.failures.front();
      if (p.failures.size() > 1) message += absl::StrFormat(" (and %d more)", p.failures.size() - 1);
      std::string body;
      size_t shown = 0;
      for (const ReportSite& s : p.sites) {
        if (s.status != LeakStatus::kOverLimit && s.status != LeakStatus::kWithinLimits) continue;
        if (max_sites > 0 && shown++ == max_sites) break;
        absl::StrAppendFormat(&body, "%s [%s]\n", LeakLine(s), LeakStatusName(*s.status));
        for (size_t i = s.site->user_frame; i < s.site->stack.size(); ++i) {
          absl::StrAppendFormat(&body, "    at %s\n", s.site->stack[i]);
        }
      }
      for (const std::string& failure : p.failures) absl::StrAppendFormat(&body, "%s\n", failure);
      absl::StrAppendFormat(&out, "      <failure type=\"leak\" message=\"%s\">%s</failure>\n", Escape(message),
                            Escape(body));
    } else if (!t.judged()) {
      std::string why = t.warnings.empty() ? "too short to judge" : t.warnings.front();
      absl::StrAppendFormat(&out, "      <skipped message=\"%s\"/>\n", Escape(why));
    }
    std::string notes;
    for (const std::string& w : t.warnings) absl::StrAppendFormat(&notes, "warning: %s\n", w);
    for (const ReportSite& s : p.sites) {
      if (s.status == LeakStatus::kSuppressed || s.status == LeakStatus::kInBaseline) {
        absl::StrAppendFormat(&notes, "%s\n", LeakLine(s));
      }
    }
    if (t.exit) {
      absl::StrAppendFormat(&notes, "not freed at exit (information, not a verdict): %s\n",
                            FormatBytes(t.exit->inuse_bytes));
    }
    if (!notes.empty()) absl::StrAppendFormat(&out, "      <system-out>%s</system-out>\n", Escape(notes));
    out += "    </testcase>\n";
  }
  out += "  </testsuite>\n</testsuites>\n";
  return out;
}

}  // namespace heapwatch
