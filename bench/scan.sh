#!/usr/bin/env bash
# Benchmark `ferret scan` against `yr scan` (yara-x-cli, same yara-x version) on the seeded
# ~2 GB tree with the signature-base YARA rules, same thread count, each compiling its rules
# in the run; then checks that both make the same YARA matches and that ferret finds every
# planted file of the tree (with the tree's own signature folder).
#
#   bench/scan.sh [DATA_DIR]        (default DATA_DIR: $BENCH_DATA, else ../bench-data)
#
# Environment:
#   FERRET   ferret binary (default: built here, `cargo build --release -p ferret-cli`)
#   THREADS  threads for both tools (default: number of CPUs)
#   RUNS     timed runs per tool after one warm-up (default: 3); medians are reported
#   OUT      file the summary lines are also written to (default: none)
# Needs: python3, hyperfine, `yr` (cargo install yara-x-cli@1.22.1 --locked), the
# signature-base corpus next to the repo (../shared/corpus/signature-base) and the tree
# generator (../shared/bench/mkcorpus.py). Raw runs are kept in DATA_DIR/results/.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
data=${1:-${BENCH_DATA:-$repo/../bench-data}}
shared=${FERRET_SHARED:-$repo/../shared}
threads=${THREADS:-$(nproc)}
runs=${RUNS:-3}
tree=$data/corpus
sigbase=$shared/corpus/signature-base/yara
results=$data/results
mkdir -p "$data" "$results"

command -v hyperfine >/dev/null || apt-get install -y hyperfine >/dev/null
command -v yr >/dev/null || { echo "yr not found: cargo install yara-x-cli@1.22.1 --locked" >&2; exit 2; }
[ -d "$tree" ] || python3 "$shared/bench/mkcorpus.py" "$tree"

if [ -z "${FERRET:-}" ]; then
  cargo build --release --locked -p ferret-cli --manifest-path "$repo/Cargo.toml"
  FERRET=${CARGO_TARGET_DIR:-$repo/target}/release/ferret
fi
ferret=$FERRET

# The Loki/THOR external variables the signature-base rules use, declared for yr as ferret
# declares them (empty strings; ferret sets them per file, see the comparison below).
# (single-quoted so that the shell hyperfine starts keeps the double quotes yr expects).
yr_defs="-d filename='\"\"' -d filepath='\"\"' -d extension='\"\"' -d filetype='\"\"' -d owner='\"\"'"

echo "machine: $(nproc) cores, threads=$threads, load: $(uptime)"
echo "yr: $(yr --version)   ferret: $($ferret --version 2>&1 | head -1)"
echo "tree: $(du -sb "$tree" | cut -f1) bytes, $(find "$tree" -type f | wc -l) files"

# Warm the page cache. ferret's compiled-rule cache is off by default (rules compile in
# memory every run, as yr's do), so both compile in every timed run.
find "$tree" -type f -exec cat {} + > /dev/null 2>&1 || true

echo "== YARA: full signature-base set"
hyperfine --warmup 1 --runs "$runs" --export-json "$results/yara.json" --ignore-failure \
  -n "yr scan -r" "yr scan -r -p $threads --disable-console-logs -w $yr_defs $sigbase $tree > /dev/null" \
  -n "ferret scan" "$ferret scan $tree --no-builtin -r $sigbase -j $threads -q --format jsonl -o /dev/null"
echo "load after: $(uptime)"

echo "== same YARA matches as yr"
sh -c "yr scan -r -p $threads --disable-console-logs -w $yr_defs $sigbase $tree" > "$results/yr-matches.txt" 2>/dev/null || true
"$ferret" scan "$tree" --no-builtin -r "$sigbase" -j "$threads" -q --format jsonl -o "$results/ferret-sigbase.jsonl" || true
same=0
python3 "$repo/bench/compare_detections.py" yara "$results/ferret-sigbase.jsonl" "$results/yr-matches.txt" "$tree" \
  | tee "$results/compare.txt" || same=$?

echo "== peak memory, full signature-base set"
/usr/bin/time -v "$ferret" scan "$tree" --no-builtin -r "$sigbase" -j "$threads" -q --format jsonl -o /dev/null 2> "$results/ferret-time.txt" || true
grep -E "Maximum resident|Elapsed" "$results/ferret-time.txt"
/usr/bin/time -v sh -c "yr scan -r -p $threads --disable-console-logs -w $yr_defs $sigbase $tree > /dev/null" 2> "$results/yr-time.txt" || true
grep -E "Maximum resident|Elapsed" "$results/yr-time.txt"

echo "== detections (expected in $tree.meta/expected.json)"
"$ferret" scan "$tree" --no-builtin -r "$tree.meta/sigdir" -j "$threads" -q --format jsonl -o "$results/detections.jsonl" || true
planted=0
python3 "$repo/bench/compare_detections.py" planted "$results/detections.jsonl" "$tree.meta/expected.json" || planted=$?

python3 - "$results/yara.json" "$same" "$planted" <<'PY' | tee "${OUT:-/dev/null}"
import json, statistics, sys
res = {r["command"]: r for r in json.load(open(sys.argv[1]))["results"]}
yr, fe = res["yr scan -r"], res["ferret scan"]
my, mf = statistics.median(yr["times"]), statistics.median(fe["times"])
pairs = sorted(f / y for f, y in zip(fe["times"], yr["times"]))
print(f"scan signature-base: ferret median {mf:.2f} s ({', '.join(f'{t:.2f}' for t in fe['times'])}), "
      f"yr median {my:.2f} s ({', '.join(f'{t:.2f}' for t in yr['times'])}); "
      f"ferret/yr {mf/my:.2f}x (paired ratios {', '.join(f'{p:.2f}' for p in pairs)}); "
      f"same YARA matches: {'yes' if sys.argv[2] == '0' else 'NO'}; "
      f"every planted file: {'yes' if sys.argv[3] == '0' else 'NO'}")
PY
