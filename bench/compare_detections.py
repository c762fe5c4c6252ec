#!/usr/bin/env python3
"""Compare ferret's detections with yr's and with a benchmark tree's planted files.

    compare_detections.py yara FERRET.jsonl YR.txt TREE
        ferret's YARA findings (a `ferret scan --format jsonl` report) against `yr scan`'s
        default output (`RULE PATH` lines), as sets of (rule name, path relative to TREE).
        Prints both counts and every difference; exit 1 when they differ.

    compare_detections.py planted FERRET.jsonl EXPECTED.json
        every planted file of mkcorpus.py's expected.json (hash, file name, rules10.yar
        rule) against ferret's findings of a scan with the tree's own signature folder
        (`OUT.meta/sigdir`); exit 1 when one is missed.
"""
import json
import os
import sys


def ferret_findings(path):
    for line in open(path, encoding="utf-8"):
        r = json.loads(line)
        if r.get("type") == "finding":
            yield r


def rel(p, tree):
    p = os.path.normpath(p)
    tree = os.path.normpath(tree)
    return os.path.relpath(p, tree) if p.startswith(tree + os.sep) else p


def yara(ferret_jsonl, yr_txt, tree):
    ours = set()
    for r in ferret_findings(ferret_jsonl):
        if r.get("engine") == "yara":
            ours.add((r["rule"]["name"], rel(r["path"], tree)))
    theirs = set()
    for line in open(yr_txt, encoding="utf-8", errors="surrogateescape"):
        line = line.rstrip("\n")
        if not line or " " not in line:
            continue
        rule, path = line.split(" ", 1)
        theirs.add((rule, rel(path, tree)))
    print(f"YARA matches: ferret {len(ours)}, yr {len(theirs)}, common {len(ours & theirs)}")
    for name, items in (("only ferret", ours - theirs), ("only yr", theirs - ours)):
        for rule, path in sorted(items):
            print(f"  {name}: {rule} {path}")
    return 0 if ours == theirs else 1


def planted(ferret_jsonl, expected_json):
    exp = json.load(open(expected_json))
    tree = exp.get("tree") or os.path.splitext(os.path.dirname(expected_json))[0]
    found = {}
    for r in ferret_findings(ferret_jsonl):
        found.setdefault(rel(r["path"], tree), set()).add((r["engine"], r["rule"]["name"]))
    missed = 0
    total = 0
    p = exp["planted"]
    checks = [(f["path"], "hash") for f in p["hash"]]
    checks += [(f["path"], "filename") for f in p["filename"]]
    for rule, files in p["rules"].items():
        checks += [(f["path"], rule) for f in files]
    for path, what in checks:
        total += 1
        got = found.get(path, set())
        if what == "hash":
            ok = any(e == "hash" or e.startswith("hash") for e, _ in got)
        elif what == "filename":
            ok = any(e.startswith("filename") or e == "name" for e, _ in got)
        else:
            ok = any(e == "yara" and n == what for e, n in got)
        if not ok:
            missed += 1
            print(f"  missed: {what} {path} (found there: {sorted(got)})")
    print(f"planted: {total - missed} of {total} found")
    return 0 if missed == 0 else 1


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "yara":
        sys.exit(yara(*sys.argv[2:]))
    if len(sys.argv) == 4 and sys.argv[1] == "planted":
        sys.exit(planted(*sys.argv[2:]))
    print(__doc__, file=sys.stderr)
    sys.exit(2)
