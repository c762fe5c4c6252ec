#!/usr/bin/env bash
# bench/all.sh — every benchmark of BENCHMARKS.md with its peer, in one go, ending with one
# line per benchmark (ferret's figure, the peer's, the ratio), so a regression shows in one
# command.
#
# Usage: bench/all.sh [quick]
#   quick: fewer runs and smaller generated logs (a smoke run of every benchmark; its
#          figures are not the ones BENCHMARKS.md records)
# Environment:
#   FERRET      ferret binary, built with the default features (default:
#               $CARGO_TARGET_DIR/release/ferret, else target/release/ferret; never built here)
#   BENCH_DATA  data folder for the generated ~2 GB tree (default: ../bench-data)
#   THREADS     threads for every tool (default: number of CPUs)
#   SKIP        space-separated benchmarks to leave out (hash scan integrity hunt check)
# Peers are found on PATH (yr, b3sum, aide, chainsaw, hayabusa); a benchmark whose peer is
# missing still measures ferret and says the peer was not run. Raw outputs go to
# bench/results/all-<UTC date>/ (small text files only).
set -uo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
target=${CARGO_TARGET_DIR:-$repo/target}
export FERRET=${FERRET:-$target/release/ferret}
export BENCH_DATA=${BENCH_DATA:-$repo/../bench-data}
export THREADS=${THREADS:-$(nproc)}
quick=${1:-}
skip=" ${SKIP:-} "
[[ -x $FERRET ]] || { echo "ferret binary not found at $FERRET (cargo build --release --locked -p ferret-cli)" >&2; exit 2; }

stamp=$(date -u +%Y-%m-%dT%H%MZ)
out=$repo/bench/results/all-$stamp
mkdir -p "$out"
summary=$out/summary.txt
: >"$summary"

if [[ $quick == quick ]]; then
  runs=2; w3c=128; check_mb=128
else
  runs=5; w3c=1024; check_mb=1024
fi

run() { # NAME CMD...: runs a benchmark, keeps its output, appends its summary lines.
  local name=$1; shift
  if [[ $skip == *" $name "* ]]; then echo "== $name: skipped (SKIP)"; return; fi
  echo "== $name: $* (load $(cut -d' ' -f1-3 /proc/loadavg))"
  "$@" >"$out/$name.txt" 2>&1
  local rc=$?
  [[ $rc == 0 ]] || echo "$name: exited $rc (see $out/$name.txt)" | tee -a "$summary"
}

echo "ferret: $("$FERRET" --version 2>&1 | head -1); $(nproc) cores; threads $THREADS; load: $(uptime)" | tee -a "$summary"

run hash env RUNS=$runs OUT="$out/hash.summary" "$repo/bench/hash.sh"
[[ -f $out/hash.summary ]] && cat "$out/hash.summary" >>"$summary"

if command -v yr >/dev/null; then
  run scan env RUNS=$((runs < 3 ? runs : 3)) OUT="$out/scan.summary" "$repo/bench/scan.sh"
  [[ -f $out/scan.summary ]] && cat "$out/scan.summary" >>"$summary"
else
  echo "scan: yr not on PATH (cargo install yara-x-cli@1.22.1 --locked); not run" | tee -a "$summary"
fi

run integrity env SKIP_MILLION=1 RUNS=$((runs < 3 ? runs : 3)) "$repo/bench/integrity.sh"
grep -sE '^\| (baseline|verify)|SHA-256 limit' "$out/integrity.txt" | sed 's/^/integrity (best of runs, AIDE peer): /' >>"$summary"

run hunt-evtx "$repo/bench/hunt.sh" a
grep -siE 'wall|findings|hits' "$out/hunt-evtx.txt" | tail -4 | sed 's/^/hunt EVTX: /' >>"$summary"
run hunt-w3c env W3C_MB=$w3c "$repo/bench/hunt.sh" b
grep -siE 'MB/s' "$out/hunt-w3c.txt" | tail -2 | sed 's/^/hunt W3C: /' >>"$summary"

run check env SIZE_MB=$check_mb RUNS=$((runs < 3 ? runs : 3)) "$repo/bench/check.sh"
grep -siE 'MiB/s|MB/s|planted' "$out/check.txt" | tail -4 | sed 's/^/check: /' >>"$summary"

echo "load after: $(uptime)" >>"$summary"
echo
echo "==== summary ($out)"
cat "$summary"
