#!/usr/bin/env python3
"""Measures what exit-time leak checkers say about each leak-zoo program.

For every program in tests/leakzoo/zoo.json, with and without --clean, it runs
  - valgrind memcheck   (--leak-check=full --show-leak-kinds=all)
  - LeakSanitizer       (the <program>_lsan copy built with gcc -fsanitize=leak)
  - heaptrack's leak list (heaptrack_print --print-leaks), when heaptrack is installed
and records, for each leaking function, the strongest thing the checker said
about allocations whose stack contains it: definitely / indirectly / possibly
lost, still reachable, or nothing. The checker runs use fewer iterations
(--iterations=100 --tick-ms=5): they only need the leak to exist at exit.

The "heapwatch" column comes from `heapwatch check DIR --format json` on a
full-length run under the preload (default rate, a profile every 0.5 s), when
`heapwatch check --help` works; otherwise it says "check not available".

Writes OUT/<program>[-clean]/{valgrind.txt,lsan.txt,heaptrack.txt,...} and
OUT/checkers.md (the Markdown tables), and prints the tables.

Usage: tools/leakzoo/compare_checkers.py [--build build] [--out build/leakzoo-checkers]
           [--programs a,b] [--iterations 100] [--no-heaptrack] [--heapwatch PATH]
"""

import argparse
import json
import os
import re
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import zoo  # noqa: E402

# Strongest first: the order in which a cell names what was found.
KINDS = ["definitely lost", "indirectly lost", "possibly lost", "still reachable"]
LSAN_KINDS = {"Direct leak": "definitely lost", "Indirect leak": "indirectly lost"}


# ---------------------------------------------------------------- parsers

def _mentions(text, function):
    """True if a stack in `text` has a frame in `function` (a short name such as A::B)."""
    return re.search(r"(^|[\s:*&])" + re.escape(function) + r"(\(|<|\s|$)", text, re.MULTILINE) is not None


def parse_valgrind(text):
    """[(kind, bytes, stack text)] of memcheck's loss records."""
    records = []
    # "X (D direct, I indirect) bytes in N blocks are definitely lost ...": the
    # I bytes have loss records of their own, so a record counts its D bytes.
    header = re.compile(r"==\d+== ([\d,]+)(?: \(([\d,]+) direct, [\d,]+ indirect\))? bytes in [\d,]+ blocks "
                        r"are (definitely lost|indirectly lost|possibly lost|still reachable) in loss record")
    current = None
    for line in text.splitlines():
        m = header.search(line)
        if m:
            current = [m.group(3), int((m.group(2) or m.group(1)).replace(",", "")), []]
            records.append(current)
        elif current is not None:
            frame = re.sub(r"^==\d+==\s*", "", line)
            if frame.startswith(("at 0x", "by 0x")):
                current[2].append(frame)
            else:
                current = None
    return [(kind, size, "\n".join(stack)) for kind, size, stack in records]


def parse_lsan(text):
    """[(kind, bytes, stack text)] of LeakSanitizer's reports."""
    records = []
    header = re.compile(r"^(Direct leak|Indirect leak) of (\d+) byte\(s\) in \d+ object\(s\) allocated from:")
    current = None
    for line in text.splitlines():
        m = header.match(line)
        if m:
            current = [LSAN_KINDS[m.group(1)], int(m.group(2)), []]
            records.append(current)
        elif current is not None and re.match(r"^\s+#\d+ ", line):
            current[2].append(line.strip())
        else:
            current = None
    return [(kind, size, "\n".join(stack)) for kind, size, stack in records]


_HEAPTRACK_SIZE = re.compile(r"^([\d.]+)([BKMGT]?) leaked over \d+ calls from$")


def _heaptrack_bytes(number, unit):
    return int(float(number) * {"": 1, "B": 1, "K": 1e3, "M": 1e6, "G": 1e9, "T": 1e12}[unit])


def parse_heaptrack(text):
    """[("not freed at exit", bytes, stack text)] of heaptrack_print's MEMORY LEAKS section.

    heaptrack lists every allocation not freed by the end of the run,
    reachable or not; it does not tell the two apart.
    """
    if "MEMORY LEAKS" not in text:
        return []
    section = text.split("MEMORY LEAKS", 1)[1]
    records, current = [], None
    for line in section.splitlines():
        m = _HEAPTRACK_SIZE.match(line)
        if m:
            current = ["not freed at exit", _heaptrack_bytes(m.group(1), m.group(2)), []]
            records.append(current)
        elif current is not None and line.strip():
            current[2].append(line)
        elif not line.strip():
            current = None
        if line.startswith("total runtime"):
            break
    return [(kind, size, "\n".join(stack)) for kind, size, stack in records]


def findings_for(records, function):
    """{kind: bytes} over the records whose stack has a frame in `function`."""
    found = {}
    for kind, size, stack in records:
        if _mentions(stack, function):
            found[kind] = found.get(kind, 0) + size
    return found


def describe_findings(found):
    if not found:
        return "nothing"
    order = KINDS + ["not freed at exit"]
    return ", ".join(f"{kind} {zoo.human_bytes(found[kind])}" for kind in order if kind in found)


# ------------------------------------------------------------- heapwatch

def heapwatch_check_available(heapwatch):
    if not os.access(heapwatch, os.X_OK):
        return False
    try:
        result = subprocess.run([heapwatch, "check", "--help"], capture_output=True, text=True, timeout=30)
    except OSError:
        return False
    return result.returncode == 0


def _site_matches(site, function):
    names = [site.get("site", "")] + list(site.get("stack", []))
    return any(zoo.short_name(n) == function for n in names)


def describe_check(report, functions):
    """One cell from `heapwatch check --format json` output: how each function's sites were classified."""
    sites = [s for p in report.get("processes", []) for s in p.get("sites", [])]
    parts = []
    for function in functions:
        matches = [s for s in sites if _site_matches(s, function)]
        if not matches:
            parts.append(f"{function}: not reported")
            continue
        top = max(matches, key=lambda s: s.get("growth_bytes", 0))
        growth = top.get("growth_bytes", 0)
        rate = top.get("growth_bytes_per_sec", 0)
        parts.append(f"{function}: {top.get('classification', '?')} ({zoo.human_bytes(growth)}, "
                     f"{zoo.human_bytes(int(rate))}/s)")
    return "; ".join(parts)


def run_heapwatch(heapwatch, build, argv, directory):
    """(verdict, report dict or None, error text) for a full-length run of argv checked by heapwatch."""
    result = zoo.run_under_preload(build, argv, directory)
    if result.returncode != 0:
        return "error", None, f"program exited {result.returncode}"
    check = subprocess.run([heapwatch, "check", directory, "--format", "json"], capture_output=True, text=True,
                           timeout=300)
    with open(os.path.join(directory, "check.json"), "w") as f:
        f.write(check.stdout + check.stderr)
    if check.returncode not in (0, 1):
        return "error", None, f"heapwatch check exited {check.returncode}: {check.stderr.strip()[:200]}"
    try:
        report = json.loads(check.stdout)
    except json.JSONDecodeError as e:
        return "error", None, f"heapwatch check: bad JSON ({e})"
    return report.get("verdict", "?"), report, ""


# ---------------------------------------------------------------- runs

def run_logged(argv, log_path, env=None, timeout=600):
    """Runs argv, stdout+stderr to log_path; returns (exit status, log text)."""
    with open(log_path, "w") as log:
        result = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env=env,
                                timeout=timeout)
    with open(log_path) as log:
        return result.returncode, log.read()


def run_checkers(program, flags, args, build, directory, use_heaptrack):
    """{checker: (exit status, records)} for one program variant."""
    os.makedirs(directory, exist_ok=True)
    name = program["name"]
    run_flags = flags + [f"--iterations={args.iterations}", f"--tick-ms={args.tick_ms}"]
    out = {}
    status, text = run_logged(["valgrind", "--leak-check=full", "--show-leak-kinds=all", "--num-callers=40",
                               zoo.program_path(build, name)] + run_flags, os.path.join(directory, "valgrind.txt"))
    out["valgrind"] = (status, parse_valgrind(text), "All heap blocks were freed" in text)
    env = dict(os.environ, LSAN_OPTIONS="exitcode=23")
    status, text = run_logged([zoo.program_path(build, name + "_lsan")] + run_flags, os.path.join(directory, "lsan.txt"),
                              env=env)
    out["lsan"] = (status, parse_lsan(text), False)
    if use_heaptrack:
        data = os.path.join(directory, "heaptrack")
        for f in os.listdir(directory):
            if f.startswith("heaptrack.") and f != "heaptrack.txt":
                os.remove(os.path.join(directory, f))
        status, _ = run_logged(["heaptrack", "-o", data, zoo.program_path(build, name)] + run_flags,
                               os.path.join(directory, "heaptrack-run.txt"))
        recorded = [f for f in os.listdir(directory) if f.startswith("heaptrack.") and f != "heaptrack.txt"]
        text = ""
        if recorded:
            # Only the leak list (--print-histogram and --print-flamegraph take output paths: left out).
            _, text = run_logged(["heaptrack_print", "-f", os.path.join(directory, recorded[0]), "--print-leaks", "1",
                                  "--print-peaks", "0", "--print-allocators", "0", "--print-temporary", "0"],
                                 os.path.join(directory, "heaptrack.txt"))
        out["heaptrack"] = (status, parse_heaptrack(text), False)
    return out


def checker_cell(result, functions, with_total=False):
    """What the checker said about each function; with_total adds the run's total (heaptrack, whose
    stacks can lose the user frame)."""
    status, records, all_freed = result
    cells = []
    for function in functions:
        found = findings_for(records, function)
        text = describe_findings(found)
        if not found and all_freed:
            text = "nothing (\"All heap blocks were freed\")"
        cells.append(text if len(functions) == 1 else f"{function}: {text}")
    if with_total:
        cells.append(f"whole run: {zoo.human_bytes(sum(size for _, size, _ in records))}")
    return "; ".join(cells)


def clean_cell(result, functions):
    """For a --clean run: did the checker report anything, and did it name a control?"""
    status, records, all_freed = result
    if all_freed or not records:
        return "no leaks reported" + (f" (exit {status})" if status else "")
    kinds = {}
    for kind, size, _ in records:
        kinds[kind] = kinds.get(kind, 0) + size
    named = [f for f in functions if findings_for(records, f)]
    text = describe_findings(kinds)
    if named:
        text += " (in " + ", ".join(named) + ")"
    return text + (f", exit {status}" if status else "")


def caught(result, functions):
    """A checker "catches" a leak when it reports it as lost (an error), not merely reachable."""
    _, records, _ = result
    lost = {"definitely lost", "indirectly lost", "possibly lost"}
    return all(lost & set(findings_for(records, f)) for f in functions)


def named(result, functions):
    """The checker's report names every leaking function at all (lost, reachable or not freed)."""
    _, records, _ = result
    return all(findings_for(records, f) for f in functions)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--build", default=os.path.join(zoo.REPO, "build"))
    parser.add_argument("--out", default=None, help="default: BUILD/leakzoo-checkers")
    parser.add_argument("--programs", default="", help="comma-separated subset (default: all)")
    parser.add_argument("--iterations", type=int, default=100,
                        help="ticks for the checker runs (default 100: more than the longest connection lifetime)")
    parser.add_argument("--tick-ms", type=int, default=5)
    parser.add_argument("--no-heaptrack", action="store_true")
    parser.add_argument("--no-build", action="store_true", help="do not build the zoo and its LSan copies first")
    parser.add_argument("--heapwatch", default=None, help="default: BUILD/bin/heapwatch")
    args = parser.parse_args()
    build = os.path.abspath(args.build)
    out = os.path.abspath(args.out or os.path.join(build, "leakzoo-checkers"))
    heapwatch = args.heapwatch or os.path.join(build, "bin", "heapwatch")
    manifest = zoo.load_manifest()
    wanted = [p for p in args.programs.split(",") if p]
    programs = [p for p in manifest["programs"] if not wanted or p["name"] in wanted]
    if wanted and len(programs) != len(wanted):
        parser.error(f"unknown program in {wanted}")
    if shutil.which("valgrind") is None:
        sys.exit("compare_checkers: valgrind is not installed")
    use_heaptrack = not args.no_heaptrack and shutil.which("heaptrack") and shutil.which("heaptrack_print")
    if not args.no_build:
        subprocess.run(["cmake", "--build", build, "-j2", "--target", "heapwatch_zoo_programs",
                        "heapwatch_zoo_lsan_programs", "heapwatch_preload"], check=True, stdout=subprocess.DEVNULL)
    has_check = heapwatch_check_available(heapwatch)

    columns = ["valgrind memcheck", "LeakSanitizer"] + (["heaptrack leak list"] if use_heaptrack else []) + ["heapwatch"]
    checkers = ["valgrind", "lsan"] + (["heaptrack"] if use_heaptrack else [])
    leak_rows, clean_rows = [], []
    tally, tally_named = {c: 0 for c in checkers}, {c: 0 for c in checkers}
    leaking_programs = [p for p in programs if p["leaks"]]
    for program in programs:
        name = program["name"]
        leaks = [f["function"] for f in program["leaks"]]
        controls = [f["function"] for f in program["controls"]]
        print(f"== {name}", flush=True)
        if leaks:
            results = run_checkers(program, [], args, build, os.path.join(out, name), use_heaptrack)
            cells = [checker_cell(results[c], leaks, with_total=(c == "heaptrack")) for c in checkers]
            for c in checkers:
                tally[c] += caught(results[c], leaks)
                tally_named[c] += named(results[c], leaks)
            if has_check:
                # 10 s at the default rate, as tests/leakzoo/zoo_verdict_test.cc runs it:
                # enough sampled evidence for every leak kind.
                verdict, report, error = run_heapwatch(heapwatch, build,
                                                       [zoo.program_path(build, name), "--iterations=500"],
                                                       os.path.join(out, name, "heapwatch-profiles"))
                cells.append(error or f"{verdict}: " + describe_check(report, leaks + controls))
            else:
                cells.append("check not available")
            leak_rows.append([f"{program['kind']} (`{name}`)", program["example"]] + cells)
        label = name + (" --clean" if leaks else "")
        results = run_checkers(program, ["--clean"] if leaks else [], args, build,
                               os.path.join(out, name + "-clean" if leaks else name), use_heaptrack)
        cells = [clean_cell(results[c], controls) for c in checkers]
        if has_check:
            verdict, report, error = run_heapwatch(heapwatch, build,
                                                   [zoo.program_path(build, name)] + (["--clean"] if leaks else []),
                                                   os.path.join(out, name + "-clean", "heapwatch-profiles"))
            cells.append(error or f"{verdict}: " + describe_check(report, controls))
        else:
            cells.append("check not available")
        clean_rows.append([f"`{label}`"] + cells)

    def table(header, rows):
        lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
        return lines + ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in rows]

    iterations = f"--iterations={args.iterations} --tick-ms={args.tick_ms}"
    lines = ["# Exit-time checkers on the leak zoo", "",
             f"Checker runs: {iterations}; each cell says what the checker reported for allocations whose stack "
             "contains the leaking function(s).",
             "valgrind: memcheck `--leak-check=full --show-leak-kinds=all`; LeakSanitizer: gcc `-fsanitize=leak`, "
             "default options" + ("; heaptrack: `heaptrack_print --print-leaks` (every block not freed at exit, "
                                  "reachable or not)" if use_heaptrack else "") + ".",
             "heapwatch: `heapwatch check --format json` on a full-length run (default rate, a profile every 0.5 s).",
             ""]
    lines += table(["leak kind", "C++ example"] + columns, leak_rows)
    lines += ["", f"Of {len(leaking_programs)} leaks, reported as lost (a leak error): " +
              ", ".join(f"{c} {tally[c]}" for c in checkers) + "; leaking function named at all "
              "(lost, still reachable or not freed at exit): " +
              ", ".join(f"{c} {tally_named[c]}" for c in checkers) + ".", "",
              "## Variants without the leak (`--clean`) and the clean program", ""]
    lines += table(["program"] + columns, clean_rows)
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "checkers.md"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))
    print(f"\nreport: {os.path.join(out, 'checkers.md')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
