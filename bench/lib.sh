# bench/lib.sh — set-up and timing loop shared by the benchmarks that generate their data
# (check.sh, hives.sh, mft.sh). Sourced, not run; the caller sets FERRET and RUNS.

# BENCH_DIR: the folder given, else a new temporary folder removed at exit; fails when FERRET
# is not an executable.
bench_scratch() {
    if [[ -z ${BENCH_DIR:-} ]]; then
        BENCH_DIR=$(mktemp -d)
        trap 'rm -rf "$BENCH_DIR"' EXIT
    fi
    mkdir -p "$BENCH_DIR"
    [[ -x $FERRET ]] || { echo "ferret binary not found at $FERRET" >&2; exit 2; }
}

# bench_runs REPORT COMMAND...: prints COMMAND, runs it once to warm the page cache, then RUNS
# times under GNU time, calling `REPORT WALL USER SYS PEAK_RSS_KIB` after each timed run. The
# command's exit status is ignored (1 = findings, expected); time prefixes a line for a
# non-zero status, so the figures are read from its last line.
bench_runs() {
    local report=$1 wall user sys rss
    shift
    echo "command: $*"
    "$@" || true
    for _ in $(seq "$RUNS"); do
        echo "load: $(uptime)"
        /usr/bin/time -f "%e %U %S %M" -o "$BENCH_DIR/time.txt" "$@" || true
        read -r wall user sys rss < <(tail -n 1 "$BENCH_DIR/time.txt")
        "$report" "$wall" "$user" "$sys" "$rss"
    done
    echo "load: $(uptime)"
}
