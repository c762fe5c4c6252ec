#!/usr/bin/env python3
"""bench/pairs.py: two ferret builds compared on the hashing commands, in alternating pairs.

Usage: bench/pairs.py FERRET_A FERRET_B [PAIRS]   (default 12 pairs)

Runs `baseline`, `verify` and a hash-only `scan` of the mkcorpus.py tree with each binary in
turn (A then B, B then A, ...), so a machine whose speed drifts during the run (a shared
virtual machine) weighs on both alike, and prints for each command the median time of each
binary, its share of the SHA-256 limit (`openssl speed -evp sha256 -multi 2`, median of 3,
measured after the pairs) and the median of the paired ratios B/A.

Environment: BENCH_DATA (default ../bench-data beside the repository) holding `corpus/` and
`corpus.meta/` from mkcorpus.py; THREADS (default 2).
"""
import os
import stat
import statistics
import subprocess
import sys
import tempfile
import time

repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
data = os.environ.get("BENCH_DATA", os.path.join(repo, "..", "bench-data"))
tree = os.path.join(data, "corpus")
iocs = os.path.join(data, "corpus.meta", "sha256-iocs.txt")
threads = os.environ.get("THREADS", "2")
a, b = sys.argv[1], sys.argv[2]
pairs = int(sys.argv[3]) if len(sys.argv) > 3 else 12
work = tempfile.mkdtemp(prefix="ferret-pairs-")
policy = os.path.join(work, "policy.toml")
with open(policy, "w") as f:
    f.write("defaults = false\n")
key = os.path.join(work, "key")
quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
subprocess.run([a, "keygen", "-o", key], check=True, **quiet)
manifest = os.path.join(work, "m.jsonl")
subprocess.run([a, "baseline", tree, "-o", manifest, "--sign", key, "--policy", policy,
                "-j", threads, "-q"], check=True, **quiet)


def commands(ferret):
    return {
        "baseline": [ferret, "baseline", tree, "-o", os.path.join(work, "b.jsonl"), "--force",
                     "--sign", key, "--policy", policy, "-j", threads, "-q"],
        "verify": [ferret, "verify", tree, "-m", manifest, "--pubkey", key + ".pub",
                   "--policy", policy, "-j", threads, "-q"],
        "scan": [ferret, "scan", tree, "--no-builtin", "-r", iocs, "-j", threads, "-q",
                 "--format", "jsonl", "-o", "/dev/null"],
    }


def timed(cmd):
    t = time.perf_counter()
    subprocess.run(cmd, **quiet)
    return time.perf_counter() - t


# Bytes in regular files (the tree holds symlinks, some dangling).
size = sum(st.st_size for d, _, fs in os.walk(tree)
           for st in [os.lstat(os.path.join(d, f)) for f in fs] if stat.S_ISREG(st.st_mode)) / 1e9
print(f"== load before: {os.getloadavg()}")
times = {}
for name in commands(a):
    timed(commands(a)[name])  # warm-up
    timed(commands(b)[name])
    for i in range(pairs):
        order = [("A", a), ("B", b)] if i % 2 == 0 else [("B", b), ("A", a)]
        for label, ferret in order:
            times.setdefault((name, label), []).append(timed(commands(ferret)[name]))
limits = []
for _ in range(3):
    out = subprocess.run(["openssl", "speed", "-evp", "sha256", "-bytes", "1048576", "-multi",
                          threads, "-seconds", "2"], capture_output=True, text=True).stdout
    limits += [float(l.split()[-1].rstrip("k")) * 1000 / 1e9
               for l in out.splitlines() if l.startswith("sha256")]
limit = statistics.median(limits)
print(f"== load after: {os.getloadavg()}")
print(f"SHA-256 limit: {limit:.3f} GB/s (median of {limits}); tree {size:.2f} GB; {pairs} pairs")
for name in commands(a):
    ta, tb = times[(name, "A")], times[(name, "B")]
    ma, mb = statistics.median(ta), statistics.median(tb)
    ratio = statistics.median(y / x for x, y in zip(ta, tb))
    print(f"{name:9s} A {ma * 1000:.0f} ms ({size / ma / limit:.1%})  "
          f"B {mb * 1000:.0f} ms ({size / mb / limit:.1%})  B/A paired median {ratio:.3f}")
