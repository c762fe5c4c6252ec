#!/usr/bin/env bash
# bench/hunt-peers.sh — `ferret hunt` against chainsaw and hayabusa on the corpus EVTX files:
# wall time (hyperfine), peak resident memory (/usr/bin/time -v) and a hit comparison.
#
# Usage: CHAINSAW=/path/to/chainsaw HAYABUSA=/path/to/hayabusa bench/hunt-peers.sh
# Environment:
#   FERRET            ferret binary (default: target/release/ferret; build it with
#                     `cargo build --release -p ferret-cli --no-default-features`)
#   CHAINSAW          chainsaw binary (skipped when unset)
#   CHAINSAW_MAPPING  chainsaw's Sigma mapping (default: mappings/sigma-event-logs-all.yml in
#                     the folder holding the chainsaw binary, or its parents)
#   HAYABUSA          hayabusa binary (skipped when unset); run from HAYABUSA_HOME
#   HAYABUSA_HOME     folder holding hayabusa's `rules/config` (default: the binary's folder)
#   HAYABUSA_RULES    rules for hayabusa (default: the SigmaHQ windows rules, as for the
#                     others; hayabusa only enables rules whose detection names a Channel, so
#                     pass its converted copy of the same SigmaHQ rules, `rules/sigma` of
#                     hayabusa-rules, to compare hits)
#   CORPUS            sample corpus (default: ../shared/corpus beside the repository)
#   THREADS           threads for every tool (default: number of CPUs)
#   RUNS              hyperfine runs (default: 3)
#   BENCH_DIR         scratch folder (default: a new temporary folder, removed at the end)
#
# Every figure is printed with its command and the machine load (`uptime`).
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
FERRET=${FERRET:-$here/target/release/ferret}
CORPUS=${CORPUS:-$here/../shared/corpus}
THREADS=${THREADS:-$(nproc)}
RUNS=${RUNS:-3}
CHAINSAW=${CHAINSAW:-}
HAYABUSA=${HAYABUSA:-}
RULES=$CORPUS/sigma/rules/windows
HAYABUSA_RULES=${HAYABUSA_RULES:-$RULES}

if [[ -z ${BENCH_DIR:-} ]]; then
    BENCH_DIR=$(mktemp -d)
    trap 'rm -rf "$BENCH_DIR"' EXIT
fi
mkdir -p "$BENCH_DIR"
command -v hyperfine >/dev/null || { echo "hyperfine not found (apt-get install hyperfine)" >&2; exit 2; }
[[ -x $FERRET ]] || { echo "ferret binary not found at $FERRET" >&2; exit 2; }

# One flat folder of copies, so that every tool reads exactly the same files.
evtx=$BENCH_DIR/evtx
mkdir -p "$evtx"
n=0
while IFS= read -r -d '' f; do
    n=$((n + 1))
    cp "$f" "$evtx/$(printf '%05d' "$n").evtx"
done < <(find "$CORPUS" -type f -iname '*.evtx' -print0 | sort -z)
echo "# $n EVTX files, $(du -sh "$evtx" | cut -f1), rules: $RULES, threads: $THREADS"

ferret_cmd=(env RAYON_NUM_THREADS="$THREADS" "$FERRET" hunt "$evtx" --sigma "$RULES" --format jsonl -q
    --output "$BENCH_DIR/ferret.jsonl")
cmds=("${ferret_cmd[*]}")
names=(ferret)
if [[ -n $CHAINSAW ]]; then
    mapping=${CHAINSAW_MAPPING:-}
    if [[ -z $mapping ]]; then
        d=$(dirname "$CHAINSAW")
        while [[ $d != / && ! -f $d/mappings/sigma-event-logs-all.yml ]]; do d=$(dirname "$d"); done
        mapping=$d/mappings/sigma-event-logs-all.yml
    fi
    # chainsaw 2.16.4's --output file loses its last buffered bytes (the JSON ends
    # mid-record); its standard output is complete, so the hits are taken from there.
    chainsaw_cmd=("$CHAINSAW" hunt "$evtx" -s "$RULES" --mapping "$mapping" --json -q)
    cmds+=("${chainsaw_cmd[*]} > '$BENCH_DIR/chainsaw.json'")
    names+=(chainsaw)
fi
if [[ -n $HAYABUSA ]]; then
    HAYABUSA_HOME=${HAYABUSA_HOME:-$(dirname "$HAYABUSA")}
    hayabusa_cmd=(sh -c "cd '$HAYABUSA_HOME' && '$HAYABUSA' csv-timeline -d '$evtx' -r '$HAYABUSA_RULES' -o '$BENCH_DIR/hayabusa.csv' -w -q -C --no-color --threads $THREADS")
    cmds+=("${hayabusa_cmd[*]}")
    names+=(hayabusa)
fi

echo "## wall time"
echo "load: $(uptime)"
hyperfine --runs "$RUNS" --ignore-failure --export-markdown "$BENCH_DIR/hyperfine.md" \
    "${cmds[@]}" | sed 's/\x1b\[[0-9;]*m//g'
cat "$BENCH_DIR/hyperfine.md"

echo "## peak memory"
for i in "${!cmds[@]}"; do
    echo "load: $(uptime)"
    /usr/bin/time -v sh -c "${cmds[$i]}" >/dev/null 2>"$BENCH_DIR/time-${names[$i]}.txt" || true
    echo "${names[$i]}: $(grep 'Maximum resident' "$BENCH_DIR/time-${names[$i]}.txt")"
done

echo "## hits"
python3 - "$BENCH_DIR" "$RULES" <<'EOF'
import csv, glob, json, os, sys
bench, rules = sys.argv[1], sys.argv[2]
titles = set()
for f in glob.glob(os.path.join(rules, "**", "*.yml"), recursive=True):
    for line in open(f, encoding="utf-8", errors="replace"):
        if line.startswith("title:"):
            titles.add(line[6:].strip().strip("'\""))
            break
ours = set()
for line in open(os.path.join(bench, "ferret.jsonl"), encoding="utf-8"):
    v = json.loads(line)
    if v.get("type") == "finding":
        ours.add((v["rule"]["name"], v["details"].get("computer"), v["log"].get("record_id")))
print(f"ferret: {len(ours)} hits")

def compare(name, hits):
    common = [h for h in hits if h[0] in titles]
    missing = sorted({h for h in common if h not in ours})
    print(f"{name}: {len(hits)} hits, {len(common)} of rules ferret loads (same title), "
          f"{len(missing)} of those not in ferret's; rules ferret does not have: "
          f"{len({h[0] for h in hits if h[0] not in titles})}")
    by_rule = {}
    for m in missing:
        by_rule[m[0]] = by_rule.get(m[0], 0) + 1
    for t, c in sorted(by_rule.items(), key=lambda x: -x[1]):
        print(f"  {c:5} {t}")

p = os.path.join(bench, "hayabusa.csv")
if os.path.exists(p):
    rows = csv.DictReader(open(p, encoding="utf-8", errors="replace"))
    compare("hayabusa", [(r["RuleTitle"], r["Computer"],
                          int(r["RecordID"]) if r["RecordID"].isdigit() else None) for r in rows])
p = os.path.join(bench, "chainsaw.json")
if os.path.exists(p):
    hits = []
    for d in json.load(open(p, encoding="utf-8", errors="replace")):
        sysd = (d.get("document", {}).get("data", {}).get("Event", {}).get("System", {}))
        comp, rid = sysd.get("Computer"), sysd.get("EventRecordID")
        hits.append((d.get("name"), comp, int(rid) if str(rid).isdigit() else None))
    compare("chainsaw", hits)
EOF
