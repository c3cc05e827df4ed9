#!/usr/bin/env bash
# The HTTP tile endpoint under load on loopback (issue 6: >= 5,000 tiles/s, p99 <= 20 ms).
#
#   bash benches/tiles_load.sh            # about 3 minutes; needs wrk (Debian package wrk)
#
# Generates the benchmark city (seed 42: 1M merchants, 1,600 + 400 outlets, 20,000
# communities) into a fresh SQLite file, starts `ecomap serve` on it, and runs wrk against the
# merchants z14 tiles around every outlet, round-robin, as an administrator with a bearer
# token (every request authenticates and builds its tile: no response cache; the server has
# no tile cache for merchants). wrk and the server share the machine's 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v wrk >/dev/null || { echo "wrk is required: apt-get install wrk" >&2; exit 1; }
LAYER="${LAYER:-merchants}"
ZOOM="${ZOOM:-14}"
DURATION="${DURATION:-20s}"
CONNECTIONS="${CONNECTIONS:-32}"
PORT="${PORT:-18431}"
cargo build --release --locked -q
BIN=target/release/ecomap
WORK="$(mktemp -d)"
trap 'kill "${SERVER:-0}" 2>/dev/null || true; rm -rf "$WORK"' EXIT
DB="$WORK/city.sqlite"
echo "generating the city into $DB ..."
/usr/bin/time -f "  gen: %e s" "$BIN" gen --db "$DB" --seed 42 --merchants 1000000 --outlets 1600 \
  --competitors 400 --communities 20000 >/dev/null
echo bench-password-1 | "$BIN" user add --db "$DB" --role admin --password-stdin bench >/dev/null
TOKEN="$("$BIN" token create --db "$DB" --user bench 2>/dev/null | tail -n1)"
"$BIN" serve --db "$DB" --bind "127.0.0.1:$PORT" >"$WORK/serve.log" 2>&1 &
SERVER=$!
for _ in $(seq 1 120); do curl -sf "http://127.0.0.1:$PORT/api/health" >/dev/null && break; sleep 1; done
AUTH="Authorization: Bearer $TOKEN"
# The tiles: zoom $ZOOM over every outlet.
curl -sf -H "$AUTH" "http://127.0.0.1:$PORT/api/outlets?limit=2000" | python3 -c "
import json, math, sys
z = int(sys.argv[1]); layer = sys.argv[2]
seen = set()
for f in json.load(sys.stdin)['features']:
    lon, lat = f['geometry']['coordinates']
    n = 2 ** z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.log(math.tan(math.radians(lat)) + 1 / math.cos(math.radians(lat))) / math.pi) / 2 * n)
    seen.add(f'/tiles/{layer}/{z}/{x}/{y}.mvt')
print('\n'.join(sorted(seen)))
" "$ZOOM" "$LAYER" >"$WORK/paths.txt"
echo "$(wc -l <"$WORK/paths.txt") distinct $LAYER z$ZOOM tiles"
# Warm up: the first tile builds the Z-order copy of the merchants.
/usr/bin/time -f "  first tile (builds the Z-order copy): %e s" curl -sf -o /dev/null -H "$AUTH" \
  "http://127.0.0.1:$PORT$(head -n1 "$WORK/paths.txt")"
cat >"$WORK/tiles.lua" <<LUA
local paths = {}
for line in io.lines("$WORK/paths.txt") do paths[#paths + 1] = line end
local i = 0
wrk.headers["Authorization"] = "Bearer $TOKEN"
request = function()
  i = i % #paths + 1
  return wrk.format("GET", paths[i])
end
LUA
wrk -t2 -c"$CONNECTIONS" -d5s -s "$WORK/tiles.lua" "http://127.0.0.1:$PORT" >/dev/null
wrk -t2 -c"$CONNECTIONS" -d"$DURATION" --latency -s "$WORK/tiles.lua" "http://127.0.0.1:$PORT"
