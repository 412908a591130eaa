#!/usr/bin/env bash
# Side-by-side benchmark: dothi, the peers (tipg, pygeoapi) and raw PostGIS on the
# harness city, same rows, same box, same run. See bench/README.md.
#   bench/run.sh [--scale] [bench.py args...]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
harness=${HARNESS:-$top/../shared/bench}
work=${BENCH_WORK:-$(mktemp -d /tmp/dothi-bench.XXXXXX)}
src=parcels
if [ "${1:-}" = "--scale" ]; then src=parcels_2m; export SCALE=1; shift; fi
export BENCH_WORK=$work
pgport=${PGPORT:-55432}
dsn="postgresql://postgres@127.0.0.1:$pgport/city"
port=${DOTHI_BENCH_PORT:-18090}

# 1. the harness's cluster and city (kept in $work); no server measured yet
if ! psql "$dsn" -Atc "SELECT 1 FROM $src LIMIT 1" >/dev/null 2>&1; then
  PEERS="" QUICK=1 "$harness/run_peers.sh" --workloads c_item >/dev/null
fi
# 2. dothi's schema and the same rows in dothi's layers
DOTHI_DB__URL="$dsn" uv run --project "$top" dothi db upgrade
psql "$dsn" -q -v src="$src" -f "$here/load_city.sql"
# 3. dothi with 2 workers, then the harness with dothi as one more target
python3 - "$harness/targets.json" "$here/templates.json" > "$work/templates.json" <<'PY'
import json, sys
merged = json.load(open(sys.argv[1])); merged.update(json.load(open(sys.argv[2])))
print(json.dumps(merged))
PY
# one address sends every request: the anonymous limit stays on (its cost is measured)
# but far above the load
DOTHI_DB__URL="$dsn" DOTHI_DB__POOL_SIZE=10 DOTHI_LIMITS__ANONYMOUS_RATE_PER_S=1e9 \
  DOTHI_LIMITS__ANONYMOUS_BURST=1000000000 uv run --project "$top" uvicorn --factory \
  api.app:app_from_env --host 127.0.0.1 --port "$port" --workers 2 --log-level warning &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/" >/dev/null && break; sleep 0.2; done
"$harness/run_peers.sh" --target "dothi=http://127.0.0.1:$port" \
  --templates "$work/templates.json" "$@"
