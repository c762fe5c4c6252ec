#!/usr/bin/env bash
# bench/hunt.sh — `ferret hunt` benchmarks.
#
#   (a) every EVTX file of the sample corpus with the SigmaHQ windows rules: ferret, and chainsaw
#       and hayabusa when they are installed (same files, same rules, same thread count);
#   (b) a generated W3C/IIS log (1 GiB by default) with the SigmaHQ web rules: ferret's MB/s.
#
# Usage: bench/hunt.sh [a|b|all]
# Environment:
#   FERRET     ferret binary            (default: target/release/ferret; build it with
#              `cargo build --release -p ferret-cli --no-default-features`)
#   CORPUS     sample corpus folder     (default: ../shared/corpus beside the repository)
#   CHAINSAW   chainsaw binary          (default: `chainsaw` on PATH; skipped when absent)
#   CHAINSAW_MAPPING  chainsaw's sigma mapping file (default: mappings/sigma-event-logs-all.yml
#              next to the chainsaw binary)
#   HAYABUSA   hayabusa binary          (default: `hayabusa` on PATH; skipped when absent)
#   THREADS    worker threads for every tool (default: number of CPUs)
#   W3C_MB     size of the generated W3C log in MiB (default: 1024)
#   BENCH_DIR  scratch folder (default: a new temporary folder, removed at the end)
#
# Every figure is printed with the command that produced it and the machine load (`uptime`).
# Wall time and peak resident memory come from /usr/bin/time.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
FERRET=${FERRET:-$here/target/release/ferret}
CORPUS=${CORPUS:-$here/../shared/corpus}
THREADS=${THREADS:-$(nproc)}
W3C_MB=${W3C_MB:-1024}
CHAINSAW=${CHAINSAW:-$(command -v chainsaw || true)}
HAYABUSA=${HAYABUSA:-$(command -v hayabusa || true)}
what=${1:-all}

if [[ -z ${BENCH_DIR:-} ]]; then
    BENCH_DIR=$(mktemp -d)
    trap 'rm -rf "$BENCH_DIR"' EXIT
fi
mkdir -p "$BENCH_DIR"

[[ -x $FERRET ]] || { echo "ferret binary not found at $FERRET" >&2; exit 2; }
[[ -d $CORPUS ]] || { echo "corpus not found at $CORPUS" >&2; exit 2; }

# run LABEL CMD... : runs CMD with stdout to a file, prints wall seconds and peak RSS.
run() {
    local label=$1
    shift
    echo "## $label"
    echo "load: $(uptime)"
    echo "command: $*"
    /usr/bin/time -f "wall_s=%e peak_rss_kb=%M" -o "$BENCH_DIR/time.txt" "$@" \
        >"$BENCH_DIR/$label.out" 2>"$BENCH_DIR/$label.err" || true
    cat "$BENCH_DIR/time.txt"
}

bench_evtx() {
    local evtx=$BENCH_DIR/evtx rules=$CORPUS/sigma/rules/windows
    mkdir -p "$evtx"
    # One flat folder of copies, so that every tool reads exactly the same files.
    local n=0
    while IFS= read -r -d '' f; do
        n=$((n + 1))
        cp "$f" "$evtx/$(printf '%05d' "$n").evtx"
    done < <(find "$CORPUS" -type f -iname '*.evtx' -print0 | sort -z)
    echo "# (a) $n EVTX files, $(du -sh "$evtx" | cut -f1), rules: $rules, threads: $THREADS"

    RAYON_NUM_THREADS=$THREADS run ferret "$FERRET" hunt "$evtx" --sigma "$rules" --format jsonl -q
    echo "ferret findings: $(grep -c '"type":"finding"' "$BENCH_DIR/ferret.out" || true)"
    grep '"type":"summary"' "$BENCH_DIR/ferret.out" | grep -o '"rules":{[^}]*}[^}]*}' || true

    if [[ -n $CHAINSAW ]]; then
        local mapping=${CHAINSAW_MAPPING:-$(dirname "$CHAINSAW")/mappings/sigma-event-logs-all.yml}
        run chainsaw "$CHAINSAW" hunt "$evtx" -s "$rules" --mapping "$mapping" --json -q \
            --output "$BENCH_DIR/chainsaw.json"
        echo "chainsaw hits: $(grep -o '"name":' "$BENCH_DIR/chainsaw.json" 2>/dev/null | wc -l)"
    else
        echo "## chainsaw: not installed (set CHAINSAW=/path/to/chainsaw); skipped"
    fi
    if [[ -n $HAYABUSA ]]; then
        run hayabusa "$HAYABUSA" csv-timeline -d "$evtx" -r "$rules" -o "$BENCH_DIR/hayabusa.csv" \
            -w -q -C --threads "$THREADS" --no-color
        echo "hayabusa rows: $(($(wc -l <"$BENCH_DIR/hayabusa.csv" 2>/dev/null || echo 1) - 1))"
    else
        echo "## hayabusa: not installed (set HAYABUSA=/path/to/hayabusa); skipped"
    fi
}

# A W3C/IIS log of W3C_MB MiB: a 4 MiB block of varied requests (a few that the web rules
# should flag), repeated.
gen_w3c() {
    local out=$1 block=$BENCH_DIR/block.log
    awk 'BEGIN {
        srand(42);
        split("/,/index.html,/owa/auth/logon.aspx,/ecp/default.aspx,/api/v1/items,/static/app.js,/images/logo.png,/login.php,/search", stems, ",");
        split("-,q=shoes,id=42&view=full,page=3,lang=en-US,token=abc123", queries, ",");
        split("Mozilla/5.0+(Windows+NT+10.0;+Win64;+x64)+AppleWebKit/537.36+(KHTML,+like+Gecko)+Chrome/120.0+Safari/537.36,Mozilla/5.0+(X11;+Linux+x86_64;+rv:121.0)+Gecko/20100101+Firefox/121.0,curl/8.5.0,python-requests/2.31.0", agents, ",");
        split("GET,GET,GET,POST,HEAD", methods, ",");
        split("200,200,200,304,404,302,500", codes, ",");
        while (bytes < 4 * 1024 * 1024) {
            s = int(rand() * 86400); h = int(s / 3600); m = int((s % 3600) / 60); sec = s % 60;
            stem = stems[int(rand() * 9) + 1]; q = queries[int(rand() * 6) + 1];
            if (rand() < 0.001) { stem = "/aspnet_client/system_web/shell.aspx"; q = "cmd=whoami" }
            if (rand() < 0.001) { q = "file=../../../../etc/passwd" }
            line = sprintf("2021-03-03 %02d:%02d:%02d 10.0.0.2 %s %s %s 443 - 203.0.113.%d %s - %s 0 0 %d",
                h, m, sec, methods[int(rand() * 5) + 1], stem, q, int(rand() * 254) + 1,
                agents[int(rand() * 4) + 1], codes[int(rand() * 7) + 1], int(rand() * 900) + 1);
            print line; bytes += length(line) + 1;
        }
    }' >"$block"
    {
        printf '#Software: Microsoft Internet Information Services 10.0\n#Version: 1.0\n#Date: 2021-03-03 00:00:00\n'
        printf '#Fields: date time s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip cs(User-Agent) cs(Referer) sc-status sc-substatus sc-win32-status time-taken\n'
        for _ in $(seq 1 $((W3C_MB / 4))); do cat "$block"; done
    } >"$out"
}

bench_w3c() {
    local log=$BENCH_DIR/u_ex210303.log rules=$CORPUS/sigma/rules/web
    gen_w3c "$log"
    local bytes
    bytes=$(stat -c %s "$log")
    echo "# (b) generated W3C log: $((bytes / 1024 / 1024)) MiB, rules: $rules, threads: $THREADS"
    RAYON_NUM_THREADS=$THREADS run ferret-w3c "$FERRET" hunt "$log" --sigma "$rules" --format jsonl -q
    local wall
    wall=$(sed -n 's/.*wall_s=\([0-9.]*\).*/\1/p' "$BENCH_DIR/time.txt")
    echo "ferret findings: $(grep -c '"type":"finding"' "$BENCH_DIR/ferret-w3c.out" || true)"
    awk -v b="$bytes" -v w="$wall" 'BEGIN { if (w > 0) printf "throughput: %.1f MB/s (%.1f MiB/s)\n", b / w / 1e6, b / w / 1048576 }'
}

case $what in
    a) bench_evtx ;;
    b) bench_w3c ;;
    all) bench_evtx; bench_w3c ;;
    *) echo "usage: $0 [a|b|all]" >&2; exit 2 ;;
esac
