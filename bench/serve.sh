#!/usr/bin/env bash
# Load, reliability and dashboard benchmark of `ferret serve`, on SQLite and on PostgreSQL.
#
#   bench/serve.sh [sqlite|postgres|two|restart|all]     (RUNS=3 by default)
#
# Each run: 2,000 simulated hosts (8 concurrent clients) each upload one gzip JSONL report
# with 100 findings, and the database is then checked: 2,000 runs, 2,000 distinct run ids,
# 200,000 findings (every acknowledged report stored exactly once).
#   sqlite, postgres: a "kill" run (the collector is SIGKILLed and restarted after 1,000
#     acknowledged uploads; unacknowledged uploads are resent with the same run id), then
#     RUNS "measure" runs, which report the collector's CPU time per report (user+system
#     from /proc/PID/stat over the upload phase), on PostgreSQL also the CPU of the
#     collector's backends and of all PostgreSQL processes, the wall-clock rate and latency,
#     and the directive page for a 10,000-host directive (10 requests; median and max).
#   two: RUNS runs with two collectors sharing one PostgreSQL database.
#   restart: one run on PostgreSQL restarted mid-run (`pg_ctlcluster 15 main restart`
#     after 1,000 acknowledged uploads; PG_RESTART_CMD overrides). It restarts the
#     machine's PostgreSQL: never run it while anything else uses that server.
#   all: sqlite, postgres and two (not restart).
#
# Needs: a release build (cargo build --release --workspace --locked), python3, sqlite3, and
# for PostgreSQL psql and FERRET_BENCH_POSTGRES_URL (a database on loopback reserved for the
# benchmark, e.g. `createdb -h 127.0.0.1 -U postgres ferret_bench`; a schema is created and
# dropped per run). Only loopback addresses are used.
set -euo pipefail
export PGOPTIONS="${PGOPTIONS:---client-min-messages=warning}"
cd "$(dirname "$0")/.."
target="${CARGO_TARGET_DIR:-target}"
ferret="${FERRET_BIN:-$target/release/ferret}"
[ -x "$ferret" ] || { echo "build first: cargo build --release --workspace --locked" >&2; exit 2; }
which="${1:-all}"
runs="${RUNS:-3}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$work/admin-token"
echo "load: $(cat /proc/loadavg); $(nproc) CPUs; $(git rev-parse --short HEAD 2>/dev/null || echo '?')"

run_sqlite() {
  for mode in kill $(seq -f "measure%g" 1 "$runs"); do
    db="$work/$mode.db"
    extra=()
    if [ "$mode" = kill ]; then extra=(--kill-after 1000); else extra=(--dashboard-hosts 10000); fi
    python3 bench/serve_load.py --ferret "$ferret" --db "sqlite:$db" \
      --admin-token-file "$work/admin-token" --hosts 2000 --findings 100 --workers 8 "${extra[@]}" \
      --check-cmd "sqlite3 $db 'SELECT (SELECT COUNT(*) FROM runs), (SELECT COUNT(*) FROM findings), (SELECT COUNT(DISTINCT run_id) FROM runs)' | tr '|' ' '" \
      | sed "s/^/sqlite $mode: /"
    rm -f "$db" "$db-wal" "$db-shm"
  done
}

pg_url() {
  echo "${FERRET_BENCH_POSTGRES_URL:?set FERRET_BENCH_POSTGRES_URL, e.g. postgres://postgres@127.0.0.1:5432/ferret_bench}"
}

# One PostgreSQL run in a fresh schema: pg_run LABEL [serve_load.py options...]
pg_run() {
  local label="$1"; shift
  local url schema sep db
  url="$(pg_url)"
  schema="ferret_bench_$$_${label//[^a-z0-9]/_}"
  psql -q "$url" -c "CREATE SCHEMA $schema"
  sep='?'; case "$url" in *\?*) sep='&';; esac
  db="${url}${sep}options=-c%20search_path%3D${schema}"
  python3 bench/serve_load.py --ferret "$ferret" --db "$db" --pg-url "$url" \
    --admin-token-file "$work/admin-token" --hosts 2000 --findings 100 --workers 8 "$@" \
    --check-cmd "psql -At '$url' -c 'SELECT (SELECT COUNT(*) FROM $schema.runs), (SELECT COUNT(*) FROM $schema.findings), (SELECT COUNT(DISTINCT run_id) FROM $schema.runs)' | tr '|' ' '" \
    | sed "s/^/postgres $label: /" || { psql -q "$url" -c "DROP SCHEMA $schema CASCADE"; exit 1; }
  psql -q "$url" -c "DROP SCHEMA $schema CASCADE"
}

run_postgres() {
  pg_run kill --kill-after 1000
  for i in $(seq 1 "$runs"); do pg_run "measure$i" --dashboard-hosts 10000; done
}

run_two() {
  for i in $(seq 1 "$runs"); do pg_run "two$i" --collectors 2; done
}

run_restart() {
  pg_run restart --pg-restart-after 1000 \
    --pg-restart-cmd "${PG_RESTART_CMD:-pg_ctlcluster 15 main restart}"
}

case "$which" in
  sqlite) run_sqlite ;;
  postgres) run_postgres ;;
  two) run_two ;;
  restart) run_restart ;;
  all) run_sqlite; run_postgres; run_two ;;
  *) echo "usage: bench/serve.sh [sqlite|postgres|two|restart|all]" >&2; exit 2 ;;
esac
echo "load after: $(cat /proc/loadavg)"
