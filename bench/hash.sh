#!/usr/bin/env bash
# bench/hash.sh — hashing throughput of `ferret baseline`, `ferret verify`, a hash-only
# `ferret scan` and `ferret baseline --hash blake3`, against the machine's SHA-256 limit
# (`openssl speed -evp sha256 -bytes 1048576 -multi THREADS`) and `b3sum`, all in one run on
# the same warm tree.
#
# Usage: bench/hash.sh
# Environment:
#   FERRET      ferret binary (default: $CARGO_TARGET_DIR/release/ferret, else target/release)
#   BENCH_DATA  folder holding the tree `corpus/` made by mkcorpus.py and its `corpus.meta/`
#               (default: ../bench-data beside the repository; generated when missing)
#   MKCORPUS    the tree generator (default: ../shared/bench/mkcorpus.py)
#   THREADS     threads for every tool (default: number of CPUs)
#   RUNS        timed runs per command, after one warm-up (default: 5); medians are reported
#   OUT         file the summary is also written to (default: none)
# Needs: hyperfine, openssl, python3, b3sum (`cargo install b3sum --locked`; skipped when
# absent).
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
target=${CARGO_TARGET_DIR:-$repo/target}
FERRET=${FERRET:-$target/release/ferret}
data=${BENCH_DATA:-$repo/../bench-data}
mkcorpus=${MKCORPUS:-$repo/../shared/bench/mkcorpus.py}
threads=${THREADS:-$(nproc)}
runs=${RUNS:-5}
tree=$data/corpus
work=$data/hash-work
mkdir -p "$work"
[[ -x $FERRET ]] || { echo "ferret binary not found at $FERRET" >&2; exit 2; }
command -v hyperfine >/dev/null || { echo "hyperfine not found (apt-get install hyperfine)" >&2; exit 2; }
[[ -d $tree ]] || python3 "$mkcorpus" "$tree"
B3SUM=${B3SUM:-$(command -v b3sum || true)}

bytes=$(find "$tree" -type f -printf '%s\n' | awk '{s+=$1} END {printf "%d", s}')
files=$(find "$tree" -type f | wc -l)
echo "== hash bench: $files files, $bytes bytes, threads=$threads, runs=$runs"
echo "== ferret: $("$FERRET" --version 2>&1 | head -1)"
echo "== load before: $(uptime)"
find "$tree" -type f -print0 | xargs -0 cat >/dev/null   # warm the page cache
find "$tree" -type f -print0 >"$work/files0"

printf 'defaults = false\n' >"$work/policy.toml"
rm -f "$work/key" "$work/key.pub"
"$FERRET" keygen -o "$work/key" >/dev/null 2>&1
m=$work/m.jsonl
"$FERRET" baseline "$tree" -o "$m" --force --sign "$work/key" --policy "$work/policy.toml" \
  -j "$threads" -q
"$FERRET" verify "$tree" -m "$m" --pubkey "$work/key.pub" --policy "$work/policy.toml" \
  -j "$threads" -q >/dev/null || { echo "verify of the unchanged tree was not clean" >&2; exit 1; }

# The SHA-256 limit: openssl on every thread at once, `runs` times (median taken below).
: >"$work/openssl.txt"
for _ in $(seq "$runs"); do
  openssl speed -evp sha256 -bytes 1048576 -multi "$threads" -seconds 2 2>/dev/null \
    | awk '/^sha256/ {v=$NF} END {sub(/k$/,"",v); print v * 1000}' >>"$work/openssl.txt"
done

cmds=(
  -n "ferret baseline" --prepare "rm -f $work/b.jsonl $work/b.jsonl.minisig"
  "$FERRET baseline $tree -o $work/b.jsonl --sign $work/key --policy $work/policy.toml -j $threads -q"
  -n "ferret verify" --prepare true "$FERRET verify $tree -m $m --pubkey $work/key.pub --policy $work/policy.toml -j $threads -q"
  -n "ferret scan (sha256 iocs)" --prepare true
  "$FERRET scan $tree --no-builtin -r $tree.meta/sha256-iocs.txt -j $threads -q --format jsonl -o /dev/null"
  -n "ferret baseline --hash blake3" --prepare "rm -f $work/b3.jsonl"
  "$FERRET baseline $tree -o $work/b3.jsonl --hash blake3 --policy $work/policy.toml -j $threads -q"
)
if [[ -n $B3SUM ]]; then
  # b3sum hashes the files one after another, each with up to --num-threads threads
  # (memory-mapped and split across threads when large): its own multi-file mode.
  cmds+=(-n "b3sum --num-threads $threads" --prepare true "xargs -0 -a $work/files0 $B3SUM --num-threads $threads >/dev/null")
fi
# (hyperfine wants one --prepare per command when any has one.)
hyperfine --warmup 1 --runs "$runs" --ignore-failure --export-json "$work/hash.json" "${cmds[@]}" \
  >"$work/hyperfine.txt" 2>&1 || { cat "$work/hyperfine.txt"; exit 1; }
echo "== load after: $(uptime)"

python3 - "$work/hash.json" "$work/openssl.txt" "$bytes" "$threads" <<'PY' | tee "${OUT:-/dev/null}"
import json, statistics, sys
res = {r["command"]: r for r in json.load(open(sys.argv[1]))["results"]}
limits = [float(x) for x in open(sys.argv[2]) if x.strip()]
b, n = int(sys.argv[3]), int(sys.argv[4])
limit = statistics.median(limits)
print(f"SHA-256 limit (openssl -multi {n}, median of {len(limits)}): {limit/1e9:.2f} GB/s "
      f"(runs: {', '.join(f'{x/1e9:.2f}' for x in limits)})")
print("| command | median s | runs | GB/s | vs limit / peer |")
print("|---|---|---|---|---|")
b3 = next((r for k, r in res.items() if k.startswith("b3sum")), None)
for name, r in res.items():
    med = statistics.median(r["times"])
    rate = b / med
    runs = ", ".join(f"{t:.3f}" for t in r["times"])
    if "blake3" in name and b3:
        rel = f"{statistics.median(b3['times']) / med:.2f}x b3sum's speed"
    elif name.startswith("b3sum"):
        rel = "peer"
    else:
        rel = f"{rate / limit:.0%} of the SHA-256 limit"
    print(f"| {name} | {med:.3f} | {runs} | {rate/1e9:.2f} | {rel} |")
PY
