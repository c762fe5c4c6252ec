#!/usr/bin/env bash
# bench/sigma-regression.sh — end-to-end check of `ferret hunt` on the Sigma regression data:
# each case folder holds an EVTX file (and usually its JSON twin) and an info.yml naming the rule
# that must fire. Runs one hunt over all cases with all rule folders, then reports, per form
# (evtx, json), how many cases saw their rule fire, and lists the misses.
#
# Usage: bench/sigma-regression.sh
# Environment: FERRET (default target/release/ferret), CORPUS (default ../shared/corpus).
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
FERRET=${FERRET:-$here/target/release/ferret}
CORPUS=${CORPUS:-$here/../shared/corpus}
sigma=$CORPUS/sigma
out=$(mktemp)
trap 'rm -f "$out"' EXIT

"$FERRET" hunt "$sigma/regression_data" --sigma "$sigma/rules" \
    --sigma "$sigma/rules-emerging-threats" --sigma "$sigma/rules-threat-hunting" \
    --format jsonl -q >"$out" || true

python3 - "$sigma/regression_data" "$out" <<'EOF'
import json, os, re, sys
root, report = sys.argv[1], sys.argv[2]
fired = {}  # path -> set of rule ids
for line in open(report):
    r = json.loads(line)
    if r.get("type") == "finding":
        fired.setdefault(r["path"], set()).add(r["rule"]["id"])
stats = {"evtx": [0, 0], "json": [0, 0]}
misses = []
for dirpath, _, files in os.walk(root):
    if "info.yml" not in files:
        continue
    text = open(os.path.join(dirpath, "info.yml")).read()
    m = re.search(r"rule_metadata:\s*\n\s*-\s*id:\s*(\S+)", text)
    if not m:
        continue
    rid = m.group(1)
    for f in files:
        ext = f.rsplit(".", 1)[-1].lower()
        if ext not in stats:
            continue
        p = os.path.join(dirpath, f)
        stats[ext][1] += 1
        if rid in fired.get(p, set()):
            stats[ext][0] += 1
        else:
            misses.append(f"{ext}: {os.path.relpath(p, root)} (rule {rid})")
for ext, (ok, n) in stats.items():
    pct = 100.0 * ok / n if n else 0.0
    print(f"{ext}: {ok}/{n} cases fire their rule ({pct:.1f}%)")
for m in sorted(misses):
    print("miss:", m)
EOF
