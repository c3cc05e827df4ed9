#!/usr/bin/env bash
# The peer benchmark (issue 10): ecomap against PostGIS, GeoPandas/shapely, h3-py, Martin, VROOM
# and OR-tools on the same generated data, the same work, in one run. Not run by CI.
#
#   bash benches/peers/run.sh [--merchants N] [--quick] [--budget S] [--skip-http] [--gen-args "..."]
#
#   --merchants N   merchants to generate (default 10,000,000; --quick: 100,000). Our outlets are
#                   N / 2,000 (at least 200), competitors a fifth of that, communities 3% of N.
#   --quick         small sizes and short loops: a smoke run of a few minutes.
#   --budget S      seconds any one peer loop may run before it stops and its figure is
#                   extrapolated from what it did (default 60; --quick: 20).
#   --skip-http     leave out the HTTP rows (ecomap serve, wrk, pgbench, Martin).
#   --http-only     only the HTTP rows, keeping the other rows' results of an earlier run.
#   --gen-args "…"  more arguments for `ecomap gen` (e.g. a preset, once the generator has one).
#   PEERS_NO_BUILD=1 (environment): use the binaries built before instead of building.
#
# Installs what is missing (wrk and PostGIS from Debian, a venv under target/peers-venv from PyPI,
# Martin 1.14 from crates.io into target/peers-bin), generates the data once into
# target/peers/<tag>/data with `ecomap gen --out`, then runs ecomap's side (cargo bench --bench
# peers), each peer, and prints the table; results in target/peers/<tag>/results.{md,json}.
# Everything runs on loopback: PostgreSQL at 127.0.0.1:5432 (database ecomap_peers, dropped and
# made anew), ecomap and Martin on ports 18441/18442. See docs/PEERS_BENCHMARK.md.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT="$PWD"

MERCHANTS=""
QUICK=0
BUDGET=""
SKIP_HTTP=0
HTTP_ONLY=0
GEN_ARGS=""
while [ $# -gt 0 ]; do
  case "$1" in
    --merchants) MERCHANTS="$2"; shift 2 ;;
    --quick) QUICK=1; shift ;;
    --budget) BUDGET="$2"; shift 2 ;;
    --skip-http) SKIP_HTTP=1; shift ;;
    --http-only) HTTP_ONLY=1; shift ;;
    --gen-args) GEN_ARGS="$2"; shift 2 ;;
    -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
    *) echo "unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
if [ "$QUICK" = 1 ]; then
  MERCHANTS="${MERCHANTS:-100000}"; BUDGET="${BUDGET:-20}"; DURATION=8s; ORTOOLS_S=1; QFLAG=--quick
else
  MERCHANTS="${MERCHANTS:-10000000}"; BUDGET="${BUDGET:-60}"; DURATION=20s; ORTOOLS_S=2; QFLAG=
fi
OURS=$(( MERCHANTS / 2000 )); [ "$OURS" -lt 200 ] && OURS=200
COMP=$(( OURS / 5 ))
COMM=$(( MERCHANTS * 3 / 100 )); [ "$COMM" -lt 1000 ] && COMM=1000
TAG="m${MERCHANTS}${GEN_ARGS:+-$(echo "$GEN_ARGS" | tr -c 'a-zA-Z0-9' '_')}"
WORK="$ROOT/target/peers/$TAG"
DATA="$WORK/data"
DSN="postgresql://postgres@127.0.0.1:5432/ecomap_peers"
PORT_E=18441
PORT_M=18442
VENV="$ROOT/target/peers-venv"
PY="$VENV/bin/python"
MARTIN="$ROOT/target/peers-bin/bin/martin"
mkdir -p "$WORK"
rm -f "$WORK/load.txt"
# Each step prints (and load.txt keeps) the 1-minute load average: the machine has 2 cores, so
# figures taken at a load well above 2 had other work competing with them.
step() {
  local load; load="$(cut -d' ' -f1 /proc/loadavg)"
  echo; echo "=== $* ($(date +%T), load $load)"
  local label="${1%%[:(]*}"
  echo "${label:0:40}" | tr -s ' ' | sed "s/ *$/ $load/" >>"$WORK/load.txt"
}

# ---- 1. Tools ------------------------------------------------------------------------------
step "checking the tools"
need_apt=()
command -v wrk >/dev/null || need_apt+=(wrk)
command -v pgbench >/dev/null || need_apt+=(postgresql-contrib)
dpkg -s postgresql-15-postgis-3 >/dev/null 2>&1 || need_apt+=(postgresql-15-postgis-3)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "apt-get install ${need_apt[*]}"
  apt-get update -qq && apt-get install -y -qq "${need_apt[@]}"
fi
pg_isready -h 127.0.0.1 -p 5432 -q || {
  echo "PostgreSQL is not answering on 127.0.0.1:5432; starting the local cluster"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql)" main start
}
if ! [ -x "$PY" ] || ! "$PY" -c 'import geopandas, shapely, vroom, ortools, h3, psycopg, pyarrow' 2>/dev/null; then
  echo "making the venv $VENV (PyPI: geopandas shapely pyvroom ortools h3 psycopg pyarrow)"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q --upgrade pip
  "$VENV/bin/pip" install -q geopandas shapely pyvroom ortools h3 "psycopg[binary]" pyarrow
fi
if ! [ -x "$MARTIN" ]; then
  echo "cargo install martin 1.14.0 (postgres only) into target/peers-bin (about 10 minutes)"
  cargo install martin@1.14.0 --locked --no-default-features --features postgres \
    --root "$ROOT/target/peers-bin"
fi
"$PY" -c 'import vroom, ortools, geopandas, shapely, h3; print("python peers: geopandas", geopandas.__version__, "shapely", shapely.__version__, "ortools", ortools.__version__, "h3", h3.__version__)'
"$MARTIN" --version
psql -h 127.0.0.1 -U postgres -tAc "SELECT version()" postgres | cut -c1-40

# ---- 2. Build ------------------------------------------------------------------------------
BIN="$ROOT/target/release/ecomap"
if [ "${PEERS_NO_BUILD:-0}" = 1 ]; then
  # For a tree that does not build at the moment (others editing it): the last built binaries.
  step "PEERS_NO_BUILD=1: using the binaries built before"
  BENCH_BIN="$(ls -t "$ROOT"/target/release/deps/peers-* 2>/dev/null | grep -v '\.d$' | head -n1)"
  [ -x "$BIN" ] && [ -x "$BENCH_BIN" ] || { echo "no built binaries to use" >&2; exit 1; }
else
  step "building ecomap (release) and the peers bench"
  cargo build --release --locked -q
  cargo bench --bench peers --no-run -q 2>/dev/null || cargo bench --bench peers --no-run
  BENCH_BIN=""
fi

# ---- 3. The data, generated once -----------------------------------------------------------
GEN=(--seed 42 --merchants "$MERCHANTS" --outlets "$OURS" --competitors "$COMP" --communities "$COMM")
# shellcheck disable=SC2206
GEN+=($GEN_ARGS)
if ! [ -f "$DATA/.done" ]; then
  step "ecomap gen ${GEN[*]} --out $DATA"
  rm -rf "$DATA"
  /usr/bin/time -f "  gen: %e s, %M KB peak" "$BIN" gen "${GEN[@]}" --out "$DATA"
  echo "${GEN[*]}" >"$DATA/.done"
else
  echo "data: reusing $DATA ($(cat "$DATA/.done"))"
fi
ls -la "$DATA"

if [ "$HTTP_ONLY" = 0 ]; then
# ---- 4. ecomap's side ----------------------------------------------------------------------
step "ecomap (cargo bench --bench peers)"
if [ -n "$BENCH_BIN" ]; then
  "$BENCH_BIN" --bench --data "$DATA" --work "$WORK" $QFLAG
else
  cargo bench -q --bench peers -- --data "$DATA" --work "$WORK" $QFLAG
fi

# ---- 5. The peers that need no server of ours ----------------------------------------------
step "PostGIS: load the same files"
"$PY" benches/peers/peers.py postgis-load --data "$DATA" --work "$WORK" --dsn "$DSN"
step "PostGIS: the same queries (server-side timing)"
"$PY" benches/peers/peers.py postgis --work "$WORK" --dsn "$DSN" --budget "$BUDGET"
step "GeoPandas / shapely and h3-py"
"$PY" benches/peers/peers.py geopandas --data "$DATA" --work "$WORK" --budget "$BUDGET"
step "routes: VROOM and OR-tools on ecomap's instances"
"$PY" benches/peers/peers.py routes --work "$WORK" --ortools-s "$ORTOOLS_S"
else
  [ -f "$WORK/ecomap.json" ] && [ -f "$WORK/tiles.txt" ] || { echo "--http-only needs an earlier full run of this size" >&2; exit 1; }
  # The PostGIS database holds the last size loaded (any run drops and reloads it).
  LOADED="$(psql -h 127.0.0.1 -U postgres -tAc "SELECT count(*) FROM merchants" ecomap_peers 2>/dev/null || echo 0)"
  [ "$LOADED" = "$MERCHANTS" ] || { echo "ecomap_peers holds $LOADED merchants, not $MERCHANTS: run without --http-only" >&2; exit 1; }
fi

# ---- 6. HTTP: ecomap serve vs pgbench (nearby) and vs Martin (tiles) -------------------------
if [ "$SKIP_HTTP" = 0 ]; then
  SERVER=""
  cleanup() { [ -n "$SERVER" ] && kill "$SERVER" 2>/dev/null || true; }
  trap cleanup EXIT
  wait_http() { for _ in $(seq 1 600); do curl -sf -o /dev/null "$1" && return 0; sleep 1; done; echo "no answer from $1" >&2; return 1; }
  rm -f "$WORK/http.json"
  DB="$WORK/ecomap.sqlite"
  if ! [ -s "$WORK/token" ] || ! [ -f "$DB" ]; then
    step "ecomap gen into $DB (the same generator arguments: the same city, not rounded to the CSV's 7 decimals)"
    rm -f "$DB" "$DB"-* "$WORK/token"
    # The user and token first, while the database is empty: every CLI command loads the whole
    # index, which at 10M merchants takes minutes and ~10 GB.
    echo peers-bench-password-1 | "$BIN" --db "$DB" user add --role admin --password-stdin peers >/dev/null
    "$BIN" --db "$DB" token create --user peers 2>/dev/null | tail -n1 >"$WORK/token.new"
    [ -s "$WORK/token.new" ] || { echo "ecomap token create printed no token" >&2; exit 1; }
    /usr/bin/time -f "  gen into SQLite: %e s" "$BIN" --db "$DB" gen "${GEN[@]}" >/dev/null
    mv "$WORK/token.new" "$WORK/token"
  fi
  TOKEN="$(cat "$WORK/token")"
  step "ecomap serve on 127.0.0.1:$PORT_E"
  "$BIN" --db "$DB" serve --bind "127.0.0.1:$PORT_E" >"$WORK/serve.log" 2>&1 &
  SERVER=$!
  wait_http "http://127.0.0.1:$PORT_E/api/health"
  "$PY" - "$WORK" <<'PY'
import json, sys
w = sys.argv[1]
eco = json.load(open(f"{w}/ecomap.json"))
open(f"{w}/nearby_paths.txt", "w").write("".join(
    f"/api/outlets/{o}/nearby?radius_m=500&limit=20\n" for o in eco["outlets_in_order"]))
tiles = [l.split()[0] for l in open(f"{w}/tiles.txt")]
open(f"{w}/tiles_ecomap.txt", "w").write("".join(f"/tiles/merchants/{t}.mvt\n" for t in tiles))
open(f"{w}/tiles_martin.txt", "w").write("".join(f"/merchants_tiles/{t}\n" for t in tiles))
PY
  lua() {  # lua PATHS_FILE [TOKEN]: round-robin over the paths
    local auth=""
    [ -n "${2:-}" ] && auth="wrk.headers[\"Authorization\"] = \"Bearer $2\""
    cat <<LUA
local paths = {}
for line in io.lines("$1") do paths[#paths + 1] = line end
local i = 0
$auth
request = function()
  i = i % #paths + 1
  return wrk.format("GET", paths[i])
end
LUA
  }
  lua "$WORK/nearby_paths.txt" "$TOKEN" >"$WORK/nearby.lua"
  lua "$WORK/tiles_ecomap.txt" "$TOKEN" >"$WORK/tiles_ecomap.lua"
  lua "$WORK/tiles_martin.txt" >"$WORK/tiles_martin.lua"
  curl -sf -o /dev/null -H "Authorization: Bearer $TOKEN" \
    "http://127.0.0.1:$PORT_E$(head -n1 "$WORK/nearby_paths.txt")"
  # The first tile builds the Z-order copy of the merchants (once per data change).
  curl -sf -o /dev/null -H "Authorization: Bearer $TOKEN" \
    "http://127.0.0.1:$PORT_E$(head -n1 "$WORK/tiles_ecomap.txt")"
  step "wrk: ecomap nearby (500 m, 20 nearest), 2 threads x 32 connections, $DURATION"
  wrk -t2 -c32 -d3s -s "$WORK/nearby.lua" "http://127.0.0.1:$PORT_E" >/dev/null
  wrk -t2 -c32 -d"$DURATION" --latency -s "$WORK/nearby.lua" "http://127.0.0.1:$PORT_E" | tee "$WORK/wrk_nearby.txt"
  "$PY" benches/peers/peers.py http-add --work "$WORK" --key nearby.ecomap --file "$WORK/wrk_nearby.txt"
  step "wrk: ecomap z14 tiles, one connection (latency), then 2 threads x 16 connections"
  wrk -t1 -c1 -d"$DURATION" --latency -s "$WORK/tiles_ecomap.lua" "http://127.0.0.1:$PORT_E" | tee "$WORK/wrk_tiles_ecomap_1.txt"
  wrk -t2 -c16 -d"$DURATION" --latency -s "$WORK/tiles_ecomap.lua" "http://127.0.0.1:$PORT_E" | tee "$WORK/wrk_tiles_ecomap.txt"
  "$PY" benches/peers/peers.py http-add --work "$WORK" --key tiles1.ecomap --file "$WORK/wrk_tiles_ecomap_1.txt"
  "$PY" benches/peers/peers.py http-add --work "$WORK" --key tiles.ecomap --file "$WORK/wrk_tiles_ecomap.txt"
  kill "$SERVER"; wait "$SERVER" 2>/dev/null || true; SERVER=""

  step "Martin 1.14 from PostGIS (table merchants_tiles, EPSG:3857, GiST), --cache-size 0, on 127.0.0.1:$PORT_M"
  "$MARTIN" --listen-addresses "127.0.0.1:$PORT_M" --cache-size 0 --auto-bounds skip "$DSN" \
    >"$WORK/martin.log" 2>&1 &
  SERVER=$!
  wait_http "http://127.0.0.1:$PORT_M/catalog"
  curl -sf "http://127.0.0.1:$PORT_M/catalog" | head -c 400; echo
  curl -sf -o /dev/null -w "first Martin tile: %{http_code}, %{size_download} bytes\n" \
    "http://127.0.0.1:$PORT_M$(head -n1 "$WORK/tiles_martin.txt")"
  wrk -t1 -c1 -d"$DURATION" --latency -s "$WORK/tiles_martin.lua" "http://127.0.0.1:$PORT_M" | tee "$WORK/wrk_tiles_martin_1.txt"
  wrk -t2 -c16 -d"$DURATION" --latency -s "$WORK/tiles_martin.lua" "http://127.0.0.1:$PORT_M" | tee "$WORK/wrk_tiles_martin.txt"
  "$PY" benches/peers/peers.py http-add --work "$WORK" --key tiles1.martin --file "$WORK/wrk_tiles_martin_1.txt"
  "$PY" benches/peers/peers.py http-add --work "$WORK" --key tiles.martin --file "$WORK/wrk_tiles_martin.txt"
  kill "$SERVER"; wait "$SERVER" 2>/dev/null || true; SERVER=""

  step "pgbench: the nearby query in PostGIS, 32 clients, 2 threads, $DURATION"
  NOUT="$(wc -l <"$WORK/nearby_paths.txt")"
  K="$("$PY" -c 'print(((2*6378137.0+6356752.314245179)/3)/6371008.8)')"
  cat >"$WORK/nearby.sql" <<SQL
\\set i random(1, $NOUT)
SELECT m.id, m.name, m.category, m.status, ST_Distance(m.geog, o.geog, false) AS d, count(*) OVER () AS total
FROM merchants m, outlets o
WHERE o.n = :i AND ST_DWithin(m.geog, o.geog, 500 * $K, false)
ORDER BY d, m.id LIMIT 20;
SQL
  (cd "$WORK" && pgbench -n -h 127.0.0.1 -U postgres -c 32 -j 2 -T "${DURATION%s}" -M prepared \
    -f nearby.sql --log --log-prefix=pgbench_log ecomap_peers) | tee "$WORK/pgbench_nearby.txt"
  "$PY" benches/peers/peers.py http-add --work "$WORK" --kind pgbench --key nearby.pgbench --file "$WORK/pgbench_nearby.txt"
fi

# ---- 7. The table --------------------------------------------------------------------------
step "results ($WORK/results.md, results.json)"
"$PY" benches/peers/peers.py report --work "$WORK"
