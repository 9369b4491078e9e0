"""Shared pieces of the leak-zoo tools: the manifest, running a zoo program
under the preload, and reading the heap profiles it writes.

Python 3 standard library only. The profile reader decodes just what the zoo
tools need from profile.proto (sample types, samples, locations, functions,
string table, time); it is not a general pprof library and is not used by
heapwatch itself. Field numbers are design.md's.
"""

import gzip
import json
import os
import re
import subprocess
from dataclasses import dataclass, field

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


def _varint(data, pos):
    result = shift = 0
    while True:
        b = data[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if b < 0x80:
            return result, pos
        shift += 7


def _fields(data):
    """Yields (field number, wire type, value) of one message; value is int or bytes."""
    pos, end = 0, len(data)
    while pos < end:
        key, pos = _varint(data, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(data, pos)
        elif wire == 2:
            length, pos = _varint(data, pos)
            if pos + length > end:
                raise ValueError("a field runs past the end of its message")
            value, pos = data[pos:pos + length], pos + length
        elif wire == 1:
            value, pos = int.from_bytes(data[pos:pos + 8], "little"), pos + 8
        elif wire == 5:
            value, pos = int.from_bytes(data[pos:pos + 4], "little"), pos + 4
        else:
            raise ValueError(f"unsupported wire type {wire}")
        yield number, wire, value


def _repeated_ints(wire, value):
    """A repeated int64/uint64 field element: packed (wire 2) or not."""
    if wire == 0:
        return [value]
    out, pos = [], 0
    while pos < len(value):
        v, pos = _varint(value, pos)
        out.append(v)
    return out


def _signed(v):
    return v - (1 << 64) if v >= 1 << 63 else v


@dataclass
class Profile:
    sample_types: list = field(default_factory=list)   # ["alloc_objects", ...]
    samples: list = field(default_factory=list)        # (location ids leaf first, values)
    locations: dict = field(default_factory=dict)      # id -> [function id, ...] innermost first
    functions: dict = field(default_factory=dict)      # id -> name
    time_nanos: int = 0

    def value_index(self, sample_type):
        return self.sample_types.index(sample_type)

    def frame_names(self, sample):
        names = []
        for location_id in sample[0]:
            names.extend(self.functions.get(f, "") for f in self.locations.get(location_id, []))
        return names


def read_profile(path):
    """Parses a gzip (or plain) profile.proto file. Raises ValueError if it does not parse."""
    with open(path, "rb") as f:
        raw = f.read()
    data = gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw
    strings, sample_types, functions_raw, p = [], [], {}, Profile()
    try:
        for number, wire, value in _fields(data):
            if number == 6:
                strings.append(value.decode("utf-8", "replace"))
            elif number == 1:
                type_index = dict((n, v) for n, _, v in _fields(value)).get(1, 0)
                sample_types.append(type_index)
            elif number == 2:
                locations, values = [], []
                for n, w, v in _fields(value):
                    if n == 1:
                        locations += _repeated_ints(w, v)
                    elif n == 2:
                        values += [_signed(x) for x in _repeated_ints(w, v)]
                p.samples.append((locations, values))
            elif number == 4:
                location_id, lines = 0, []
                for n, _, v in _fields(value):
                    if n == 1:
                        location_id = v
                    elif n == 4:
                        lines.append(dict((ln, lv) for ln, _, lv in _fields(v)).get(1, 0))
                p.locations[location_id] = lines
            elif number == 5:
                fields_ = {}
                for n, _, v in _fields(value):
                    fields_[n] = v
                functions_raw[fields_.get(1, 0)] = (fields_.get(2, 0), fields_.get(3, 0))
            elif number == 9:
                p.time_nanos = value
    except (IndexError, ValueError) as e:
        raise ValueError(f"{path}: not a profile.proto message ({e})") from e
    try:
        p.sample_types = [strings[i] for i in sample_types]
        for function_id, (name, system_name) in functions_raw.items():
            p.functions[function_id] = strings[name] or strings[system_name]
    except IndexError as e:
        raise ValueError(f"{path}: string index out of range") from e
    if not strings or strings[0] != "":
        raise ValueError(f"{path}: string_table[0] is not empty")
    return p


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
