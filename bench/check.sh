#!/usr/bin/env bash
# bench/check.sh — `ferret check` throughput over a mixed Exchange/IIS log tree.
#
# Generates (bench/gen_exchange_logs.py, seeded) an Exchange server's logs — HttpProxy, ECP
# server, OABGenerator — and IIS W3C logs, 1 GiB by default, with exploitation lines of four
# published kinds planted, runs `ferret check` over them, checks that every planted line was
# found, and prints MB/s (MiB of log per wall second) with the CPU time and the machine load.
#
# Usage: bench/check.sh
# Environment:
#   FERRET     ferret binary  (default: target/release/ferret; build it with
#              `cargo build --release -p ferret-cli --no-default-features`)
#   SIZE_MB    size of the generated logs in MiB (default: 1024)
#   RUNS       timed runs after one warm-up (default: 3)
#   BENCH_DIR  scratch folder (default: a new temporary folder, removed at the end)
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
FERRET=${FERRET:-$here/target/release/ferret}
SIZE_MB=${SIZE_MB:-1024}
RUNS=${RUNS:-3}
# shellcheck source=bench/lib.sh
. "$here/bench/lib.sh"
bench_scratch

data=$BENCH_DIR/host
if [[ ! -f $BENCH_DIR/planted.json ]]; then
    python3 "$here/bench/gen_exchange_logs.py" "$data" "$SIZE_MB" 1 >"$BENCH_DIR/planted.json"
fi
bytes=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["bytes"])' "$BENCH_DIR/planted.json")
echo "data: $data ($bytes bytes of log; planted: $(cat "$BENCH_DIR/planted.json"))"
echo "ferret: $("$FERRET" --version 2>&1)"

# One timed run's figures: wall, user and system seconds, peak RSS in KiB.
report() {
    python3 - "$bytes" "$@" <<'PY'
import sys
b, wall, user, sys_, rss = int(sys.argv[1]), *map(float, sys.argv[2:5]), int(sys.argv[5])
mib = b / 1048576
print(f"run: wall {wall:.2f} s = {mib / wall:.0f} MiB/s; cpu {user + sys_:.2f} s "
      f"(user {user:.2f}, sys {sys_:.2f}) = {mib / (user + sys_):.0f} MiB per cpu-second; "
      f"peak rss {rss // 1024} MiB")
PY
}
bench_runs report "$FERRET" check --campaign proxylogon --format jsonl -q -o "$BENCH_DIR/report.jsonl" "$data"

# Every planted line must have been found, nothing else.
python3 - "$BENCH_DIR/planted.json" "$BENCH_DIR/report.jsonl" <<'PY'
import collections, json, sys
planted = json.load(open(sys.argv[1]))["planted"]
found = collections.Counter()
for line in open(sys.argv[2]):
    r = json.loads(line)
    if r["type"] == "finding":
        found[r["rule"]["id"]] += 1
    if r["type"] == "summary":
        v = r["details"]["verdicts"][0]
        print(f"verdict: {v['campaign']} {v['verdict']} ({v['reason']})")
ok = all(found[k] == n for k, n in planted.items()) and sum(found.values()) == sum(planted.values())
print(f"findings: {dict(found)}; planted: {planted}; {'all found, no extra' if ok else 'MISMATCH'}")
sys.exit(0 if ok else 1)
PY
