// The text report: the verdict line first, then per process the leaks (check)
// or the sites that changed (trend) with their growth, rate and short stack.

#include <cmath>

#include "absl/strings/str_format.h"
#include "analyzer/quantities.h"
#include "analyzer/report.h"

namespace heapwatch {
namespace {

std::string ProcessHeader(const ReportProcess& p) {
  const ProcessTrend& t = *p.trend;
  std::string name = t.name.empty() ? (t.pid ? absl::StrFormat("pid %d", *t.pid) : "process") : t.name;
  std::string verdict = p.failed ? (*p.failed ? "FAIL, " : "pass, ") : "";
  std::string span = t.snapshots > 1 && t.timed ? " over " + FormatSeconds(t.seconds.back()) : "";
  return absl::StrFormat("%s: %s%d snapshot%s%s", name, verdict, t.snapshots, t.snapshots == 1 ? "" : "s", span);
}

std::string Kinds(const ProcessTrend& t) {
  int counts[5] = {};
  for (const SiteTrend& f : t.functions) ++counts[static_cast<int>(f.verdict.kind)];
  std::string out;
  for (GrowthKind kind : {GrowthKind::kLeak, GrowthKind::kPlateau, GrowthKind::kSawtooth, GrowthKind::kShrinking,
                          GrowthKind::kStable}) {
    int n = counts[static_cast<int>(kind)];
    if (n == 0) continue;
    if (!out.empty()) out += ", ";
    out += absl::StrFormat("%d %s", n, GrowthKindName(kind));
  }
  if (out.empty()) return "no site in use";
  return absl::StrFormat("%d function%s: %s", t.functions.size(), t.functions.size() == 1 ? "" : "s", out);
}

std::string History(const SiteTrend& s) {
  std::string out = "in use:";
  for (double b : s.inuse_bytes) out += " " + FormatBytes(b);
  return out;
}

// With -v, a function's stacks below it, this many at most.
constexpr size_t kMaxVerboseStacks = 5;

void AppendSite(const ReportSite& entry, const ProcessTrend& trend, int verbosity, std::string* out) {
  const SiteTrend& s = *entry.site;
  const GrowthVerdict& v = s.verdict;
  std::string label = entry.status ? std::string(LeakStatusName(*entry.status)) : std::string(GrowthKindName(v.kind));
  std::string what = s.is_function ? absl::StrFormat("%s (%d stack%s)", s.site, s.stacks.size(),
                                                     s.stacks.size() == 1 ? "" : "s")
                                   : absl::StrFormat("%s (one stack)", s.site);
  absl::StrAppendFormat(out, "  %-13s %11s  %13s  %s", label, FormatSignedBytes(v.growth_bytes),
                        FormatBytesPerSecond(v.growth_bytes_per_sec), what);
  if (!entry.note.empty()) absl::StrAppendFormat(out, ": %s", entry.note);
  absl::StrAppendFormat(out, "\n  %13s at %s\n", "", ShortStack(s, verbosity > 0 ? 12 : 4));
  if (verbosity > 0) {
    absl::StrAppendFormat(out, "  %13s %s: %s\n", "", GrowthKindName(v.kind), v.reason);
    absl::StrAppendFormat(out, "  %13s %s\n", "", History(s));
    if (s.is_function && s.stacks.size() > 1) {
      for (size_t i = 0; i < s.stacks.size() && i < kMaxVerboseStacks; ++i) {
        const SiteTrend& stack = trend.stacks[s.stacks[i]];
        // From the leaf: stacks of one function differ below it too.
        SiteTrend from_leaf = stack;
        from_leaf.user_frame = 0;
        absl::StrAppendFormat(out, "  %13s stack %s %s: %s\n", "", GrowthKindName(stack.verdict.kind),
                              FormatSignedBytes(stack.verdict.growth_bytes), ShortStack(from_leaf, 8));
      }
    }
  }
}

}  // namespace

std::string TextReport(const Report& report, int verbosity, size_t max_sites) {
  std::string out = absl::StrFormat("heapwatch %s: %s\n", report.verb, VerdictLine(report));
  if (verbosity < 0) return out;
  for (const ReportProcess& p : report.processes) {
    const ProcessTrend& t = *p.trend;
    absl::StrAppendFormat(&out, "%s: %s\n", ProcessHeader(p), Kinds(t));
    // The leaks over a limit say so on their own lines; the total does here.
    if (p.total_failure) absl::StrAppendFormat(&out, "  failed: %s\n", *p.total_failure);
    size_t shown = 0;
    for (const ReportSite& site : p.sites) {
      // trend shows what changed; -v shows everything.
      if (!site.status && verbosity <= 0 && site.site->verdict.kind == GrowthKind::kStable) continue;
      if (max_sites > 0 && shown == max_sites) {
        absl::StrAppendFormat(&out, "  ... %d more (-v or --top to see them)\n", p.sites.size() - shown);
        break;
      }
      AppendSite(site, t, verbosity, &out);
      ++shown;
    }
    if (report.failed && verbosity > 0) {
      // What check saw and did not count as leaks.
      for (const SiteTrend& f : t.functions) {
        if (f.verdict.kind == GrowthKind::kLeak || f.verdict.kind == GrowthKind::kStable) continue;
        AppendSite({.site = &f}, t, verbosity, &out);
      }
    }
    if (t.exit) {
      absl::StrAppendFormat(&out, "  not freed at exit (information, not a verdict): %s in %s",
                            FormatBytes(t.exit->inuse_bytes), t.exit->path);
      if (!t.exit->sites.empty()) {
        const ExitSite& top = t.exit->sites.front();
        absl::StrAppendFormat(&out, "; largest %s %s", top.site, FormatBytes(top.inuse_bytes));
      }
      out += "\n";
    }
    if (verbosity > 0) absl::StrAppendFormat(&out, "  total heap: %s; %s\n", GrowthKindName(t.total.verdict.kind),
                                             History(t.total));
    for (const std::string& warning : t.warnings) absl::StrAppendFormat(&out, "  warning: %s\n", warning);
  }
  return out;
}

}  // namespace heapwatch
