// The JSON report (shape in report.h).

#include <cmath>

#include "analyzer/report.h"

namespace heapwatch {
namespace {

using nlohmann::json;

// JSON has no infinity: a statistic that is infinite (exact data) is null.
json Finite(double value) { return std::isfinite(value) ? json(value) : json(); }

json Integers(const std::vector<double>& values) {
  json out = json::array();
  for (double v : values) out.push_back(static_cast<int64_t>(std::llround(v)));
  return out;
}

// A function's stacks listed under it (largest growth first), without their
// histories: which paths grow.
constexpr size_t kMaxStacksPerFunction = 20;

json SiteJson(const ReportSite& entry, const ProcessTrend& trend) {
  const SiteTrend& s = *entry.site;
  const GrowthVerdict& v = s.verdict;
  json site;
  site["classification"] = GrowthKindName(v.kind);
  site["site"] = s.site;
  site["stack"] = s.stack;
  site["inuse_bytes"] = Integers(s.inuse_bytes);
  site["growth_bytes"] = static_cast<int64_t>(std::llround(v.growth_bytes));
  site["growth_bytes_per_sec"] = v.growth_bytes_per_sec;
  if (entry.status) {
    site["status"] = LeakStatusName(*entry.status);
    site["note"] = entry.note;
  }
  site["level"] = s.is_function ? "function" : "stack";
  if (s.is_function) {
    site["stack_count"] = s.stacks.size();
    json stacks = json::array();
    for (size_t k : s.stacks) {
      if (stacks.size() == kMaxStacksPerFunction) break;
      const SiteTrend& stack = trend.stacks[k];
      stacks.push_back({{"stack", stack.stack},
                        {"classification", GrowthKindName(stack.verdict.kind)},
                        {"growth_bytes", static_cast<int64_t>(std::llround(stack.verdict.growth_bytes))},
                        {"growth_bytes_per_sec", stack.verdict.growth_bytes_per_sec}});
    }
    site["stacks"] = stacks;
  }
  site["user_frame"] = s.user_frame;
  site["inuse_objects"] = Integers(s.inuse_objects);
  json blocks = json::array();
  for (double b : s.sampled_blocks) blocks.push_back(std::round(b * 100) / 100);
  site["sampled_blocks"] = blocks;
  site["growth_sigma"] = Finite(v.growth_z);
  site["trend_z"] = Finite(v.trend_z);
  site["evidence_blocks"] = Finite(v.evidence_blocks);
  site["reason"] = v.reason;
  return site;
}

json ProcessJson(const ReportProcess& p, size_t max_sites) {
  const ProcessTrend& t = *p.trend;
  json process;
  process["pid"] = t.pid ? json(*t.pid) : json();
  process["name"] = t.name;
  process["snapshots"] = t.snapshots;
  process["seconds"] = t.seconds;
  process["duration_sec"] = t.seconds.empty() ? 0.0 : t.seconds.back();
  process["timed"] = t.timed;
  process["judged"] = t.judged();
  // The snapshots before the first judged one (the warm-up).
  process["warmup_snapshots"] = t.total.verdict.window_begin;
  if (p.failed) {
    process["verdict"] = *p.failed ? "fail" : "pass";
    process["failures"] = p.failures;
    process["leak_growth_bytes"] = static_cast<int64_t>(std::llround(p.counted_growth_bytes));
  }
  process["warnings"] = t.warnings;
  json total;
  total["classification"] = GrowthKindName(t.total.verdict.kind);
  total["inuse_bytes"] = Integers(t.total.inuse_bytes);
  total["growth_bytes"] = static_cast<int64_t>(std::llround(t.total.verdict.growth_bytes));
  total["growth_bytes_per_sec"] = t.total.verdict.growth_bytes_per_sec;
  process["total"] = total;
  json sites = json::array();
  for (const ReportSite& site : p.sites) {
    if (max_sites > 0 && sites.size() == max_sites) break;
    sites.push_back(SiteJson(site, t));
  }
  process["sites"] = sites;
  if (t.exit) {
    json exit;
    exit["path"] = t.exit->path;
    exit["note"] = "not freed at exit: for information; the verdict comes from the periodic snapshots";
    exit["inuse_bytes"] = static_cast<int64_t>(std::llround(t.exit->inuse_bytes));
    exit["inuse_objects"] = static_cast<int64_t>(std::llround(t.exit->inuse_objects));
    json exit_sites = json::array();
    for (const ExitSite& s : t.exit->sites) {
      exit_sites.push_back({{"site", s.site},
                            {"stack", s.stack},
                            {"inuse_bytes", static_cast<int64_t>(std::llround(s.inuse_bytes))},
                            {"inuse_objects", static_cast<int64_t>(std::llround(s.inuse_objects))}});
    }
    exit["sites"] = exit_sites;
    process["exit"] = exit;
  } else {
    process["exit"] = json();
  }
  return process;
}

}  // namespace

std::string JsonReport(const Report& report, size_t max_sites) {
  json out;
  if (report.failed) out["verdict"] = *report.failed ? "fail" : "pass";
  out["command"] = report.verb;
  out["summary"] = VerdictLine(report);
  out["settings"] = report.settings;
  json processes = json::array();
  for (const ReportProcess& p : report.processes) processes.push_back(ProcessJson(p, max_sites));
  out["processes"] = processes;
  // Names come from the profiles: never trust them to be UTF-8.
  return out.dump(2, ' ', false, json::error_handler_t::replace) + "\n";
}

}  // namespace heapwatch
