#!/usr/bin/env bash
# Benchmark `ferret scan IMAGE` (NTFS read in place by ferret-evidence) against `ferret scan`
# of the same tree as a directory, and of the same image mounted with ntfs-3g (FUSE), in one
# run with the same rules and thread count; then checks that the three runs make the same
# findings (paths compared relative to the tree's root) and reports peak memory.
#
#   bench/image.sh [DATA_DIR]       (default DATA_DIR: $BENCH_DATA, else ../bench-data)
#
# Environment:
#   FERRET   ferret binary (default: built here, `cargo build --release -p ferret-cli`)
#   THREADS  threads (default: number of CPUs)
#   RUNS     timed runs per command after one warm-up (default: 3); medians are reported
#   GB       size of the generated tree in GB (default: 2.0, the mkcorpus.py default)
#   CORPUS_ARGS  more mkcorpus.py arguments (a smoke run: "--files 300 --large 0")
# Needs: root (for the FUSE mount that fills the image and serves the peer), ntfs-3g,
# hyperfine, python3 and the tree generator (../shared/bench/mkcorpus.py).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
data=${1:-${BENCH_DATA:-$repo/../bench-data}}
shared=${FERRET_SHARED:-$repo/../shared}
threads=${THREADS:-$(nproc)}
runs=${RUNS:-3}
gb=${GB:-2.0}
tree=$data/image-corpus
image=$data/ntfs.img
mnt=$data/ntfs-mnt
results=$data/results
mkdir -p "$data" "$results" "$mnt"

command -v hyperfine >/dev/null || apt-get install -y hyperfine >/dev/null
command -v mkntfs >/dev/null || apt-get install -y ntfs-3g >/dev/null
# shellcheck disable=SC2086
[ -d "$tree" ] || python3 "$shared/bench/mkcorpus.py" "$tree" --gb "$gb" ${CORPUS_ARGS:-}

if [ -z "${FERRET:-}" ]; then
  cargo build --release --locked -p ferret-cli --manifest-path "$repo/Cargo.toml"
  FERRET=${CARGO_TARGET_DIR:-$repo/target}/release/ferret
fi
ferret=$FERRET
rules=$tree.meta/sigdir

cleanup() { mountpoint -q "$mnt" && umount "$mnt" || true; }
trap cleanup EXIT

if [ ! -f "$image" ]; then
  # An image half again the tree's size, filled through the FUSE mount (symlinks are left
  # out: ntfs-3g would store them as reparse points the directory scan does not follow).
  size=$(( $(du -sb "$tree" | cut -f1) * 3 / 2 + (256 << 20) ))
  truncate -s "$size" "$image"
  mkntfs -F -Q -q -L BENCH "$image"
  ntfs-3g "$image" "$mnt"
  rsync -rt "$tree/" "$mnt/" 2>&1 | grep -v "skipping non-regular file" || true
  umount "$mnt"
fi
ntfs-3g -o ro "$image" "$mnt"

echo "machine: $(nproc) cores, threads=$threads, load: $(uptime)"
echo "ferret: $($ferret --version 2>&1 | head -1)"
echo "tree: $(du -sb "$tree" | cut -f1) bytes, $(find "$tree" -type f | wc -l) files; image $(du -b --apparent-size "$image" | cut -f1) bytes"

# Warm the page cache for all three.
cat "$image" > /dev/null
find "$tree" -type f -exec cat {} + > /dev/null 2>&1 || true

common="--no-builtin -r $rules -j $threads -q --format jsonl -o /dev/null"
hyperfine --warmup 1 --runs "$runs" --export-json "$results/image.json" --ignore-failure \
  -n "directory" "$ferret scan $tree $common" \
  -n "image" "$ferret scan $image $common" \
  -n "ntfs-3g mount" "$ferret scan $mnt $common"
echo "load after: $(uptime)"

echo "== the same findings (paths relative to the tree's root)"
"$ferret" scan "$tree" --no-builtin -r "$rules" -j "$threads" -q --format jsonl -o "$results/image-dir.jsonl" || true
"$ferret" scan "$image" --no-builtin -r "$rules" -j "$threads" -q --format jsonl -o "$results/image-img.jsonl" || true
"$ferret" scan "$mnt" --no-builtin -r "$rules" -j "$threads" -q --format jsonl -o "$results/image-mnt.jsonl" || true

echo "== peak memory"
for target in "$tree" "$image"; do
  /usr/bin/time -v "$ferret" scan "$target" $common 2> "$results/image-time.txt" || true
  echo "$target: $(grep -E 'Maximum resident' "$results/image-time.txt")"
done

python3 - "$results/image.json" "$tree" "$mnt" "$results" <<'PY'
import json, statistics, sys
res = {r["command"]: r for r in json.load(open(sys.argv[1]))["results"]}
med = {k: statistics.median(v["times"]) for k, v in res.items()}
tree, mnt, out = sys.argv[2], sys.argv[3], sys.argv[4]
def findings(name, prefix, windows):
    keys = set()
    for line in open(f"{out}/image-{name}.jsonl"):
        r = json.loads(line)
        if r.get("type") != "finding":
            continue
        p = r["path"]
        if windows:
            p = p[len("C:"):].replace("\\", "/")
        else:
            p = p[len(prefix):]
        keys.add((p, r["rule"]["id"]))
    return keys
d, i, m = findings("dir", tree, False), findings("img", "", True), findings("mnt", mnt, False)
print(f"image scan: directory median {med['directory']:.2f} s, image {med['image']:.2f} s "
      f"({med['directory'] / med['image'] * 100:.0f}% of the directory's throughput), "
      f"ntfs-3g mount {med['ntfs-3g mount']:.2f} s (image {med['ntfs-3g mount'] / med['image']:.2f}x faster); "
      f"findings directory {len(d)}, image {len(i)}, mount {len(m)}; "
      f"same as the directory: image {'yes' if i == d else 'NO'}, mount {'yes' if m == d else 'NO'}")
for label, s in (("only in the directory scan", d - i), ("only in the image scan", i - d)):
    for k in sorted(s)[:10]:
        print(f"  {label}: {k}")
PY
