#!/usr/bin/env bash
# The directive page and the roll-up export of a 100,000-host directive, on SQLite and on
# PostgreSQL (bench/directive_page.py does the work; see its header for the data mix).
#
#   bench/directive_page.sh [sqlite|postgres|all] [HOSTS]
#
# Needs: a ferret binary ($FERRET, else $CARGO_TARGET_DIR/release/ferret, else
# target/release/ferret), python3, and for PostgreSQL psql and FERRET_BENCH_POSTGRES_URL (a
# database on loopback; a schema is created and dropped). With FERRET_BASELINE naming a
# ferret binary built from before the paginated page, the same data is loaded for it too and
# its one-page roll-up is timed in the same run. Only loopback addresses are used.
set -euo pipefail
cd "$(dirname "$0")/.."
target="${CARGO_TARGET_DIR:-target}"
ferret="${FERRET:-$target/release/ferret}"
[ -x "$ferret" ] || { echo "build first: cargo build --release --workspace --locked (or set FERRET)" >&2; exit 2; }
which="${1:-all}"
hosts="${2:-100000}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$work/admin-token"
echo "ferret: $ferret ($(stat -c %s "$ferret") bytes)"
echo "load before: $(cat /proc/loadavg)"

run_sqlite() {
  python3 bench/directive_page.py --ferret "$ferret" --db "sqlite:$work/page.db" \
    --admin-token-file "$work/admin-token" --hosts "$hosts" | sed "s/^/sqlite: /"
  if [ -n "${FERRET_BASELINE:-}" ]; then
    python3 bench/directive_page.py --ferret "$FERRET_BASELINE" --db "sqlite:$work/base.db" \
      --admin-token-file "$work/admin-token" --hosts "$hosts" --runs 3 | sed "s/^/sqlite baseline: /"
  fi
}

run_postgres() {
  pg_one "$ferret" "postgres" 5
  if [ -n "${FERRET_BASELINE:-}" ]; then pg_one "$FERRET_BASELINE" "postgres baseline" 3; fi
}

pg_one() {
  url="${FERRET_BENCH_POSTGRES_URL:?set FERRET_BENCH_POSTGRES_URL, e.g. postgres://postgres@127.0.0.1:5432/test}"
  schema="ferret_bench_page_$$_$3"
  psql -q "$url" -c "CREATE SCHEMA $schema"
  sep='?'; case "$url" in *\?*) sep='&';; esac
  db="${url}${sep}options=-c%20search_path%3D${schema}"
  python3 bench/directive_page.py --ferret "$1" --db "$db" --pg-url "$url" --pg-schema "$schema" \
    --admin-token-file "$work/admin-token" --hosts "$hosts" --runs "$3" | sed "s/^/$2: /" \
    || { psql -q "$url" -c "SET client_min_messages = warning; DROP SCHEMA $schema CASCADE"; exit 1; }
  psql -q "$url" -c "SET client_min_messages = warning; DROP SCHEMA $schema CASCADE"
}

case "$which" in
  sqlite) run_sqlite ;;
  postgres) run_postgres ;;
  all) run_sqlite; run_postgres ;;
  *) echo "usage: bench/directive_page.sh [sqlite|postgres|all] [HOSTS]" >&2; exit 2 ;;
esac
echo "load after: $(cat /proc/loadavg)"
