#!/usr/bin/env bash
# The demo behind the README's first command: a toy request server with a
# healthy bounded cache and one leak, run for 20 seconds under
# `heapwatch run --check`. It ends with heapwatch's verdict and the pprof
# commands to look at the leak.
#
#   tools/demo.sh [BUILD_DIR]
#
# Exits 0 when heapwatch found the leak it should (in TraceRequest) and did
# not blame the cache; 1 otherwise.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${1:-$here/build}
heapwatch=$build/bin/heapwatch
server=$build/tools/demo/demo_server
out=$build/demo-profiles
seconds=${DEMO_SECONDS:-20}

for f in "$heapwatch" "$server"; do
  [ -x "$f" ] || { echo "demo: $f is missing: run tools/setup.sh first" >&2; exit 1; }
done
rm -rf "$out"

cat <<EOF

== heapwatch demo ==
demo_server is a toy request server. It keeps user sessions in a bounded
LRU cache (fills up, then stays flat: healthy), builds a response per
request (churn), and registers a tracing callback per request that nobody
ever removes (a leak that stays reachable: exit-time checkers miss it).

Running it for ${seconds} s under heapwatch, a profile every 2 s:
  heapwatch run --check --interval 2 --duration ${seconds} --out $out -- demo_server

EOF

status=0
"$heapwatch" run --check --interval 2 --duration "$seconds" --out "$out" \
  --json "$out/check.json" -- "$server" --seconds $((seconds + 30)) || status=$?

# What heapwatch should have said: exit status 1 (a leak), the leak in
# TraceRequest, the session cache not called a leak.
verdict_ok=1
if [ "$status" -ne 1 ]; then
  echo "demo: expected heapwatch to find a leak (exit status 1), got $status" >&2
  verdict_ok=0
fi
if ! grep -q '"site": *"[^"]*TraceRequest' "$out/check.json"; then
  echo "demo: TraceRequest is not among the sites in $out/check.json" >&2
  verdict_ok=0
fi
if python3 - "$out/check.json" <<'PY'
import json, sys
report = json.load(open(sys.argv[1]))
for process in report["processes"]:
    for site in process["sites"]:
        if "SessionCache" in site["site"] and site["classification"] == "leak":
            sys.exit(0)
sys.exit(1)
PY
then
  echo "demo: the bounded session cache was called a leak" >&2
  verdict_ok=0
fi
if [ "$verdict_ok" -eq 1 ]; then
  echo
  echo "demo: heapwatch found the leak in TraceRequest and left the bounded cache alone, as it should."
  exit 0
fi
exit 1
