#!/usr/bin/env bash
# Builds what the benchmark needs and runs all of it, writing a Markdown
# report (and the raw measurements as JSON next to it).
#
#   tools/bench/run.sh [--smoke] [--out REPORT.md] [--build-dir DIR] [--no-build] [bench.py options]
#
#   --smoke      tiny inputs, one repetition, other tools skipped when missing:
#                checks the pipeline in a few seconds (the ctest `bench.smoke`)
#   --out FILE   where the report goes (default: bench-report.md in the
#                current directory; FILE with .json instead of .md gets the raw data)
#   --build-dir  the project's CMake build directory (default: build/ at the
#                top of the source tree); configured here if it is not yet
#   --no-build   use what is already built (the ctest does this)
#
# Everything else is passed to tools/bench/bench.py (--help lists it). Builds
# with -j2 at most: the machines this runs on have 2 cores.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
build_dir=$root/build
build=1
out=$PWD/bench-report.md
passed=()
while [ $# -gt 0 ]; do
  case $1 in
    --build-dir) build_dir=$2; shift 2 ;;
    --build-dir=*) build_dir=${1#*=}; shift ;;
    --out) out=$2; shift 2 ;;
    --out=*) out=${1#*=}; shift ;;
    --no-build) build=0; shift ;;
    -h|--help)
      sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
      python3 "$here/bench.py" --help
      exit 0 ;;
    *) passed+=("$1"); shift ;;
  esac
done

if [ "$build" = 1 ]; then
  if [ ! -f "$build_dir/CMakeCache.txt" ]; then
    echo "== configuring $build_dir (tools/setup.sh installs what the project needs)" >&2
    cmake -S "$root" -B "$build_dir" -G Ninja >/dev/null
  fi
  echo "== building the benchmark's programs in $build_dir" >&2
  cmake --build "$build_dir" -j 2 --target heapwatch_bench_tools
fi

exec python3 "$here/bench.py" --build-dir "$build_dir" --out "$out" "${passed[@]}"
