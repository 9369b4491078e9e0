#!/usr/bin/env python3
"""heapwatch's benchmark: runs every measurement and writes the Markdown report.

Called by tools/bench/run.sh, which builds the programs first; run that.
What it measures and how to read the report: tools/bench/README.md.

Sections, in the order they run:
  1. microbenchmarks (alloc_microbench, Google Benchmark) plain, under the
     bare pass-through preload and under libheapwatch.so at three rates,
     interleaved repetition by repetition; instruction counts per
     malloc+free pair under callgrind when valgrind is installed;
  2./3. whole programs (alloc_churn, python3 with PYTHONMALLOC=malloc, sqlite3)
     under heapwatch and under the tools people use today, each against its
     own allocator, interleaved, wall time and peak RSS from bench_measure;
  4. the cost of a snapshot with 1k, 10k and 100k distinct stacks;
  5. the issue's targets with the measured figure and a verdict.

Standard library only: it must run wherever the project builds. Timings are
never asserted; --smoke fails (exit 1) only when a step did not run or the
report came out incomplete.
"""

import argparse
import datetime
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import pprof_file  # noqa: E402  (tools/pprof_file.py)
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))

# Environment variables that would change what a run measures; removed from
# every child's environment before a configuration sets its own.
SCRUBBED_ENV = ("LD_PRELOAD", "MALLOC_CONF", "HEAPPROFILE", "PYTHONMALLOC", "GLIBC_TUNABLES",
                "HEAP_PROFILE_ALLOCATION_INTERVAL", "HEAP_PROFILE_INUSE_INTERVAL")

MIB = 1024 * 1024


# ---------------------------------------------------------------------------
# Settings: full run and smoke run.

class Settings:
    def __init__(self, smoke, args):
        self.smoke = smoke
        if smoke:
            self.micro_reps, self.micro_min_time = 1, 0.001
            self.callgrind_pairs = (1000, 3000)
            self.callgrind_configs = ("glibc", "heapwatch")
            self.reps, self.slow_reps, self.timeout = 1, 1, 60
            self.churn = ["2", "2000"]
            self.python_rounds = "1"
            self.sqlite_rows = 500
            self.fanout = [1000]
            self.fanout_reps = 1
        else:
            self.micro_reps, self.micro_min_time = 5, 0.2
            self.callgrind_pairs = (100_000, 1_100_000)
            self.callgrind_configs = None  # all
            self.reps, self.slow_reps, self.timeout = 7, 3, 600
            # Sized for about a second each uninstrumented on this machine kind,
            # so the slow profilers (tens to hundreds of times slower) finish.
            self.churn = ["4", "250000"]
            self.python_rounds = "250"
            self.sqlite_rows = 300_000
            self.fanout = [1000, 10_000, 100_000]
            self.fanout_reps = 3
        for name in ("micro_reps", "reps", "slow_reps"):
            value = getattr(args, name, None)
            if value:
                setattr(self, name, value)
        if args.micro_min_time:
            self.micro_min_time = args.micro_min_time


# ---------------------------------------------------------------------------
# Small helpers.

def log(message):
    print("== " + message, file=sys.stderr, flush=True)


def median(values):
    return statistics.median(values) if values else None


def clean_env(extra=None):
    env = {k: v for k, v in os.environ.items() if k not in SCRUBBED_ENV and not k.startswith("HEAPWATCH_")}
    env.update(extra or {})
    return env


def find_library(soname):
    """Path of a shared library by soname (ldconfig's cache, then the usual directories)."""
    try:
        out = subprocess.run(["ldconfig", "-p"], capture_output=True, text=True, check=False).stdout
        for line in out.splitlines():
            if line.strip().startswith(soname + " "):
                path = line.split("=>")[-1].strip()
                if os.path.exists(path):
                    return path
    except OSError:
        pass
    for directory in ("/usr/lib/x86_64-linux-gnu", "/usr/lib64", "/usr/lib", "/usr/local/lib"):
        path = os.path.join(directory, soname)
        if os.path.exists(path):
            return path
    return None


def directory_bytes(path):
    total = 0
    for parent, _, files in os.walk(path):
        for name in files:
            try:
                total += os.path.getsize(os.path.join(parent, name))
            except OSError:
                pass
    return total


def fmt_bytes(n):
    if n is None:
        return "n/a"
    if n >= MIB:
        return "%.1f MiB" % (n / MIB)
    if n >= 1024:
        return "%.1f KiB" % (n / 1024)
    return "%d B" % n


def fmt_ratio(x):
    return "n/a" if x is None else "%.2fx" % x


def fmt_ns(x):
    if x is None:
        return "n/a"
    if x >= 10_000:
        return "%.1f µs" % (x / 1000)
    return "%.1f" % x


def spread(values):
    """Half the min-max range relative to the median, in percent."""
    if not values or len(values) < 2:
        return None
    m = median(values)
    return 100.0 * (max(values) - min(values)) / 2 / m if m else None


class CpuMeter:
    """Machine CPU use over an interval from /proc/stat, and how much of it was ours."""

    def __init__(self):
        self.start = self._read()
        self.children_start = self._children()
        self.wall_start = time.monotonic()

    @staticmethod
    def _read():
        try:
            with open("/proc/stat") as f:
                fields = [int(x) for x in f.readline().split()[1:]]
            idle = fields[3] + fields[4]  # idle + iowait
            return sum(fields[:8]), idle
        except (OSError, ValueError, IndexError):
            return None

    @staticmethod
    def _children():
        t = os.times()
        return t.children_user + t.children_system

    def summary(self):
        end = self._read()
        wall = time.monotonic() - self.wall_start
        cores = os.cpu_count() or 1
        ours = (self._children() - self.children_start) / wall if wall > 0 else 0.0
        if self.start is None or end is None:
            return {"wall_s": wall, "busy_cores": None, "ours_cores": ours, "cores": cores}
        total = end[0] - self.start[0]
        idle = end[1] - self.start[1]
        busy = cores * (total - idle) / total if total > 0 else 0.0
        return {"wall_s": wall, "busy_cores": busy, "ours_cores": ours, "cores": cores,
                "others_cores": max(0.0, busy - ours)}


def loadavg():
    try:
        with open("/proc/loadavg") as f:
            return " ".join(f.read().split()[:3])
    except OSError:
        return "n/a"


def read_profile_summary(path):
    """{'samples': n, 'comments': [...], 'bytes': file size} of a pprof file (gzip or not)."""
    profile = pprof_file.read_profile(path)
    return {"samples": len(profile.samples), "comments": profile.comments, "bytes": os.path.getsize(path)}


def comment_values(comments):
    """key=value pairs found in a profile's comment lines, as integers where they are."""
    values = {}
    for line in comments:
        for word in line.split():
            if "=" in word:
                key, _, value = word.partition("=")
                try:
                    values[key] = int(value)
                except ValueError:
                    values[key] = value
    return values


# ---------------------------------------------------------------------------
# The machine and the programs.

class Bench:
    def __init__(self, args):
        self.args = args
        self.settings = Settings(args.smoke, args)
        self.build = os.path.abspath(args.build_dir)
        self.bin = os.path.join(self.build, "tools", "bench")
        self.preload = os.path.join(self.build, "lib", "libheapwatch.so")
        self.passthrough = os.path.join(self.bin, "libbench_passthrough.so")
        self.measure_tool = os.path.join(self.bin, "bench_measure")
        self.microbench = os.path.join(self.bin, "alloc_microbench")
        self.pair_loop = os.path.join(self.bin, "bench_pair_loop")
        self.churn = os.path.join(self.bin, "alloc_churn")
        self.fanout = os.path.join(self.bin, "stack_fanout")
        self.python = args.python or ("/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable)
        self.sqlite = shutil.which("sqlite3")
        self.heaptrack = shutil.which("heaptrack")
        self.valgrind = shutil.which("valgrind")
        self.tcmalloc = find_library("libtcmalloc.so.4")
        self.jemalloc = find_library("libjemalloc.so.2")
        self.work = tempfile.mkdtemp(prefix="heapwatch-bench-", dir=args.work_dir)
        self.errors = []   # steps that did not run: fail the smoke run
        self.notes = []    # tools skipped, other caveats for the report
        self.data = {"settings": {k: v for k, v in vars(self.settings).items()}}

    def require(self):
        missing = [p for p in (self.preload, self.passthrough, self.measure_tool, self.pair_loop, self.churn,
                               self.fanout, self.microbench) if not os.path.exists(p)]
        if missing:
            sys.exit("bench.py: not built: %s (run tools/bench/run.sh without --no-build)" % ", ".join(missing))

    def fresh_dir(self, name):
        path = tempfile.mkdtemp(prefix=name + "-", dir=self.work)
        return path

    # --- configurations -----------------------------------------------------

    def heapwatch_env(self, out_dir, rate=None, interval=None):
        env = {"LD_PRELOAD": self.preload, "HEAPWATCH_OUT": out_dir, "HEAPWATCH_QUIET": "1"}
        if rate is not None:
            env["HEAPWATCH_RATE"] = str(rate)
        if interval is not None:
            env["HEAPWATCH_INTERVAL"] = str(interval)
        return env

    def micro_configs(self):
        """(name, env factory) for the microbenchmarks and instruction counts."""
        return [
            ("glibc", lambda d: {}),
            ("pass-through", lambda d: {"LD_PRELOAD": self.passthrough}),
            ("heapwatch", lambda d: self.heapwatch_env(d)),
            ("heapwatch 64 KiB", lambda d: self.heapwatch_env(d, 65536)),
            ("heapwatch rate 1", lambda d: self.heapwatch_env(d, 1)),
        ]

    def program_configs(self):
        """Whole-program configurations: name -> (baseline name or None, env factory, slow?).

        slow: recorded every allocation (heaptrack, gperftools), run only --slow-reps times."""
        configs = {
            "glibc": (None, lambda d: {}, False),
            "pass-through": ("glibc", lambda d: {"LD_PRELOAD": self.passthrough}, False),
            "heapwatch": ("glibc", lambda d: self.heapwatch_env(d), False),
            "heapwatch 64 KiB": ("glibc", lambda d: self.heapwatch_env(d, 65536), False),
        }
        if self.heaptrack:
            configs["heaptrack"] = ("glibc", lambda d: {}, True)
        else:
            self.skip("heaptrack is not installed (Debian package heaptrack): its rows are missing")
        if self.tcmalloc:
            configs["tcmalloc"] = ("glibc", lambda d: {"LD_PRELOAD": self.tcmalloc}, False)
            configs["gperftools heap profiler"] = (
                "tcmalloc", lambda d: {"LD_PRELOAD": self.tcmalloc, "HEAPPROFILE": os.path.join(d, "prof")}, True)
        else:
            self.skip("libtcmalloc.so.4 is not installed (Debian libgoogle-perftools4): gperftools rows are missing")
        if self.jemalloc:
            configs["jemalloc"] = ("glibc", lambda d: {"LD_PRELOAD": self.jemalloc}, False)
            # Sampling at 2^19 bytes, heapwatch's default rate; prof_final
            # writes the profile at exit, as heapwatch's exit profile.
            configs["jemalloc profiler"] = ("jemalloc", lambda d: {
                "LD_PRELOAD": self.jemalloc,
                "MALLOC_CONF": "prof:true,lg_prof_sample:19,prof_final:true,prof_prefix:%s" % os.path.join(d, "jeprof"),
            }, False)
        else:
            self.skip("libjemalloc.so.2 is not installed (Debian libjemalloc2): jemalloc rows are missing")
        return configs

    def skip(self, note):
        if note not in self.notes:
            self.notes.append(note)
            log("skipped: " + note)

    # --- running one command ------------------------------------------------

    def measure(self, command, env, stdin=None, cwd=None, timeout=None):
        """Runs command under bench_measure with `env` added to its environment
        (not bench_measure's own); returns the measured fields, or None."""
        argv = [self.measure_tool, "-o", os.devnull]
        for name, value in env.items():
            argv += ["-e", "%s=%s" % (name, value)]
        if stdin:
            argv += ["-i", stdin]
        if timeout:
            argv += ["-t", str(timeout)]
        argv += ["--"] + command
        done = subprocess.run(argv, env=clean_env(), cwd=cwd, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            self.errors.append("%s: %s" % (" ".join(command), done.stderr.strip()))
            return None
        result = {k: int(v) for k, v in (word.split("=", 1) for word in done.stdout.split())}
        if result["status"] != 0 and not result["timed_out"]:
            self.errors.append("%s exited with status %d: %s" % (" ".join(command), result["status"],
                                                                  done.stderr.strip()[-500:]))
        return result

    # --- 1. microbenchmarks ---------------------------------------------------

    def run_microbenchmarks(self):
        s = self.settings
        configs = self.micro_configs()
        results = {name: {} for name, _ in configs}  # config -> benchmark -> [CPU ns per op, one per rep]
        drops = {}  # heapwatch config -> [[samples, dropped], one per rep]
        wall = {name: {} for name, _ in configs}     # the same, wall ns per op (threads together)
        order = list(range(len(configs)))
        for rep in range(s.micro_reps):
            log("microbenchmarks, repetition %d of %d" % (rep + 1, s.micro_reps))
            # Rotate the order each repetition so no configuration always runs
            # first (or right after the heaviest one).
            for index in order[rep % len(order):] + order[:rep % len(order)]:
                name, make_env = configs[index]
                out_dir = self.fresh_dir("micro")
                argv = [self.microbench, "--benchmark_format=json", "--benchmark_min_time=%g" % s.micro_min_time]
                if self.args.micro_filter:
                    argv.append("--benchmark_filter=" + self.args.micro_filter)
                done = subprocess.run(argv, env=clean_env(make_env(out_dir)), capture_output=True, text=True,
                                      check=False)
                if done.returncode != 0:
                    self.errors.append("alloc_microbench under %s: status %d: %s" % (
                        name, done.returncode, done.stderr.strip()[-500:]))
                    continue
                for bench in json.loads(done.stdout)["benchmarks"]:
                    rate = bench.get("items_per_second")
                    if not rate or not bench.get("real_time"):
                        continue
                    wall_ns = 1e9 / rate  # wall time per operation, all threads together
                    # CPU time per operation, summed over threads: time spent
                    # preempted by other processes does not count.
                    cpu_ns = wall_ns * bench["cpu_time"] / bench["real_time"]
                    results[name].setdefault(bench["name"], []).append(cpu_ns)
                    wall[name].setdefault(bench["name"], []).append(wall_ns)
                if name.startswith("heapwatch"):
                    figures = self.heapwatch_exit_figures(out_dir)
                    if figures.get("heapwatch_samples") is not None:
                        drops.setdefault(name, []).append(
                            [int(figures["heapwatch_samples"]), int(figures["heapwatch_dropped"] or 0)])
                shutil.rmtree(out_dir, ignore_errors=True)
        self.data["micro"] = results
        self.data["micro_drops"] = drops
        self.data["micro_wall"] = wall

    def run_instruction_counts(self):
        if not self.valgrind:
            self.skip("valgrind is not installed: no instruction counts")
            return
        s = self.settings
        counts = {}
        for name, make_env in self.micro_configs():
            if s.callgrind_configs and name not in s.callgrind_configs:
                continue
            pairs = s.callgrind_pairs
            if name == "heapwatch rate 1":  # every pair unwinds: 50x fewer keep the run short
                pairs = tuple(n // 50 for n in pairs)
            totals = []
            for n in pairs:
                out_dir = self.fresh_dir("callgrind")
                argv = [self.valgrind, "--tool=callgrind", "--callgrind-out-file=%s/callgrind.out" % out_dir,
                        self.pair_loop, str(n)]
                # valgrind hands LD_PRELOAD on to the program it runs.
                done = subprocess.run(argv, env=clean_env(make_env(out_dir)), capture_output=True, text=True,
                                      check=False)
                total = None
                for line in done.stderr.splitlines():
                    if "Collected :" in line:
                        total = int(line.split(":")[-1].strip())
                if done.returncode != 0 or total is None:
                    self.errors.append("callgrind on bench_pair_loop under %s: status %d: %s" % (
                        name, done.returncode, done.stderr.strip()[-300:]))
                    break
                totals.append(total)
                shutil.rmtree(out_dir, ignore_errors=True)
            if len(totals) == 2:
                counts[name] = (totals[1] - totals[0]) / (pairs[1] - pairs[0])
        self.data["instructions"] = counts

    # --- 2./3. whole programs -------------------------------------------------

    def programs(self):
        s = self.settings
        programs = [("alloc_churn (C++, %s threads)" % s.churn[0], [self.churn] + s.churn, {}, None)]
        script = os.path.join(HERE, "workloads", "alloc_heavy.py")
        programs.append(("python3 (PYTHONMALLOC=malloc)", [self.python, script, s.python_rounds],
                         {"PYTHONMALLOC": "malloc"}, None))
        if self.sqlite:
            sql = os.path.join(self.work, "inserts.sql")
            write_sqlite_script(sql, s.sqlite_rows)
            db = os.path.join(self.work, "bench.db")
            programs.append(("sqlite3 ({:,} inserts)".format(s.sqlite_rows), [self.sqlite, db], {}, (sql, db)))
        else:
            self.skip("sqlite3 is not installed (Debian package sqlite3): its rows are missing")
        return programs

    def run_programs(self):
        s = self.settings
        configs = self.program_configs()
        names = list(configs)
        results = {}
        for label, command, program_env, sqlite_files in self.programs():
            runs = {name: [] for name in names}
            for rep in range(s.reps):
                log("%s, repetition %d of %d" % (label, rep + 1, s.reps))
                rotated = names[rep % len(names):] + names[:rep % len(names)]
                for name in rotated:
                    baseline, make_env, slow = configs[name]
                    if slow and rep >= s.slow_reps:
                        continue
                    out_dir = self.fresh_dir("out")
                    env = dict(program_env)
                    env.update(make_env(out_dir))
                    argv = list(command)
                    if name == "heaptrack":
                        argv = [self.heaptrack, "-o", os.path.join(out_dir, "heaptrack")] + argv
                    stdin = None
                    if sqlite_files:
                        stdin = sqlite_files[0]
                        if os.path.exists(sqlite_files[1]):
                            os.remove(sqlite_files[1])
                    result = self.measure(argv, env, stdin=stdin, cwd=out_dir, timeout=s.timeout)
                    if result is None:
                        continue
                    result["rep"] = rep
                    result["output_bytes"] = directory_bytes(out_dir)
                    if name.startswith("heapwatch"):
                        result.update(self.heapwatch_exit_figures(out_dir))
                    runs[name].append(result)
                    shutil.rmtree(out_dir, ignore_errors=True)
            results[label] = runs
        self.data["programs"] = {"configs": {n: configs[n][0] for n in names}, "results": results}

    @staticmethod
    def heapwatch_exit_figures(out_dir):
        for name in os.listdir(out_dir):
            if name.endswith(".exit.pb.gz"):
                values = comment_values(read_profile_summary(os.path.join(out_dir, name))["comments"])
                return {"heapwatch_bytes": values.get("heapwatch_bytes"),
                        "heapwatch_samples": values.get("samples"),
                        "heapwatch_dropped": values.get("dropped_samples")}
        return {}

    # --- 4. snapshot cost -------------------------------------------------------

    def run_snapshots(self):
        s = self.settings
        results = []
        for stacks in s.fanout:
            for rep in range(s.fanout_reps):
                log("snapshot of %d stacks, repetition %d of %d" % (stacks, rep + 1, s.fanout_reps))
                out_dir = self.fresh_dir("snapshot")
                # Interval 0: no periodic profile competes with the dumps.
                env = self.heapwatch_env(out_dir, rate=1, interval=0)
                argv = [self.measure_tool] + ["-e%s=%s" % kv for kv in env.items()] + ["--", self.fanout, str(stacks)]
                done = subprocess.run(argv, env=clean_env(), capture_output=True, text=True, check=False)
                fields = dict(word.split("=", 1) for word in done.stdout.split() if "=" in word)
                if done.returncode != 0 or fields.get("status") != "0" or fields.get("dump_status") != "0":
                    self.errors.append("stack_fanout %d under heapwatch: %s %s" % (
                        stacks, done.stdout.strip(), done.stderr.strip()[-300:]))
                    continue
                profiles = sorted(p for p in os.listdir(out_dir) if p.endswith(".pb.gz") and ".exit." not in p)
                if len(profiles) < 2:
                    self.errors.append("stack_fanout %d: expected on-demand profiles, found %s" % (stacks, profiles))
                    continue
                first = read_profile_summary(os.path.join(out_dir, profiles[0]))
                second = read_profile_summary(os.path.join(out_dir, profiles[1]))
                values = comment_values(second["comments"])
                results.append({
                    "stacks": stacks, "rep": rep,
                    "dump1_ms": int(fields["dump1_ns"]) / 1e6, "dump2_ms": int(fields["dump2_ns"]) / 1e6,
                    "burst_max_ms": int(fields["burst_max_ns"]) / 1e6, "burst": int(fields["burst"]),
                    "profile_bytes": second["bytes"], "first_profile_bytes": first["bytes"],
                    "profile_samples": second["samples"],
                    "heapwatch_bytes": values.get("heapwatch_bytes"), "rss_bytes": values.get("rss_bytes"),
                    "samples": values.get("samples"), "dropped_samples": values.get("dropped_samples"),
                    "live_sampled_blocks": values.get("live_sampled_blocks"),
                    "maxrss_kb": int(fields["maxrss_kb"]),
                })
                shutil.rmtree(out_dir, ignore_errors=True)
            # The same program without the preload: its own peak RSS, for scale.
            plain = self.measure([self.fanout, str(stacks)], {})
            if plain:
                results.append({"stacks": stacks, "plain_maxrss_kb": plain["maxrss_kb"]})
        self.data["snapshots"] = results

    # --- everything -------------------------------------------------------------

    def run(self):
        self.require()
        started = datetime.datetime.now()
        self.data["machine"] = machine_facts(self)
        self.data["machine"]["loadavg_start"] = loadavg()
        meter = CpuMeter()
        phases = []
        for title, step in (("microbenchmarks", self.run_microbenchmarks),
                            ("instruction counts", self.run_instruction_counts),
                            ("whole programs", self.run_programs),
                            ("snapshots", self.run_snapshots)):
            phase_meter = CpuMeter()
            step()
            phases.append((title, loadavg(), phase_meter.summary()))
        self.data["machine"]["loadavg_end"] = loadavg()
        self.data["cpu"] = meter.summary()
        self.data["phases"] = phases
        self.data["started"] = started.isoformat(timespec="seconds")
        self.data["errors"] = self.errors
        self.data["notes"] = self.notes
        shutil.rmtree(self.work, ignore_errors=True)


def write_sqlite_script(path, rows):
    """One transaction of `rows` single-row INSERTs into an indexed table: every
    statement is parsed and planned, which is what makes sqlite3 allocate."""
    with open(path, "w") as f:
        f.write("CREATE TABLE items(id INTEGER PRIMARY KEY, name TEXT, category TEXT, price REAL);\n")
        f.write("CREATE INDEX items_by_name ON items(name);\nBEGIN;\n")
        for i in range(rows):
            f.write("INSERT INTO items(name, category, price) VALUES('item-%d-%x', 'cat%d', %d.%02d);\n"
                    % (i, i * 2654435761 % 4294967296, i % 37, i % 1000, i % 100))
        f.write("COMMIT;\nSELECT count(*), sum(price) FROM items WHERE name LIKE 'item-1%';\n")


def machine_facts(bench):
    def first_line(argv):
        try:
            out = subprocess.run(argv, capture_output=True, text=True, check=False)
            return (out.stdout or out.stderr).splitlines()[0].strip()
        except (OSError, IndexError):
            return "n/a"

    cpu = "n/a"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    commit = first_line(["git", "-C", ROOT, "describe", "--always", "--dirty"])
    return {
        "cpu": cpu, "cores": os.cpu_count(), "kernel": platform.release(),
        "glibc": " ".join(platform.libc_ver()), "commit": commit,
        "python": first_line([bench.python, "--version"]),
        "sqlite": first_line([bench.sqlite, "--version"]) if bench.sqlite else "not installed",
        "heaptrack": first_line([bench.heaptrack, "--version"]) if bench.heaptrack else "not installed",
        "tcmalloc": bench.tcmalloc or "not installed", "jemalloc": bench.jemalloc or "not installed",
    }


# ---------------------------------------------------------------------------
# The report.

TARGET_LIMITS = {
    "pair_ns": 3.0,          # default rate: +3 ns per malloc+free pair, one thread
    "threads8": 0.90,        # 8 threads on 2 cores: throughput >= 0.90x
    "wall_default": 1.03, "rss_default": 1.05,
    "wall_64k": 1.10, "rss_64k": 1.10,
    "dump10k_ms": 50.0,
    "fixed_memory": 16 * MIB,
}

ANCHOR_BENCH = "MallocFreePair/min:16/max:512/real_time/threads:1"
THREADS8_BENCH = "MallocFreePair/min:16/max:512/real_time/threads:8"


def bench_label(name):
    parts = name.split("/")
    label = parts[0]
    args = [p for p in parts[1:] if ":" in p and not p.startswith("threads") and p != "real_time"]
    if args:
        values = dict(p.split(":") for p in args)
        if "min" in values:
            label += " %s-%s B" % (values["min"], values["max"])
    threads = [p for p in parts if p.startswith("threads:")]
    label += ", %s thread%s" % (threads[0][8:], "" if threads[0][8:] == "1" else "s") if threads else ", 1 thread"
    return label


def paired(a, b, fn):
    """fn(a_i, b_i) for the repetitions both have (runs were interleaved, so pairs share conditions)."""
    return [fn(x, y) for x, y in zip(a, b)]


def verdict(value, limit, higher_is_better=False, values=None):
    if value is None:
        return "not measured"
    ok = value >= limit if higher_is_better else value <= limit
    text = "holds" if ok else "does not hold"
    if values and len(values) > 1:
        lo, hi = min(values), max(values)
        if (lo <= limit <= hi):
            text += " (repetitions on both sides of the limit: within noise)"
    return text


class Report:
    def __init__(self, data, smoke):
        self.d = data
        self.smoke = smoke
        self.lines = []
        self.targets = []  # (target, measured, verdict)
        # Own memory at the sampling rates, from the whole programs (set by
        # section_programs, read by section_snapshots).
        self.own_fixed = {}

    def w(self, line=""):
        self.lines.append(line)

    def table(self, header, rows):
        self.w("| " + " | ".join(header) + " |")
        self.w("|" + "|".join(" --- " for _ in header) + "|")
        for row in rows:
            self.w("| " + " | ".join(str(c) for c in row) + " |")
        self.w()

    def build(self):
        d = self.d
        m = d["machine"]
        cpu = d["cpu"]
        body = []
        self.lines, saved = body, self.lines
        self.section_micro()
        self.section_instructions()
        self.section_programs()
        self.section_snapshots()
        self.lines = saved

        self.w("# heapwatch benchmark report")
        self.w()
        mode = "smoke run (tiny inputs, one repetition: checks the pipeline, numbers mean nothing)" if self.smoke \
            else "full run"
        self.w("%s, started %s, commit %s." % (mode.capitalize(), d["started"], m["commit"]))
        self.w()
        self.w("- Machine: %s, %s cores, Linux %s, %s." % (m["cpu"], m["cores"], m["kernel"], m["glibc"]))
        others = cpu.get("others_cores")
        self.w("- Load: load average %s at the start, %s at the end. Over the %.0f s run the machine was busy "
               "%s of %d cores on average, %s of them other processes' (ours: %.2f)." % (
                   m["loadavg_start"], m["loadavg_end"], cpu["wall_s"],
                   "n/a" if cpu["busy_cores"] is None else "%.2f" % cpu["busy_cores"], cpu["cores"],
                   "n/a" if others is None else "%.2f" % others, cpu["ours_cores"]))
        self.w("- Per phase (load average at its end; other processes' cores): " + "; ".join(
            "%s %s, %s" % (title, load, "n/a" if p.get("others_cores") is None else "%.2f" % p["others_cores"])
            for title, load, p in d["phases"]) + ".")
        self.w("- Tools: %s; %s; tcmalloc %s; jemalloc %s; %s." % (
            m["python"], "sqlite3 " + m["sqlite"].split()[0] if m["sqlite"] != "not installed" else "sqlite3 missing",
            m["tcmalloc"], m["jemalloc"], m["heaptrack"]))
        s = d["settings"]
        self.w("- Repetitions: microbenchmarks %d (min time %g s each), whole programs %d (slow profilers %d), "
               "interleaved; figures are medians, ratios are medians of per-repetition ratios." % (
                   s["micro_reps"], s["micro_min_time"], s["reps"], s["slow_reps"]))
        self.w()
        for note in d["notes"]:
            self.w("> Skipped: " + note)
            self.w()
        if d["errors"]:
            self.w("## Errors")
            self.w()
            for e in d["errors"]:
                self.w("- " + e.replace("\n", " "))
            self.w()
        self.w("## Targets (issue 5)")
        self.w()
        self.table(["target", "measured", "status"], self.targets)
        self.lines.extend(body)
        self.section_caveats()
        return "\n".join(self.lines) + "\n"

    # --- sections -------------------------------------------------------------

    def section_micro(self):
        micro = self.d.get("micro", {})
        wall = self.d.get("micro_wall", {})
        self.w("## 1. Microbenchmarks (ns per operation)")
        self.w()
        self.w("alloc_microbench (Google Benchmark): one operation is a malloc+free pair (sizes uniform in the "
               "range), a new+delete of a 48-character std::string, or one realloc of a buffer grown from 64 B "
               "to 1 MiB. Figures are CPU time per operation, all threads' CPU time together for threaded rows: "
               "time spent preempted by other processes does not count, so they hold on a busy machine. On 2 "
               "cores, 8 threads measure contention, not speed-up. *interposition* = pass-through - glibc; "
               "*ours* = heapwatch - pass-through, at the default rate (512 KiB). *Throughput* is glibc's cost "
               "over heapwatch's (CPU time), and for threaded rows also the same ratio in wall time, which the "
               "machine's other load distorts.")
        self.w()
        base = micro.get("glibc", {})
        rows = []
        for name in base:
            def med(cfg, table=micro):
                return median(table.get(cfg, {}).get(name, []))
            g, p, h, h64, h1 = (med(c) for c in ("glibc", "pass-through", "heapwatch", "heapwatch 64 KiB",
                                                 "heapwatch rate 1"))
            noise = spread(base[name])
            wg, wh = med("glibc", wall), med("heapwatch", wall)
            wall_ratio = "-" if "threads:1" in name or name.startswith("ReallocGrowth") or None in (wg, wh) \
                else "%.2fx" % (wg / wh)
            rows.append([bench_label(name), fmt_ns(g) + ("" if noise is None else " (±%.0f%%)" % noise), fmt_ns(p),
                         fmt_ns(h), fmt_ns(h64), fmt_ns(h1),
                         "n/a" if None in (p, g) else "%+.1f" % (p - g),
                         "n/a" if None in (h, p) else "%+.1f" % (h - p),
                         "n/a" if None in (g, h) else "%.2fx" % (g / h), wall_ratio])
        self.table(["benchmark", "glibc", "pass-through", "heapwatch", "heapwatch 64 KiB", "heapwatch rate 1",
                    "interposition", "ours", "throughput vs glibc", "wall-time throughput"], rows)
        drops = self.d.get("micro_drops", {})
        if drops:
            parts = []
            for name, runs in drops.items():
                taken = sum(r[0] for r in runs)
                dropped = sum(r[1] for r in runs)
                parts.append("%s %s of %s (%.1f%%)" % (name, "{:,}".format(dropped), "{:,}".format(taken + dropped),
                                                      100.0 * dropped / max(1, taken + dropped)))
            self.w("Samples dropped because the ring was full, over the whole microbenchmark process (all rows, "
                   "all repetitions): " + "; ".join(parts) + ". Rows that sample often (4-64 KiB pairs and realloc "
                   "growth sample every ~15th operation, millions of samples a second) outrun the collector; a "
                   "dropped sample still pays for its stack walk, so the timings stand, but such a profile misses "
                   "what was dropped (its comments say how much).")
            self.w()

        # Targets from the anchor benchmark, paired by repetition.
        g = base.get(ANCHOR_BENCH, [])
        h = micro.get("heapwatch", {}).get(ANCHOR_BENCH, [])
        diffs = paired(h, g, lambda x, y: x - y)
        value = median(diffs)
        self.targets.append([
            "default rate: at most +3 ns per malloc+free pair (16-512 B, 1 thread)",
            "n/a" if value is None else "%+.1f ns CPU time (glibc %.1f ns, heapwatch %.1f ns; per repetition %s)" % (
                value, median(g), median(h), ", ".join("%+.1f" % x for x in diffs)),
            verdict(value, TARGET_LIMITS["pair_ns"], values=diffs)])
        g8 = base.get(THREADS8_BENCH, [])
        h8 = micro.get("heapwatch", {}).get(THREADS8_BENCH, [])
        ratios = paired(h8, g8, lambda x, y: y / x)
        wall_ratios = paired(wall.get("heapwatch", {}).get(THREADS8_BENCH, []),
                             wall.get("glibc", {}).get(THREADS8_BENCH, []), lambda x, y: y / x)
        value = median(ratios)
        self.targets.append([
            "8 threads on 2 cores: throughput at least 0.90x uninstrumented (16-512 B pairs)",
            "n/a" if value is None else "%.2fx in CPU time (per repetition %s); %.2fx in wall time" % (
                value, ", ".join("%.2f" % x for x in ratios), median(wall_ratios) or 0),
            verdict(value, TARGET_LIMITS["threads8"], higher_is_better=True, values=ratios)])

    def section_instructions(self):
        counts = self.d.get("instructions")
        if not counts:
            return
        self.w("### Instructions per malloc+free pair (callgrind)")
        self.w()
        self.w("bench_pair_loop under valgrind --tool=callgrind, 16-512 B, one thread: (instructions of a run "
               "with N2 pairs - a run with N1 pairs) / (N2 - N1). Deterministic, so unaffected by the machine's "
               "load; sampled allocations (unwinding, the ring) are included at their real frequency.")
        self.w()
        g = counts.get("glibc")
        rows = [[name, "%.1f" % n, "n/a" if g is None else "%+.1f" % (n - g)] for name, n in counts.items()]
        self.table(["configuration", "instructions per pair", "vs glibc"], rows)

    def section_programs(self):
        progs = self.d.get("programs")
        if not progs:
            return
        configs, results = progs["configs"], progs["results"]

        def stats(runs, baseline_runs, key):
            by_rep = {r["rep"]: r for r in baseline_runs if not r["timed_out"]}
            ratios = [r[key] / by_rep[r["rep"]][key] for r in runs
                      if r["rep"] in by_rep and not r["timed_out"] and by_rep[r["rep"]][key]]
            return median(ratios), ratios

        for runs in results.values():
            for rs in runs.values():
                for r in rs:
                    r["cpu_ns"] = r["user_ns"] + r["sys_ns"]
        summary = {}  # (program, config) -> dict
        for program, runs in results.items():
            for name, baseline in configs.items():
                rs = runs.get(name, [])
                entry = {"runs": len(rs), "timeouts": sum(r["timed_out"] for r in rs),
                         "wall_s": median([r["wall_ns"] / 1e9 for r in rs]),
                         "rss_mib": median([r["maxrss_kb"] / 1024 for r in rs]),
                         "output": median([r["output_bytes"] for r in rs]),
                         "own": median([r["heapwatch_bytes"] for r in rs if r.get("heapwatch_bytes")])}
                if baseline:
                    entry["wall"], entry["walls"] = stats(rs, runs.get(baseline, []), "wall_ns")
                    entry["rss"], entry["rsss"] = stats(rs, runs.get(baseline, []), "maxrss_kb")
                    entry["cpu"], entry["cpus"] = stats(rs, runs.get(baseline, []), "cpu_ns")
                summary[(program, name)] = entry

        self.w("## 2. Whole programs under heapwatch (vs plain glibc)")
        self.w()
        self.w("Wall time and peak RSS (wait4's ru_maxrss) from bench_measure; each configuration's ratio is "
               "taken against the uninstrumented run of the same repetition, then the median. *CPU* is user+system "
               "time of the process and its waited-for children, which the machine's other load distorts less "
               "than wall time. heapwatch writes "
               "its profiles every 10 s and at exit (its defaults); *output* is their total size, *own memory* "
               "the heapwatch_bytes figure of the exit profile.")
        self.w()
        rows = []
        for program in results:
            base = summary[(program, "glibc")]
            pt = summary[(program, "pass-through")]
            hw = summary[(program, "heapwatch")]
            h64 = summary[(program, "heapwatch 64 KiB")]
            rows.append([program, "%.3f s" % base["wall_s"] if base["wall_s"] else "n/a",
                         "%.1f MiB" % base["rss_mib"] if base["rss_mib"] else "n/a",
                         fmt_ratio(pt.get("wall")), fmt_ratio(hw.get("wall")), fmt_ratio(hw.get("cpu")),
                         fmt_ratio(hw.get("rss")), fmt_ratio(h64.get("wall")), fmt_ratio(h64.get("cpu")),
                         fmt_ratio(h64.get("rss")), fmt_bytes(hw["output"]), fmt_bytes(hw["own"])])
        # The own memory of whole programs (few live sampled blocks: the
        # fixed part) at the default and 64 KiB rates, for the targets.
        self.own_fixed = {name: max([summary[(program, name)]["own"] for program in results
                                     if summary[(program, name)]["own"]], default=None)
                          for name in ("heapwatch", "heapwatch 64 KiB")}
        self.table(["program", "glibc wall", "glibc peak RSS", "pass-through wall", "heapwatch wall", "heapwatch CPU",
                    "heapwatch RSS", "64 KiB wall", "64 KiB CPU", "64 KiB RSS", "heapwatch output",
                    "heapwatch own memory"], rows)

        self.w("## 3. The tools people use today, side by side")
        self.w()
        self.w("Each profiler against the allocator it runs on: heapwatch and heaptrack against glibc, gperftools' "
               "heap profiler (libtcmalloc.so.4 + HEAPPROFILE, every allocation recorded) against tcmalloc alone, "
               "jemalloc's profiler (MALLOC_CONF=prof:true,lg_prof_sample:19,prof_final:true, the same mean "
               "sampling interval as heapwatch's default) against jemalloc alone. The allocator rows show what "
               "swapping the allocator alone does, against glibc. heaptrack's and gperftools' rows have fewer "
               "repetitions (they are slow); *runs* says how many.")
        self.w()
        rows = []
        order = ["heapwatch", "heapwatch 64 KiB", "heaptrack", "gperftools heap profiler", "jemalloc profiler",
                 "tcmalloc", "jemalloc"]
        for program in results:
            for name in order:
                if name not in configs:
                    continue
                e = summary[(program, name)]
                if not e["runs"]:
                    continue
                wall = fmt_ratio(e.get("wall"))
                if e["timeouts"]:
                    wall += " (%d timed out)" % e["timeouts"]
                rows.append([program, name, configs[name], wall, fmt_ratio(e.get("cpu")), fmt_ratio(e.get("rss")),
                             "%.3f s" % e["wall_s"] if e["wall_s"] else "n/a",
                             fmt_bytes(e["output"]) if name not in ("tcmalloc", "jemalloc") else "-", e["runs"]])
        self.table(["program", "tool", "against", "wall", "CPU", "peak RSS", "tool's wall", "output", "runs"], rows)

        # Targets: the worst program decides.
        for key, rate_name, wall_limit, rss_limit in (
                ("heapwatch", "the default rate", "wall_default", "rss_default"),
                ("heapwatch 64 KiB", "rate 64 KiB", "wall_64k", "rss_64k")):
            for what, field, limit_key in (("wall", "wall", wall_limit), ("peak RSS", "rss", rss_limit)):
                per_program = [(p, summary[(p, key)].get(field), summary[(p, key)].get(field + "s")) for p in results]
                measured = [x for x in per_program if x[1] is not None]
                worst = max(measured, key=lambda x: x[1]) if measured else None
                limit = TARGET_LIMITS[limit_key]
                self.targets.append([
                    "whole programs at %s: at most %.2fx %s" % (rate_name, limit, what),
                    "; ".join("%s %.2fx" % (p.split(" (")[0], v) for p, v, _ in measured) or "n/a",
                    verdict(worst[1] if worst else None, limit, values=worst[2] if worst else None)
                    + ("" if not worst else " (worst: %s)" % worst[0].split(" (")[0])])

    def section_snapshots(self):
        snaps = self.d.get("snapshots")
        if snaps is None:
            return
        self.w("## 4. The cost of a snapshot")
        self.w()
        self.w("stack_fanout N at HEAPWATCH_RATE=1: one 32-byte block kept at each of N distinct call stacks "
               "(17 frames of recursion chosen by the bits of i, plus main), then heapwatch_dump() called twice and "
               "timed in the program (the dump runs on the collector thread; the call waits for it). The first "
               "dump also loads symbol tables and interns every location; the second is the steady state; both "
               "are asked of an idle collector. *Back to back* is the slowest of %d dumps asked for one right "
               "after the other, across the runs: a request that meets a busy collector. "
               "*own memory* and *RSS* are the heapwatch_bytes and rss_bytes comments of the second profile. "
               "The stacks share their few distinct frames, so this measures stack count, not symbol count."
               % max([r.get("burst", 0) for r in snaps] or [0]))
        self.w()
        by_n = {}
        for r in snaps:
            by_n.setdefault(r["stacks"], []).append(r)
        rows, memory = [], []
        for n, rs in sorted(by_n.items()):
            runs = [r for r in rs if "dump1_ms" in r]
            plain = [r["plain_maxrss_kb"] for r in rs if "plain_maxrss_kb" in r]
            if not runs:
                continue
            d1 = median([r["dump1_ms"] for r in runs])
            d2 = median([r["dump2_ms"] for r in runs])
            own = median([r["heapwatch_bytes"] for r in runs])
            rss = median([r["rss_bytes"] for r in runs])
            memory.append((n, own, runs))
            burst = max(r["burst_max_ms"] for r in runs)
            rows.append(["{:,}".format(n), runs[0]["profile_samples"], runs[0]["live_sampled_blocks"],
                         runs[0]["dropped_samples"], "%.1f ms" % d1, "%.1f ms" % d2, "%.1f ms" % burst,
                         fmt_bytes(runs[0]["profile_bytes"]), fmt_bytes(own), fmt_bytes(rss),
                         fmt_bytes(plain[0] * 1024) if plain else "n/a", len(runs)])
        self.table(["stacks", "samples in profile", "live sampled blocks", "dropped samples", "first dump",
                    "second dump", "back to back (slowest)", "profile size", "own memory", "RSS",
                    "RSS without heapwatch", "runs"], rows)

        runs10k = [r for r in by_n.get(10_000, []) if "dump1_ms" in r]
        worst = [max(r["dump1_ms"], r["dump2_ms"]) for r in runs10k]
        value = median(worst)
        self.targets.append([
            "a dump of 10k stacks under 50 ms on the collector thread",
            "n/a" if value is None else "%.1f ms first dump, %.1f ms second (medians)" % (
                median([r["dump1_ms"] for r in runs10k]), median([r["dump2_ms"] for r in runs10k])),
            verdict(value, TARGET_LIMITS["dump10k_ms"], values=worst)])

        # Own memory = fixed + per block * N: least squares over the points.
        if len(memory) >= 2:
            xs = [n for n, _, _ in memory]
            ys = [own for _, own, _ in memory]
            mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
            slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sum((x - mx) ** 2 for x in xs)
            fixed = my - slope * mx
            steps = ["%.0f B/block from %s to %s" % ((ys[i + 1] - ys[i]) / (xs[i + 1] - xs[i]),
                                                     "{:,}".format(xs[i]), "{:,}".format(xs[i + 1]))
                     for i in range(len(xs) - 1)]
            # Bounded per block: the increments agree (a growth that is not
            # linear in live blocks would show as a rising step).
            increments = [(ys[i + 1] - ys[i]) / (xs[i + 1] - xs[i]) for i in range(len(xs) - 1)]
            linear = max(increments) <= 2 * max(min(increments), 1)
            # The fit is at rate 1 (every stack must be recorded), whose
            # sample ring is 8 times the sampling rates' (it must bridge the
            # collector's delays at millions of samples a second): the fixed
            # part at the rates people run is the whole programs' figure.
            own_fixed = self.own_fixed
            sampling_fixed = [v for v in own_fixed.values() if v is not None]
            ok = bool(sampling_fixed) and max(sampling_fixed) < TARGET_LIMITS["fixed_memory"] and linear
            self.targets.append([
                "the profiler's own memory under 16 MiB plus a bounded amount per live sampled block",
                "fixed %s at the default rate, %s at 64 KiB (whole programs' exit profiles), %s at rate 1 "
                "(its larger sample ring); + %.0f B per live sampled block with its own stack (fit at rate 1 over "
                "%s; %s)" % (
                    fmt_bytes(own_fixed.get("heapwatch")), fmt_bytes(own_fixed.get("heapwatch 64 KiB")),
                    fmt_bytes(fixed), slope, ", ".join("{:,}".format(x) for x in xs), "; ".join(steps)),
                ("holds at the sampling rates; not at rate 1" if fixed >= TARGET_LIMITS["fixed_memory"]
                 else "holds") if ok else "does not hold"])
        elif memory:
            n, own, _ = memory[0]
            self.targets.append([
                "the profiler's own memory under 16 MiB plus a bounded amount per live sampled block",
                "%s at %s stacks (one point: no per-block figure)" % (fmt_bytes(own), "{:,}".format(n)),
                verdict(own, TARGET_LIMITS["fixed_memory"])])

    def section_caveats(self):
        self.w("## How to read this")
        self.w()
        self.w("- Noise: on this machine kind run-to-run noise is ±20-35% on the baseline; the (±N%) after a "
               "glibc figure is half its min-max range over the repetitions. A difference of a few ns or a "
               "ratio within a few percent of 1.00 is only meaningful when the repetitions agree; the targets "
               "table says when they do not.")
        self.w("- CPU contention: other processes' load (above) steals time unevenly; interleaving spreads it "
               "over all configurations, but a loaded machine widens every spread. Quote numbers from a quiet "
               "machine.")
        self.w("- A profiler that brings its own allocator is compared against that allocator: swapping "
               "allocators changes speed as much as profiling does (the tcmalloc and jemalloc rows).")
        self.w("- Raw measurements: the .json file next to this report.")


# ---------------------------------------------------------------------------

def check_report(text, data, smoke):
    """The pipeline's own checks (what the smoke test asserts): every section
    and every target row is present and no step failed. Never timings."""
    problems = list(data.get("errors", []))
    for heading in ("## Targets (issue 5)", "## 1. Microbenchmarks", "## 2. Whole programs",
                    "## 3. The tools people use today", "## 4. The cost of a snapshot"):
        if heading not in text:
            problems.append("report lacks the section '%s'" % heading)
    expected_targets = ["default rate: at most +3 ns", "8 threads on 2 cores", "whole programs at the default rate",
                        "whole programs at rate 64 KiB", "the profiler's own memory"]
    if not smoke:
        expected_targets.append("a dump of 10k stacks")
    for target in expected_targets:
        rows = [line for line in text.splitlines() if line.startswith("| " + target)]
        if not rows:
            problems.append("report lacks the target '%s'" % target)
        elif any("not measured" in row or "| n/a |" in row for row in rows):
            problems.append("target '%s' was not measured" % target)
    return problems


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--build-dir", required=True, help="the project's CMake build directory")
    parser.add_argument("--out", required=True, help="the Markdown report (raw data goes to the same name .json)")
    parser.add_argument("--smoke", action="store_true", help="tiny inputs, one repetition")
    parser.add_argument("--reps", type=int, help="whole-program repetitions (full: 7)")
    parser.add_argument("--slow-reps", type=int, help="repetitions for heaptrack and gperftools (full: 3)")
    parser.add_argument("--micro-reps", type=int, help="microbenchmark repetitions (full: 5)")
    parser.add_argument("--micro-min-time", type=float, help="Google Benchmark min time per benchmark, seconds")
    parser.add_argument("--micro-filter", help="Google Benchmark --benchmark_filter regex")
    parser.add_argument("--python", help="the python3 to profile (default /usr/bin/python3)")
    parser.add_argument("--work-dir", help="scratch space (default: the system temp directory)")
    parser.add_argument("--report-from", metavar="RAW.json",
                        help="write the report from an earlier run's raw measurements instead of measuring")
    args = parser.parse_args()

    if args.report_from:
        with open(args.report_from) as f:
            data = json.load(f)
        text = Report(data, data["settings"].get("smoke", args.smoke)).build()
        with open(os.path.abspath(args.out), "w") as f:
            f.write(text)
        log("report written to %s" % args.out)
        return 0
    bench = Bench(args)
    try:
        bench.run()
    finally:
        shutil.rmtree(bench.work, ignore_errors=True)
    text = Report(bench.data, args.smoke).build()
    out = os.path.abspath(args.out)
    os.makedirs(os.path.dirname(out), exist_ok=True)
    with open(out, "w") as f:
        f.write(text)
    with open(os.path.splitext(out)[0] + ".json", "w") as f:
        json.dump(bench.data, f, indent=1)
    log("report written to %s" % out)
    problems = check_report(text, bench.data, args.smoke)
    for problem in problems:
        print("bench.py: " + problem, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
