#!/usr/bin/env python3
"""Runs unmodified Debian programs under libheapwatch.so and checks that
nothing changes for them: same output, same exit status, and a valid heap
profile from every process they start.

Each program runs three times in a fresh directory: without the preload (the
reference), at the default rate, and at rate 1 (every allocation sampled,
the heaviest setting). Output is normalized only where a run legitimately
differs (ASLR addresses, the preload listed by ldd). Every profile written
is read back with `heapwatch top`.

  tools/compat/compat_matrix.py [--build DIR] [--markdown FILE] [--only NAME]

Exit status 0 when every program passes, 1 otherwise. --markdown writes the
table the README's compatibility section shows.
"""

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import textwrap

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))

# A script that allocates heavily and starts threads.
PYTHON_WORK = textwrap.dedent("""\
    import json, threading
    table = {}
    def worker(n):
        for i in range(20000):
            table[(n, i)] = [str(i)] * 3
    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for t in threads: t.start()
    for t in threads: t.join()
    print(len(table), len(json.dumps({str(k): v for k, v in sorted(table.items())[:2000]})))
    """)

CMAKE_PROJECT = textwrap.dedent("""\
    cmake_minimum_required(VERSION 3.13)
    project(tiny C)
    add_executable(tiny main.c)
    """)

CXX_SOURCE = textwrap.dedent("""\
    #include <iostream>
    #include <map>
    #include <string>
    int main() {
      std::map<std::string, int> m;
      for (int i = 0; i < 1000; ++i) m[std::to_string(i)] = i;
      std::cout << m.size() << "\\n";
    }
    """)

# name, what it shows, shell command (run in a fresh directory holding the
# files above), normalizer for its output.
PROGRAMS = [
    ("python3", "threads + allocation-heavy script",
     "python3 work.py && PYTHONMALLOC=malloc python3 work.py", None),
    ("perl", "hash of 100k strings",
     "perl -e 'my %h; $h{$_} = \"x\" x 100 for 1..100000; print scalar(keys %h), \"\\n\"'", None),
    ("sqlite3", "100k-row insert and query",
     "sqlite3 db 'create table t(a, b); with recursive c(x) as (select 1 union all select x + 1 from c "
     "where x < 100000) insert into t select x, hex(x * 7) from c; select count(*), sum(a) from t;'", None),
    ("git", "init, add, commit, log in a temp repo",
     "git init -q repo && cd repo && echo hi > f && git add f && "
     "GIT_AUTHOR_DATE=2020-01-01T00:00:00Z GIT_COMMITTER_DATE=2020-01-01T00:00:00Z "
     "git -c user.name=a -c user.email=a@b commit -qm first && git log --format='%H %s'", None),
    ("g++", "compile and run C++ (driver, cc1plus, as, ld)",
     "g++ -O1 -o hello hello.cc && ./hello", None),
    ("cmake", "configure a tiny project",
     "echo 'int main(void){return 0;}' > main.c && cmake -S . -B b -G 'Unix Makefiles' >/dev/null "
     "&& test -f b/Makefile && echo configured", None),
    ("bash", "pipeline of several processes",
     "bash -c 'seq 1 200000 | sort -rn | uniq | head -3 | tr 0-9 a-j'", None),
    ("ldd", "the loader's trace mode",
     "ldd /bin/ls", "ldd"),
    ("tar+gzip", "archive, compress, list",
     "tar czf a.tgz work.py hello.cc && tar tzf a.tgz && gzip -t a.tgz && echo ok", None),
]


def ldd_libraries(text):
    """The objects ldd lists, without their load addresses (ASLR)."""
    return {re.sub(r"\s*\(0x[0-9a-f]+\)", "", line).strip() for line in text.splitlines() if line.strip()}


def same_output(reference, output, kind, library):
    if kind != "ldd":
        return output == reference
    # ldd shows what the loader maps: with the preload, also libheapwatch.so
    # and its own dependencies. Everything else must be as it was.
    ours = ldd_libraries(subprocess.run(["ldd", library], stdout=subprocess.PIPE).stdout.decode())
    ours.add(library)
    expected, got = ldd_libraries(reference), ldd_libraries(output)
    return expected <= got and all(line in ours or line.split(" => ")[0] == os.path.basename(library)
                                   or line == library for line in got - expected)


def run(command, cwd, env, timeout=300):
    result = subprocess.run(["/bin/sh", "-c", command], cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout)
    return result.returncode, result.stdout.decode(errors="replace"), result.stderr.decode(errors="replace")


def prepare(directory):
    with open(os.path.join(directory, "work.py"), "w") as f:
        f.write(PYTHON_WORK)
    with open(os.path.join(directory, "hello.cc"), "w") as f:
        f.write(CXX_SOURCE)
    with open(os.path.join(directory, "CMakeLists.txt"), "w") as f:
        f.write(CMAKE_PROJECT)


def check_profiles(out_dir, heapwatch):
    """Returns (number of processes profiled, problems)."""
    if not os.path.isdir(out_dir):
        return 0, ["no output directory"]
    files = sorted(f for f in os.listdir(out_dir) if f.startswith("heap.") and f.endswith(".pb.gz"))
    leftovers = [f for f in os.listdir(out_dir) if f.startswith(".")]
    problems = ["temporary files left: " + " ".join(leftovers)] if leftovers else []
    pids = set()
    for name in files:
        pids.add(name.split(".")[1])
        top = subprocess.run([heapwatch, "top", os.path.join(out_dir, name)], stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE)
        if top.returncode != 0:
            problems.append("%s does not read back: %s" % (name, top.stderr.decode(errors="replace").strip()))
    if not files:
        problems.append("no profile written")
    return len(pids), problems


def check_program(name, command, kind, library, heapwatch):
    base_env = dict(os.environ)
    base_env.pop("LD_PRELOAD", None)
    outcomes = {}
    with tempfile.TemporaryDirectory(prefix="heapwatch-compat-") as work:
        reference_dir = os.path.join(work, "reference")
        os.mkdir(reference_dir)
        prepare(reference_dir)
        ref_status, ref_out, ref_err = run(command, reference_dir, base_env)
        if ref_status != 0:
            return {"reference": "fails without heapwatch (status %d): %s" % (ref_status, ref_err.strip()[:200])}
        for label, rate in (("default rate", None), ("rate 1", "1")):
            run_dir = os.path.join(work, label.replace(" ", "-"))
            os.mkdir(run_dir)
            prepare(run_dir)
            out_dir = os.path.join(work, "profiles-" + label.replace(" ", "-"))
            env = dict(base_env, LD_PRELOAD=library, HEAPWATCH_OUT=out_dir, HEAPWATCH_INTERVAL="1")
            if rate:
                env["HEAPWATCH_RATE"] = rate
            status, out, err = run(command, run_dir, env)
            problems = []
            if status != ref_status:
                problems.append("exit status %d instead of %d" % (status, ref_status))
            if not same_output(ref_out, out, kind, library):
                problems.append("output differs")
            ours = [line for line in err.splitlines() if line.startswith("heapwatch:")]
            if ours:
                problems.append("heapwatch said: " + " | ".join(ours)[:300])
            processes, profile_problems = check_profiles(out_dir, heapwatch)
            problems += profile_problems
            outcomes[label] = (processes, problems)
    return outcomes


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--build", default=os.path.join(ROOT, "build"), help="build directory (default build/)")
    parser.add_argument("--markdown", help="write the result table to this file")
    parser.add_argument("--only", action="append", help="run only these programs (repeatable)")
    args = parser.parse_args()
    library = os.path.join(args.build, "lib", "libheapwatch.so")
    heapwatch = os.path.join(args.build, "bin", "heapwatch")
    for path in (library, heapwatch):
        if not os.path.exists(path):
            sys.exit("compat_matrix: %s is missing: build first (tools/setup.sh)" % path)

    rows, failed = [], False
    for name, what, command, kind in PROGRAMS:
        if args.only and name not in args.only:
            continue
        if shutil.which(command.split()[0]) is None:
            rows.append((name, what, "not installed", "not installed", "-"))
            continue
        outcomes = check_program(name, command, kind, library, heapwatch)
        if "reference" in outcomes:
            rows.append((name, what, "skipped: " + outcomes["reference"], "", "-"))
            continue
        cells = []
        for label in ("default rate", "rate 1"):
            processes, problems = outcomes[label]
            failed |= bool(problems)
            cells.append("pass" if not problems else "FAIL: " + "; ".join(problems))
        processes = max(outcomes["default rate"][0], outcomes["rate 1"][0])
        rows.append((name, what, cells[0], cells[1], str(processes)))
        print("%-9s %-48s %s | %s | %s processes" % (name, what, cells[0], cells[1], processes), flush=True)

    table = ["| program | what it does | default rate | rate 1 | processes profiled |",
             "| --- | --- | --- | --- | --- |"]
    table += ["| `%s` | %s | %s | %s | %s |" % row for row in rows]
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write("\n".join(table) + "\n")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
