#!/usr/bin/env bash
# Benchmark `ferret scan` against `yr scan` (yara-x-cli, same yara-x version) on the seeded
# ~2 GB tree, and the hash-only path against the machine's SHA-256 limit.
#
#   bench/scan.sh [DATA_DIR]        (default DATA_DIR: ./bench-data, outside git)
#
# Needs: python3, hyperfine (apt-get install hyperfine), /usr/bin/time, openssl, `yr`
# (cargo install yara-x-cli@1.22.1 --locked), the signature-base corpus next to the repo
# (../shared/corpus/signature-base) and the tree generator (../shared/bench/mkcorpus.py).
# Raw runs are kept in DATA_DIR/results/.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
data=${1:-$repo/bench-data}
shared=${FERRET_SHARED:-$repo/../shared}
threads=${THREADS:-$(nproc)}
tree=$data/corpus
sigbase=$shared/corpus/signature-base/yara
results=$data/results
mkdir -p "$data" "$results"

command -v hyperfine >/dev/null || apt-get install -y hyperfine >/dev/null
command -v yr >/dev/null || { echo "yr not found: cargo install yara-x-cli@1.22.1 --locked" >&2; exit 2; }
[ -d "$tree" ] || python3 "$shared/bench/mkcorpus.py" "$tree"

cargo build --release --locked -p ferret-cli --manifest-path "$repo/Cargo.toml"
ferret=$repo/target/release/ferret
[ -x "$ferret" ] || ferret=${CARGO_TARGET_DIR:-$repo/target}/release/ferret

# The Loki/THOR external variables the signature-base rules use, declared for yr as ferret
# declares them (empty strings).
# (single-quoted so that the shell hyperfine starts keeps the double quotes yr expects).
yr_defs="-d filename='\"\"' -d filepath='\"\"' -d extension='\"\"' -d filetype='\"\"' -d owner='\"\"'"

echo "machine: $(nproc) cores, threads=$threads, load: $(uptime)"
echo "yr: $(yr --version)   ferret: $($ferret --version 2>&1)"
echo "tree: $(du -sb "$tree" | cut -f1) bytes, $(find "$tree" -type f | wc -l) files"

# Warm the page cache and ferret's compiled-rule cache (yr compiles every run; ferret's cache
# is part of what is measured as a feature, so a cold-cache ferret run is measured too).
find "$tree" -type f -exec cat {} + > /dev/null 2>&1 || true

echo "== YARA: full signature-base set"
hyperfine --warmup 1 --runs 3 --export-json "$results/yara.json" --ignore-failure \
  -n "yr scan -r" "yr scan -r -p $threads --disable-console-logs -w $yr_defs $sigbase $tree > /dev/null" \
  -n "ferret scan" "$ferret scan $tree --no-builtin -r $sigbase -j $threads -q --format jsonl -o /dev/null" \
  -n "ferret scan (no rule cache)" "$ferret scan $tree --no-builtin -r $sigbase -j $threads -q --no-cache --format jsonl -o /dev/null"

echo "== peak memory, full signature-base set"
/usr/bin/time -v "$ferret" scan "$tree" --no-builtin -r "$sigbase" -j "$threads" -q --format jsonl -o /dev/null 2> "$results/ferret-time.txt" || true
grep -E "Maximum resident|Elapsed" "$results/ferret-time.txt"
/usr/bin/time -v sh -c "yr scan -r -p $threads --disable-console-logs -w $yr_defs $sigbase $tree > /dev/null" 2> "$results/yr-time.txt" || true
grep -E "Maximum resident|Elapsed" "$results/yr-time.txt"

echo "== hashes: 100,000 SHA-256 IOCs alone"
iocs=$tree.meta/sha256-iocs.txt
hyperfine --warmup 1 --runs 5 --export-json "$results/hash.json" --ignore-failure \
  -n "ferret scan (100k sha256 IOCs)" "$ferret scan $tree --no-builtin -r $iocs -j $threads -q --format jsonl -o /dev/null"
bytes=$(find "$tree" -type f -printf '%s\n' | awk '{s+=$1} END {print s}')
mean=$(python3 -c "import json;print(json.load(open('$results/hash.json'))['results'][0]['mean'])")
sha=$(openssl speed -evp sha256 -bytes 1048576 -seconds 3 2>/dev/null | awk '/^sha256/ {print $NF}' | tr -d k)
python3 - "$bytes" "$mean" "$sha" "$threads" <<'PY'
import sys
b, t, sha_k, n = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
limit = sha_k * 1000 * n
print(f"hash-only throughput: {b/t/1e9:.2f} GB/s; SHA-256 limit {sha_k*1000/1e9:.2f} GB/s/core x {n} = {limit/1e9:.2f} GB/s; ratio {b/t/limit:.0%}")
PY
echo "== detections (expected in $tree.meta/expected.json)"
"$ferret" scan "$tree" --no-builtin -r "$tree.meta/sigdir" -j "$threads" -q --format jsonl -o "$results/detections.jsonl" || true
python3 - "$results/detections.jsonl" <<'PY'
import json, sys, collections
c = collections.Counter()
for line in open(sys.argv[1]):
    r = json.loads(line)
    if r["type"] == "finding":
        c[r["engine"]] += 1
print("findings by engine:", dict(c))
PY
