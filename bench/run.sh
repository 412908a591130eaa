#!/usr/bin/env bash
# Side-by-side benchmark: dothi, the peers (tipg, pygeoapi) and raw PostGIS on the
# harness city, same rows, same box, same run. See bench/README.md.
#   bench/run.sh [--scale] [bench.py run args...]
# Environment: BENCH_WORK=DIR (kept and reused: cluster, city, venvs, results),
# PGPORT (55432), DOTHI_BENCH_PORT (18090), PEERS ("tipg pygeoapi"; "" for none),
# BENCH_KEEP_PG=1 (leave the cluster running at the end).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
harness=${HARNESS:-$(cd "$top/../shared/bench" && pwd)}
if [ -n "${BENCH_WORK:-}" ]; then work=$BENCH_WORK; own_work=0; mkdir -p "$work"
else work=$(mktemp -d "${TMPDIR:-/tmp}/dothi-bench.XXXXXX"); own_work=1; fi
chmod 711 "$work"  # the postgres OS user reaches $work/pgdata (pg_cluster.sh as root)
src=parcels
scale=0
if [ "${1:-}" = "--scale" ]; then src=parcels_2m; scale=1; shift; fi
pgport=${PGPORT:-55432}
dsn="postgresql://postgres@127.0.0.1:$pgport/city"
port=${DOTHI_BENCH_PORT:-18090}
server=""
pg_started=0

cleanup() {
  if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
  if [ "$pg_started" = 1 ] && [ "${BENCH_KEEP_PG:-0}" != 1 ]; then
    "$harness/pg_cluster.sh" stop "$work/pgdata" || true
  fi
  if [ "$own_work" = 1 ]; then
    mkdir -p "$here/results"
    cp "$work"/results.* "$here/results/" 2>/dev/null || true
    [ "${BENCH_KEEP_PG:-0}" = 1 ] && echo "cluster left running in $work" || rm -rf "$work"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# 1. the harness's cluster and city, made here from its parts: no workload runs yet,
#    nothing lands in results.jsonl, and the cluster stays up for step 2
if [ -f "$work/pgdata/postmaster.pid" ] \
  && kill -0 "$(head -1 "$work/pgdata/postmaster.pid")" 2>/dev/null; then
  echo "cluster already running in $work/pgdata"
else
  if (exec 3<>"/dev/tcp/127.0.0.1/$pgport") 2>/dev/null; then
    echo "port $pgport in use (set PGPORT)" >&2; exit 1
  fi
  "$harness/pg_cluster.sh" start "$work/pgdata" "$pgport" >/dev/null
  pg_started=1
fi
admin="postgresql://postgres@127.0.0.1:$pgport/postgres"
psql -q "$admin" -tAc "SELECT 1 FROM pg_database WHERE datname = 'city'" | grep -q 1 \
  || psql -q "$admin" -c "CREATE DATABASE city"
psql -q "$dsn" -c "CREATE EXTENSION IF NOT EXISTS postgis" \
  -c "CREATE EXTENSION IF NOT EXISTS pg_stat_statements"
psql -q "$dsn" -tAc "SELECT 1 FROM parcels LIMIT 1" 2>/dev/null | grep -q 1 \
  || "$harness/gen_city.sh" "$dsn"
if [ "$scale" = 1 ] && ! psql -q "$dsn" -tAc "SELECT 1 FROM parcels_2m LIMIT 1" \
  2>/dev/null | grep -q 1; then
  psql -q "$dsn" -f "$harness/gen_scale.sql"
fi

# 2. dothi's schema and the same rows in dothi's layers (again only when they differ)
DOTHI_DB__URL="$dsn" uv run --project "$top" dothi db upgrade
same=$(psql -q "$dsn" -tAc "SELECT (SELECT count(*) FROM land_parcel) = (SELECT count(*) FROM $src)
  AND (SELECT count(*) FROM tree) = (SELECT count(*) FROM trees)")
[ "$same" = t ] || psql "$dsn" -q -v src="$src" -f "$here/load_city.sql"

# 3. dothi with 2 workers, then the harness with dothi as more targets: `dothi` serves
#    the parcels workloads, `dothi_trees` (same server) the trees tiles, and neither
#    is run on a workload of another layer or of another table size than the one
#    loaded (bench.py fills {table} with its own table names, not dothi's)
python3 - "$harness/targets.json" "$here/templates.json" > "$work/templates.json" <<'PY'
import json, sys
merged = json.load(open(sys.argv[1])); merged.update(json.load(open(sys.argv[2])))
print(json.dumps(merged))
PY
skip=dothi:f_trees_z16,dothi_trees:d_tile_z15,dothi_trees:d_tile_z13
skip+=,dothi_trees:s_tile_z15_2m
if [ "$scale" = 1 ]; then
  for w in a_bbox100 b_bbox1000 c_item d_tile_z15 d_tile_z13 e_filter e2_filter_eq; do
    skip+=",dothi:$w"
  done
else
  skip+=,dothi:s_bbox100_2m,dothi:s_tile_z15_2m
fi
# one address sends every request: the anonymous limit stays on (its cost is measured)
# but far above the load
# (the venv's uvicorn itself, so that $server is the process to stop; `uv run` above
# synced the venv)
DOTHI_DB__URL="$dsn" DOTHI_DB__POOL_SIZE=10 DOTHI_LIMITS__ANONYMOUS_RATE_PER_S=1e9 \
  DOTHI_LIMITS__ANONYMOUS_BURST=1000000000 "$top/.venv/bin/uvicorn" --factory \
  api.app:app_from_env --host 127.0.0.1 --port "$port" --workers 2 --log-level warning &
server=$!
up=0
for _ in $(seq 150); do
  if curl -sf "http://127.0.0.1:$port/" >/dev/null; then up=1; break; fi
  sleep 0.2
done
[ "$up" = 1 ] || { echo "dothi did not start on port $port" >&2; exit 1; }
BENCH_WORK=$work BENCH_KEEP=1 "$harness/run_peers.sh" \
  --target "dothi=http://127.0.0.1:$port" --target "dothi_trees=http://127.0.0.1:$port" \
  --templates "$work/templates.json" --skip "$skip" "$@"
