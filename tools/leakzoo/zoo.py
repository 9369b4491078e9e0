"""Shared pieces of the leak-zoo tools: the manifest, running a zoo program
under the preload, and reading the heap profiles it writes.

Python 3 standard library only. The profile reader decodes just what the zoo
tools need from profile.proto (sample types, samples, locations, functions,
string table, time); it is not a general pprof library and is not used by
heapwatch itself. Field numbers are design.md's.
"""

import json
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from pprof_file import Profile, read_profile  # noqa: E402,F401  (zoo.read_profile is used by the tools)

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MANIFEST = os.path.join(REPO, "tests", "leakzoo", "zoo.json")
DEFAULT_RATE = 524288  # the preload's default (design.md: 512 KiB mean between samples)


def load_manifest(path=MANIFEST):
    with open(path) as f:
        return json.load(f)


def program_path(build, name):
    return os.path.join(build, "tests", "leakzoo", name)


def watched_functions(program, manifest):
    """(function, role, expected) for every function a program's report shows."""
    rows = [(f["function"], "leak", f["expect"]) for f in program["leaks"]]
    rows += [(f["function"], "minor leak", "leak (small)") for f in program["minor_leaks"]]
    rows += [(f["function"], "control", f["expect"]) for f in program["controls"]]
    rows += [(f["function"], "churn", f["expect"]) for f in manifest["churn"]]
    return rows


def run_under_preload(build, argv, out_dir, rate=None, interval="0.5", timeout=120):
    """Runs argv with libheapwatch.so preloaded, profiles to out_dir. Returns the CompletedProcess."""
    os.makedirs(out_dir, exist_ok=True)
    for name in os.listdir(out_dir):
        if name.startswith("heap."):
            os.remove(os.path.join(out_dir, name))
    env = dict(os.environ)
    env.update({
        "LD_PRELOAD": os.path.join(build, "lib", "libheapwatch.so"),
        "HEAPWATCH_OUT": out_dir,
        "HEAPWATCH_INTERVAL": interval,
        "HEAPWATCH_QUIET": "1",
    })
    if rate is not None:
        env["HEAPWATCH_RATE"] = str(rate)
    else:
        env.pop("HEAPWATCH_RATE", None)
    return subprocess.run(argv, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                          timeout=timeout)


# ---------------------------------------------------------------- profiles

_PROFILE_NAME = re.compile(r"^heap\.(\d+)\.(\d+|exit)\.pb\.gz$")


def profile_series(directory):
    """{pid: (periodic paths sorted by sequence number, exit path or None)}."""
    by_pid = {}
    for name in os.listdir(directory):
        m = _PROFILE_NAME.match(name)
        if not m:
            continue
        pid = int(m.group(1))
        periodic, exit_path = by_pid.get(pid, ([], None))
        path = os.path.join(directory, name)
        if m.group(2) == "exit":
            exit_path = path
        else:
            periodic.append((int(m.group(2)), path))
        by_pid[pid] = (periodic, exit_path)
    return {pid: ([p for _, p in sorted(periodic)], exit_path) for pid, (periodic, exit_path) in by_pid.items()}


def short_name(name):
    """The part of a name the manifest uses: no parameters, no template arguments."""
    name = name.split("(", 1)[0]
    depth, out = 0, []
    for ch in name:
        if ch == "<":
            depth += 1
        elif ch == ">":
            depth -= 1
        elif depth == 0:
            out.append(ch)
    return "".join(out).split(" ")[-1]


def inuse_by_function(profile, functions, sample_type="inuse_space"):
    """{function: sum of sample_type over the samples with that function anywhere in the stack}."""
    index = profile.value_index(sample_type)
    totals = dict.fromkeys(functions, 0)
    wanted = set(functions)
    for sample in profile.samples:
        seen = set()
        for name in profile.frame_names(sample):
            short = short_name(name)
            if short in wanted and short not in seen:
                seen.add(short)
                totals[short] += sample[1][index]
    return totals


def human_bytes(n):
    sign = "-" if n < 0 else ""
    n = abs(n)
    for unit, size in (("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= size:
            return f"{sign}{n / size:.1f} {unit}"
    return f"{sign}{n} B"


def sparkline(values):
    bars = "▁▂▃▄▅▆▇█"
    top = max(max(values), 1)
    return "".join(bars[min(len(bars) - 1, max(0, v) * len(bars) // (top + 1))] for v in values)
