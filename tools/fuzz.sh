#!/usr/bin/env bash
# Fuzzes the profile reader (tests/fuzz/profile_loader_fuzzer.cc, libFuzzer
# with ASan+UBSan), built by `cmake --build BUILD_DIR` when clang++ is there.
#
#   tools/fuzz.sh [--build-dir DIR] [--time SECONDS | --runs N] [--fresh] [-- libFuzzer flags...]
#
#   --build-dir DIR  the CMake build directory (default: build)
#   --time SECONDS   run this long (default 600)
#   --runs N         run N inputs instead (what ctest's fuzz.profile_loader does)
#   --fresh          start from the seeds alone, in a scratch corpus directory
#
# Seeds: tests/corpus/ (valid and malformed profiles) and the heap profiles
# of tests/programs/go/heap_allocs.go, written once into DIR/fuzz/go-seeds.
# New inputs worth keeping go to DIR/fuzz/corpus (kept from run to run),
# crashing inputs to DIR/fuzz/artifacts/; rerun one with
#   DIR/tests/fuzz/clang/profile_loader_fuzzer DIR/fuzz/artifacts/crash-...
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build_dir=$here/build
time=600
runs=
fresh=0
while [ $# -gt 0 ]; do
  case $1 in
    --build-dir) build_dir=$2; shift 2 ;;
    --time) time=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    --fresh) fresh=1; shift ;;
    --) shift; break ;;
    -h|--help) sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "fuzz.sh: unknown argument '$1' (try --help)" >&2; exit 2 ;;
  esac
done

build_dir=$(cd "$build_dir" && pwd)  # go wants absolute paths
fuzzer=$build_dir/tests/fuzz/clang/profile_loader_fuzzer
if [ ! -x "$fuzzer" ]; then
  echo "fuzz.sh: $fuzzer is not built: run cmake --build $build_dir (needs clang++)" >&2
  exit 2
fi

work=$build_dir/fuzz
go_seeds=$work/go-seeds
if [ -z "$(ls -A "$go_seeds" 2>/dev/null)" ]; then
  mkdir -p "$go_seeds"
  # Offline, with Go's caches inside the build directory.
  GOCACHE=$build_dir/go/cache GOPATH=$build_dir/go/path GOPROXY=off GOTOOLCHAIN=local GOFLAGS= \
    HOME=${HOME:-$build_dir/go/home} go run "$here/tests/programs/go/heap_allocs.go" "$go_seeds"
fi

corpus=$work/corpus
if [ $fresh = 1 ]; then
  corpus=$work/corpus-fresh
  rm -rf "$corpus"
fi
mkdir -p "$corpus" "$work/artifacts"

if [ -n "$runs" ]; then limit=(-runs="$runs"); else limit=(-max_total_time="$time"); fi
# -max_len: real profiles are larger, but 64 KiB of protobuf reaches every
# code path; seeds beyond it (the gzip bomb) are cut to it.
# -timeout: one input taking 10 s is a hang.
exec "$fuzzer" "${limit[@]}" -max_len=65536 -timeout=10 -rss_limit_mb=2048 \
  -artifact_prefix="$work/artifacts/" -print_final_stats=1 "$@" \
  "$corpus" "$here/tests/corpus" "$go_seeds"
