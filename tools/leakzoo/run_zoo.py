#!/usr/bin/env python3
"""Runs every leak-zoo program under libheapwatch.so and shows each series.

For each program (tests/leakzoo/zoo.json) and each sampling rate (the
default, 512 KiB, and 1, every allocation) it leaves one directory of
profiles, OUT/<program>/rate-default and OUT/<program>/rate-1, written every
0.5 s (HEAPWATCH_INTERVAL=0.5), then reads the periodic profiles back and
prints, per watched function (leaks, controls, churn), its in-use bytes in
each snapshot: the function anywhere on the stack, like pprof's "cum".
The same report goes to OUT/series.md.

  --pprof      also save `go tool pprof -top -base FIRST LAST` per directory
               (the real client's view of the growth) as pprof_base_first_last.txt
  --clean      also run each program with --clean (OUT/<program>-clean/...)

Usage: tools/leakzoo/run_zoo.py [--build build] [--out build/leakzoo-profiles]
                                [--programs a,b] [--rates default,1] [--clean] [--pprof]
Needs a built tree (cmake --build build --target heapwatch_zoo_programs heapwatch_preload).
"""

import argparse
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import zoo  # noqa: E402


def rate_label(rate):
    return "rate-default" if rate is None else f"rate-{rate}"


def describe_series(directory, program, manifest):
    """Markdown lines: one row per watched function, its in-use bytes per snapshot."""
    series = zoo.profile_series(directory)
    if len(series) != 1:
        return [f"expected one process in {directory}, found {len(series)}"]
    (periodic, exit_path), = series.values()
    if not periodic:
        return [f"no periodic profiles in {directory}"]
    profiles = [zoo.read_profile(p) for p in periodic]
    watched = zoo.watched_functions(program, manifest)
    names = [w[0] for w in watched]
    per_snapshot = [zoo.inuse_by_function(p, names) for p in profiles]
    t0 = profiles[0].time_nanos
    times = " ".join(f"{(p.time_nanos - t0) / 1e9:.1f}" for p in profiles)
    lines = [f"{len(profiles)} periodic snapshots at t = {times} s" + (", plus the exit profile" if exit_path else ""),
             "",
             "| function | role (expected) | in-use per snapshot | first | max | last | last - first |",
             "| --- | --- | --- | --- | --- | --- | --- |"]
    exit_inuse = zoo.inuse_by_function(zoo.read_profile(exit_path), names) if exit_path else {}
    for name, role, expected in watched:
        values = [s[name] for s in per_snapshot]
        lines.append(f"| {name} | {role} ({expected}) | `{zoo.sparkline(values)}` | {zoo.human_bytes(values[0])} | "
                     f"{zoo.human_bytes(max(values))} | {zoo.human_bytes(values[-1])} | "
                     f"{zoo.human_bytes(values[-1] - values[0])} |")
    if exit_path:
        held = ", ".join(f"{n} {zoo.human_bytes(v)}" for n, v in exit_inuse.items() if v)
        lines += ["", f"exit profile (not freed at exit): {held or 'nothing from these functions'}"]
    return lines


def pprof_base_diff(directory, build, functions):
    """Saves `go tool pprof -top -base first last` and returns its lines for `functions`."""
    (periodic, _), = zoo.profile_series(directory).values()
    env = dict(os.environ)
    env.setdefault("HOME", build)
    env["GOCACHE"] = os.path.join(os.path.abspath(build), "go-cache")
    result = subprocess.run(["go", "tool", "pprof", "-top", "-sample_index=inuse_space", "-nodecount=40",
                             "-base", periodic[0], periodic[-1]],
                            env=env, capture_output=True, text=True, timeout=120)
    with open(os.path.join(directory, "pprof_base_first_last.txt"), "w") as f:
        f.write(result.stdout + result.stderr)
    if result.returncode != 0:
        return [f"go tool pprof failed: {result.stderr.strip()[:200]}"]
    return [line.rstrip() for line in result.stdout.splitlines()
            if any(line.rstrip().endswith(" " + name) for name in functions)]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--build", default=os.path.join(zoo.REPO, "build"))
    parser.add_argument("--out", default=None, help="default: BUILD/leakzoo-profiles")
    parser.add_argument("--programs", default="", help="comma-separated subset (default: all)")
    parser.add_argument("--rates", default="default,1", help="comma-separated: default and/or byte counts")
    parser.add_argument("--clean", action="store_true", help="also run the --clean variants")
    parser.add_argument("--pprof", action="store_true", help="save go tool pprof -base first last per run")
    args = parser.parse_args()
    build = os.path.abspath(args.build)
    out = os.path.abspath(args.out or os.path.join(build, "leakzoo-profiles"))
    manifest = zoo.load_manifest()
    wanted = [p for p in args.programs.split(",") if p]
    programs = [p for p in manifest["programs"] if not wanted or p["name"] in wanted]
    if wanted and len(programs) != len(wanted):
        parser.error(f"unknown program in {wanted}")
    rates = [None if r == "default" else int(r) for r in args.rates.split(",")]

    report = ["# Leak zoo series", "",
              f"In-use bytes per watched function (anywhere on the stack), from profiles written every 0.5 s.", ""]
    failures = 0
    for program in programs:
        variants = [(program["name"], [])] + ([(program["name"] + "-clean", ["--clean"])] if args.clean else [])
        for label, flags in variants:
            for rate in rates:
                directory = os.path.join(out, label, rate_label(rate))
                argv = [zoo.program_path(build, program["name"])] + flags
                print(f"== {label} {rate_label(rate)}: {directory}", flush=True)
                result = zoo.run_under_preload(build, argv, directory, rate=rate)
                report += [f"## {label}, {rate_label(rate)}", ""]
                if result.returncode != 0:
                    failures += 1
                    report += [f"exit status {result.returncode}: {result.stderr.strip()[:500]}", ""]
                    print(report[-2], file=sys.stderr)
                    continue
                lines = describe_series(directory, program, manifest)
                if args.pprof:
                    names = [w[0] for w in zoo.watched_functions(program, manifest)]
                    lines += ["", "`go tool pprof -top -sample_index=inuse_space -base FIRST LAST` (flat flat% sum% cum cum%):",
                              "", "```"] + pprof_base_diff(directory, build, names) + ["```"]
                report += lines + [""]
                print("\n".join(lines) + "\n", flush=True)
    with open(os.path.join(out, "series.md"), "w") as f:
        f.write("\n".join(report) + "\n")
    print(f"report: {os.path.join(out, 'series.md')}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
