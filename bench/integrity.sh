#!/usr/bin/env bash
# Benchmark: ferret baseline/verify against AIDE (--init/--check) on the same warm tree, the
# machine's SHA-256 limit, and the memory of verifying a 1,000,000-entry manifest.
#
# Usage: bench/integrity.sh            (from the repository root)
# Environment:
#   BENCH_DATA   where generated trees go (default: ../bench-data, outside the repository)
#   MKCORPUS     the corpus generator (default: ../shared/bench/mkcorpus.py)
#   THREADS      worker threads for ferret and AIDE (default: nproc)
#   RUNS         timed runs per command; the best is reported (default: 3)
#   SKIP_MILLION set to 1 to skip the 1,000,000-entry memory measurement
#   FERRET       ferret binary to measure (default: built here, without the scan feature)
# Needs: python3, /usr/bin/time, openssl; installs aide with apt-get when missing (root).
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
data=${BENCH_DATA:-$repo/../bench-data}
mkcorpus=${MKCORPUS:-$repo/../shared/bench/mkcorpus.py}
threads=${THREADS:-$(nproc)}
runs=${RUNS:-3}
target=${CARGO_TARGET_DIR:-$repo/target}
ferret=${FERRET:-$target/release/ferret}

mkdir -p "$data"
data=$(cd "$data" && pwd)
tree=$data/corpus
work=$data/integrity-work
mkdir -p "$work"
# Everything printed is also kept in $work/bench.log.
exec > >(tee "$work/bench.log") 2>&1

echo "== load: $(uptime)"
echo "== threads: $threads, runs: $runs"

if [ ! -d "$tree" ]; then
  echo "== generating $tree"
  python3 "$mkcorpus" "$tree"
fi
if ! command -v aide >/dev/null; then
  apt-get install -y aide >/dev/null
fi

if [ -z "${FERRET:-}" ]; then
  echo "== building ferret (release, without the scan feature)"
  (cd "$repo" && cargo build --release -q -p ferret-cli --no-default-features 2>"$work/build.log") || {
    cat "$work/build.log"; exit 1; }
fi

files=$(find "$tree" -type f | wc -l)
bytes=$(du -sb "$tree" | cut -f1)
echo "== tree: $files files, $bytes bytes"

# Warm the page cache.
find "$tree" -type f -print0 | xargs -0 cat >/dev/null

# best_of CMD...: runs CMD $runs times, prints the best wall time in seconds.
best_of() {
  local best="" t
  for _ in $(seq "$runs"); do
    /usr/bin/time -f "%e" -o "$work/time.out" "$@" >/dev/null 2>&1 || true
    t=$(tail -1 "$work/time.out")
    if [ -z "$best" ] || awk "BEGIN{exit !($t < $best)}"; then best=$t; fi
  done
  echo "$best"
}

# The same attributes as AIDE's rule below; no built-in exclusions.
cat >"$work/policy.toml" <<'EOF'
defaults = false
EOF

rm -f "$work/key" "$work/key.pub"
"$ferret" keygen -o "$work/key" 2>/dev/null

fb=$(best_of "$ferret" baseline "$tree" -o "$work/m.jsonl" --force --sign "$work/key" \
  --policy "$work/policy.toml" -j "$threads" -q)
"$ferret" baseline "$tree" -o "$work/m.jsonl" --force --sign "$work/key" --policy "$work/policy.toml" \
  -j "$threads" -q
fv=$(best_of "$ferret" verify "$tree" -m "$work/m.jsonl" --pubkey "$work/key.pub" \
  --policy "$work/policy.toml" -j "$threads" -q)
"$ferret" verify "$tree" -m "$work/m.jsonl" --pubkey "$work/key.pub" \
  --policy "$work/policy.toml" -j "$threads" -q >/dev/null || {
  echo "ferret verify of an unchanged tree was not clean" >&2; exit 1; }

cat >"$work/aide.conf" <<EOF
database_in=file:$work/aide.db
database_out=file:$work/aide.db.new
gzip_dbout=no
num_workers=$threads
report_url=stdout
FERRETBENCH = sha256+p+u+g+s+ftype+l
$tree FERRETBENCH
EOF
ai=$(best_of aide --init -c "$work/aide.conf")
aide --init -c "$work/aide.conf" >/dev/null 2>&1 || true
mv "$work/aide.db.new" "$work/aide.db"
ac=$(best_of aide --check -c "$work/aide.conf")

# SHA-256 limit: openssl's 1 MiB-block rate on one core, times the threads.
per_core_k=$(openssl speed -evp sha256 -bytes 1048576 -seconds 3 2>/dev/null \
  | awk '/^sha256|^SHA256/ {v=$NF} END {sub(/k$/,"",v); print v}')
limit=$(awk "BEGIN{printf \"%.0f\", $per_core_k * 1000 * $threads}")

rate() { awk "BEGIN{printf \"%.2f\", $bytes / $1 / 1e9}"; }
pct() { awk "BEGIN{printf \"%.0f\", 100 * $bytes / $1 / $limit}"; }
echo
echo "| step | ferret (s) | GB/s | % of SHA-256 limit | AIDE 0.18 (s) | speed-up |"
echo "|---|---|---|---|---|---|"
echo "| baseline / --init | $fb | $(rate "$fb") | $(pct "$fb")% | $ai | $(awk "BEGIN{printf \"%.1f\", $ai/$fb}")x |"
echo "| verify / --check | $fv | $(rate "$fv") | $(pct "$fv")% | $ac | $(awk "BEGIN{printf \"%.1f\", $ac/$fv}")x |"
echo "SHA-256 limit: $(awk "BEGIN{printf \"%.2f\", $limit/1e9}") GB/s ($per_core_k kB/s per core x $threads)"

if [ "${SKIP_MILLION:-0}" != 1 ]; then
  million=$data/million
  if [ ! -d "$million" ]; then
    echo "== generating $million (1,000 directories x 999 small files)"
    python3 - "$million" <<'EOF'
import os, sys
root = sys.argv[1]
for d in range(1000):
    p = os.path.join(root, f"d{d:03}")
    os.makedirs(p)
    for f in range(999):
        with open(os.path.join(p, f"f{f:03}"), "wb") as fh:
            fh.write(b"%d %d\n" % (d, f))
EOF
  fi
  "$ferret" baseline "$million" -o "$work/million.jsonl.zst" --force --zstd --sign "$work/key" \
    --policy "$work/policy.toml" -j "$threads" -q
  entries=$( { zstd -dc "$work/million.jsonl.zst" 2>/dev/null || python3 -c 'print()'; } | wc -l)
  /usr/bin/time -v "$ferret" verify "$million" -m "$work/million.jsonl.zst" \
    --pubkey "$work/key.pub" --policy "$work/policy.toml" -j "$threads" -q \
    2>"$work/million.time" >/dev/null || true
  rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$work/million.time")
  wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$work/million.time")
  echo "verify of a 1,000,000-entry manifest (~$((entries - 2)) entries): max RSS $((rss / 1024)) MB, wall $wall"
fi
echo "== load after: $(uptime)"
