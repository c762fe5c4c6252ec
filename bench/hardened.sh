#!/usr/bin/env bash
# bench/hardened.sh — build ferret with profile `hardened` (release, unwinding panics, integer
# overflow checks on) and run the hostile-input suite against that binary, then run the suite
# again under GNU time to record each case's peak memory.
#
# Usage: bench/hardened.sh
# Environment:
#   CARGO_TARGET_DIR   cargo's target folder (default: target)
#   OUT                where the memory table goes (default: bench/results/hardened-memory.tsv)
# Needs: /usr/bin/time (GNU time).
#
# A panic that escapes ferret's isolation exits 101 (an overflow included), which the suite
# refuses (every case must exit 0, 1 or 3); a run killed by a signal fails it too. Exit
# status: that of the first (unmeasured) suite run, or 1 when a measured run exited 101 or
# was killed.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
target=${CARGO_TARGET_DIR:-$repo/target}
out=${OUT:-$repo/bench/results/hardened-memory.tsv}

echo "== build (profile hardened: release, panic = unwind, overflow-checks)"
cargo build --locked --profile hardened -p ferret-cli
bin=$target/hardened/ferret
"$bin" --version --verbose

echo "== hostile suite against $bin"
status=0
FERRET_BIN=$bin cargo test --locked -p ferret-cli --test hostile -- --test-threads 2 || status=$?

echo "== peak memory per case (one ferret run per line)"
log=$(mktemp)
FERRET_BIN=$bin FERRET_MEASURE=$log \
  cargo test --locked -p ferret-cli --test hostile -- --test-threads 1 >/dev/null 2>&1 || true
mkdir -p "$(dirname "$out")"
{
  printf 'case\tpeak_rss_kib\tseconds\texit\n'
  grep -v -e 'terminated by signal' -e '^Command exited' "$log" || true
} >"$out"
if grep -q 'terminated by signal' "$log"; then
  echo "a ferret run was killed by a signal:" >&2
  grep -B1 'terminated by signal' "$log" >&2
  status=1
fi
if awk -F'\t' '$4 == 101 { found = 1 } END { exit !found }' "$out"; then
  echo "a ferret run panicked (exit 101):" >&2
  awk -F'\t' '$4 == 101' "$out" >&2
  status=1
fi
rm -f "$log"
# Per case: the largest peak over its runs.
awk -F'\t' 'NR>1 { if ($2 > max[$1]) max[$1] = $2; n[$1]++ }
  END { for (c in max) printf "%-70s %8.1f MiB  (%d runs)\n", c, max[c] / 1024, n[c] }' "$out" | sort
echo "uptime: $(uptime)"
exit $status
