#!/usr/bin/env bash
# Installs what heapwatch needs on Debian 12 (only what is missing), builds it
# into build/, then runs the demo or the whole test suite.
#
#   tools/setup.sh --demo    install, build, run the bundled demo under `heapwatch run --check`
#   tools/setup.sh --test    install, build, run every test (what .ci/run calls)
#   tools/setup.sh           install and build only
#
# Environment: BUILD_DIR (default build), JOBS (default: number of CPUs).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build_dir=${BUILD_DIR:-$here/build}
jobs=${JOBS:-$(nproc)}
mode=build
case "${1:-}" in
  --demo) mode=demo ;;
  --test) mode=test ;;
  "") ;;
  *) echo "usage: $0 [--demo|--test]" >&2; exit 2 ;;
esac

say() { printf '\033[1m== %s\033[0m\n' "$*" >&2; }

# What each package is for, so nobody has to guess which one can go.
packages=(
  # build
  build-essential cmake ninja-build pkg-config
  # the preload: stack unwinding, gzip, the non-allocating demangler
  libunwind8 zlib1g-dev libiberty-dev
  # the analyzer: pprof schema, abseil, DWARF for `heapwatch symbolize`, JSON reports
  libprotobuf-dev protobuf-compiler libabsl-dev libdw-dev libelf-dev nlohmann-json3-dev
  # tests: GoogleTest, the real pprof client (go tool pprof), libFuzzer
  # (clang), exit-time checkers the leak zoo compares against (valgrind; gcc
  # brings LeakSanitizer), programs of the compatibility matrix
  libgtest-dev libgmock-dev golang-go clang libclang-rt-14-dev valgrind
  # tests: an XML parser that checks the JUnit report is well-formed
  libxml2-dev
  python3 perl sqlite3 git tar gzip file
  # symbolize tests: llvm-symbolizer, what upstream pprof runs (binutils'
  # addr2line and objdump come with build-essential)
  llvm-14
  # benchmarks: Google Benchmark and the tools we compare against
  libbenchmark-dev heaptrack google-perftools libgoogle-perftools4
  libtcmalloc-minimal4 libjemalloc2
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done

# libunwind-dev (the nongnu libunwind) conflicts with LLVM's libunwind-NN-dev.
# If one of those is installed we do not remove it from the user's machine:
# we unpack libunwind-dev's headers next to the build instead; the library
# itself (libunwind8) installs alongside LLVM's without conflict.
libunwind_root=
if ! dpkg-query -W -f='${Status}' libunwind-dev 2>/dev/null | grep -q 'install ok installed'; then
  llvm_unwind=$(dpkg-query -W -f='${Package} ${Status}\n' 'libunwind-*-dev' 2>/dev/null |
                awk '/install ok installed/ {print $1}' | head -n 1)
  if [ -n "$llvm_unwind" ]; then
    libunwind_root=$build_dir/_deps/libunwind-dev
  else
    missing+=(libunwind-dev)
  fi
fi

sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null; then sudo_cmd=(sudo); else
    [ ${#missing[@]} -eq 0 ] || { echo "setup: need root (or sudo) to install: ${missing[*]}" >&2; exit 1; }
  fi
fi
if [ ${#missing[@]} -gt 0 ]; then
  say "installing ${missing[*]}"
  "${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  "${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
if [ -n "$libunwind_root" ] && [ ! -f "$libunwind_root/usr/include/libunwind.h" ]; then
  say "$llvm_unwind is installed and conflicts with libunwind-dev: unpacking libunwind-dev into $libunwind_root"
  tmp=$(mktemp -d)
  (cd "$tmp" && apt-get download libunwind-dev >/dev/null)
  mkdir -p "$libunwind_root"
  dpkg -x "$tmp"/libunwind-dev_*.deb "$libunwind_root"
  rm -rf "$tmp"
fi

say "building into $build_dir"
cmake -S "$here" -B "$build_dir" -G Ninja \
  ${libunwind_root:+-DHEAPWATCH_LIBUNWIND_ROOT="$libunwind_root"} >/dev/null
cmake --build "$build_dir" -j "$jobs"

case $mode in
  demo) exec "$here/tools/demo.sh" "$build_dir" ;;
  test)
    say "running the test suite"
    start=$(date +%s)
    status=0
    # Twice as many tests as cores: most end-to-end tests spend their time
    # waiting for the programs they run.
    ctest --test-dir "$build_dir" --output-on-failure -j $((2 * jobs)) || status=$?
    say "test suite finished in $(( $(date +%s) - start )) s (status $status)"
    exit $status ;;
esac
