#!/usr/bin/env bash
# Load, reliability and dashboard benchmark of `ferret serve`, on SQLite and on PostgreSQL.
#
#   bench/serve.sh [sqlite|postgres|all]
#
# For each backend: 2,000 simulated hosts (8 concurrent clients) each upload one gzip JSONL
# report with 100 findings; the collector is SIGKILLed and restarted after 1,000
# acknowledged uploads; unacknowledged uploads are resent with the same run id. The
# database is then checked: 2,000 runs, 2,000 distinct run ids, 200,000 findings. A second
# pass without the kill measures ingest rate and latency, and the directive page for a
# 10,000-host directive is timed (10 requests; median and max).
#
# Needs: a release build (cargo build --release -p ferret-cli --no-default-features),
# python3, sqlite3, and for PostgreSQL psql and FERRET_BENCH_POSTGRES_URL (a database on
# loopback; a schema is created and dropped). Only loopback addresses are used.
set -euo pipefail
cd "$(dirname "$0")/.."
target="${CARGO_TARGET_DIR:-target}"
ferret="$target/release/ferret"
[ -x "$ferret" ] || { echo "build first: cargo build --release -p ferret-cli --no-default-features" >&2; exit 2; }
which="${1:-all}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$work/admin-token"
echo "load: $(uptime)"

run_sqlite() {
  for mode in kill measure; do
    db="$work/$mode.db"
    extra=()
    if [ "$mode" = kill ]; then extra=(--kill-after 1000); else extra=(--dashboard-hosts 10000); fi
    python3 bench/serve_load.py --ferret "$ferret" --db "sqlite:$db" \
      --admin-token-file "$work/admin-token" --hosts 2000 --findings 100 --workers 8 "${extra[@]}" \
      --check-cmd "sqlite3 $db 'SELECT (SELECT COUNT(*) FROM runs), (SELECT COUNT(*) FROM findings), (SELECT COUNT(DISTINCT run_id) FROM runs)' | tr '|' ' '" \
      | sed "s/^/sqlite $mode: /"
  done
}

run_postgres() {
  url="${FERRET_BENCH_POSTGRES_URL:?set FERRET_BENCH_POSTGRES_URL, e.g. postgres://postgres@127.0.0.1:5432/test}"
  for mode in kill measure; do
    schema="ferret_bench_${mode}_$$"
    psql -q "$url" -c "CREATE SCHEMA $schema"
    sep='?'; case "$url" in *\?*) sep='&';; esac
    db="${url}${sep}options=-c%20search_path%3D${schema}"
    extra=()
    if [ "$mode" = kill ]; then extra=(--kill-after 1000); else extra=(--dashboard-hosts 10000); fi
    python3 bench/serve_load.py --ferret "$ferret" --db "$db" \
      --admin-token-file "$work/admin-token" --hosts 2000 --findings 100 --workers 8 "${extra[@]}" \
      --check-cmd "psql -At '$url' -c 'SELECT (SELECT COUNT(*) FROM $schema.runs), (SELECT COUNT(*) FROM $schema.findings), (SELECT COUNT(DISTINCT run_id) FROM $schema.runs)' | tr '|' ' '" \
      | sed "s/^/postgres $mode: /" || { psql -q "$url" -c "DROP SCHEMA $schema CASCADE"; exit 1; }
    psql -q "$url" -c "DROP SCHEMA $schema CASCADE"
  done
}

case "$which" in
  sqlite) run_sqlite ;;
  postgres) run_postgres ;;
  all) run_sqlite; run_postgres ;;
  *) echo "usage: bench/serve.sh [sqlite|postgres|all]" >&2; exit 2 ;;
esac
echo "load after: $(uptime)"
