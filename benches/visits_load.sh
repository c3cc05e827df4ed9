#!/usr/bin/env bash
# 200 concurrent visit-outcome posts against `ecomap serve` on loopback, on SQLite and on
# PostgreSQL (issue 7: all stored, none lost, p99 <= 50 ms).
#
#   bash benches/visits_load.sh               # about 2 minutes; BACKENDS="sqlite" for one
#
# For each backend: a fresh database with the Leshan demo, six members of staff (one per
# outlet) with API tokens, and the release server. Then ROUNDS rounds: each opens 200
# connections, and once all are open sends 200 posts at once (each a different client id,
# spread over the six staff and their merchants, all six outcomes), and times each from its
# first byte sent to its whole answer. Afterwards every post's client id must be in the stored
# visits exactly once and every answer a 201 with a distinct event id. The client is Python's
# asyncio (standard library only) on the same 2-core machine as the server.
# Then, if wrk is installed, a sustained run: 200 connections posting back to back for SUSTAINED
# (default 10s; 0 to skip), with every answer a 201 and every answered post stored.
# PostgreSQL: PGURL (default postgres://postgres@127.0.0.1:5432) gets a throwaway database.
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS="${ROUNDS:-10}"
CONCURRENCY="${CONCURRENCY:-200}"
PORT="${PORT:-18437}"
BACKENDS="${BACKENDS:-sqlite postgres}"
SUSTAINED="${SUSTAINED:-10s}"
PGURL="${PGURL:-postgres://postgres@127.0.0.1:5432}"
cargo build --release --locked -q
BIN="$PWD/target/release/ecomap"
WORK="$(mktemp -d)"
PGDB="ecomap_bench_visits_$$"
cleanup() {
  if [ -n "${SERVER:-}" ]; then kill "$SERVER" 2>/dev/null || true; fi
  psql "$PGURL/postgres" -qc "DROP DATABASE IF EXISTS $PGDB WITH (FORCE)" >/dev/null 2>&1 || true
  if [ -n "${KEEP_LOGS:-}" ]; then cp "$WORK"/serve-*.log "$KEEP_LOGS"/ 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

cat >"$WORK/load.py" <<'PY'
import asyncio, json, sys, time, uuid, urllib.request

port, rounds, n = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
tokens = json.loads(open(sys.argv[4]).read())  # {"staff": [...], "admin": "..."}
base = f"http://127.0.0.1:{port}"

def get(path, token):
    req = urllib.request.Request(base + path, headers={"Authorization": f"Bearer {token}"})
    return json.load(urllib.request.urlopen(req))

# Each member of staff posts about their own outlet's merchants.
mine = []
for t in tokens["staff"]:
    ids = [f["properties"]["id"] for f in get("/api/merchants?limit=2000", t)["features"]]
    mine.append((t, ids))
before = get("/api/visits?limit=1", tokens["admin"])["total"]
follow_up = time.strftime("%Y-%m-%d", time.localtime(time.time() + 7 * 86400))

def body(i):
    token, ids = mine[i % len(mine)]
    m = ids[(i // len(mine)) % len(ids)]
    kind = i % 6
    b = {"merchant_id": m, "client_id": str(uuid.uuid4()), "notes": "bench"}
    b["outcome"] = ["visited", "interested", "signed", "rejected", "closed", "not_found"][kind]
    if kind == 1:
        b["next_follow_up"] = follow_up
    if kind == 3:
        b["reason"] = "fees"
    return token, b

async def post(reader, writer, token, b):
    data = json.dumps(b).encode()
    head = (f"POST /api/visits HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n"
            f"Authorization: Bearer {token}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(data)}\r\n\r\n").encode()
    t0 = time.perf_counter()
    writer.write(head + data)
    await writer.drain()
    raw = await reader.read(-1)
    took = time.perf_counter() - t0
    writer.close()
    status = int(raw.split(b" ", 2)[1])
    answer = json.loads(raw.split(b"\r\n\r\n", 1)[1]) if status in (200, 201) else raw
    return status, took, answer

def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, max(0, int(round(p / 100 * len(xs) + 0.5)) - 1))]

async def main():
    all_lat, posted, event_ids = [], [], set()
    for r in range(rounds):
        conns = await asyncio.gather(*[asyncio.open_connection("127.0.0.1", port) for _ in range(n)])
        jobs = [body(r * n + i) for i in range(n)]
        t0 = time.perf_counter()
        res = await asyncio.gather(*[post(rd, wr, t, b) for (rd, wr), (t, b) in zip(conns, jobs)])
        wall = time.perf_counter() - t0
        bad = [(s, a) for s, _, a in res if s != 201]
        assert not bad, bad[:3]
        for _, _, a in res:
            event_ids.add(a["event"]["id"])
        lat = [t * 1000 for _, t, _ in res]
        all_lat += lat
        posted += [b["client_id"] for _, b in jobs]
        print(f"  round {r + 1:2}: {n} posts in {wall * 1000:6.1f} ms  p50 {pct(lat, 50):5.1f} ms  "
              f"p99 {pct(lat, 99):5.1f} ms  max {max(lat):5.1f} ms")
    # Everything stored, once.
    stored, offset = [], 0
    while True:
        page = get(f"/api/visits?limit=2000&offset={offset}", tokens["admin"])
        stored += [v["client_id"] for v in page["visits"]]
        offset += 2000
        if offset >= page["total"]:
            break
    assert page["total"] == before + len(posted), (page["total"], before, len(posted))
    assert len(event_ids) == len(posted)
    missing = set(posted) - set(stored)
    assert not missing and len(set(stored)) == len(stored), (len(missing), len(stored))
    print(f"  all {len(posted)} posts answered 201 and stored once; over all rounds: "
          f"p50 {pct(all_lat, 50):.1f} ms  p90 {pct(all_lat, 90):.1f} ms  "
          f"p99 {pct(all_lat, 99):.1f} ms  max {max(all_lat):.1f} ms")

asyncio.run(main())

# For the sustained run: a wrk script posting the same mix (unique client ids per thread).
lua = ["local staff = {"]
for t, ids in mine:
    lua.append('  {token = "%s", ids = {%s}},' % (t, ",".join('"%s"' % i for i in ids)))
lua.append("}")
lua.append('''
local n, id = 0, 0
local outcomes = {"visited", "interested", "signed", "rejected", "closed", "not_found"}
function setup(thread)
  id = id + 1
  thread:set("tid", id)
end
function request()
  n = n + 1
  local s = staff[n %% #staff + 1]
  local m = s.ids[math.floor(n / #staff) %% #s.ids + 1]
  local k = n %% 6 + 1
  local extra = ""
  if k == 2 then extra = ',"next_follow_up":"%s"' end
  if k == 4 then extra = ',"reason":"fees"' end
  local body = string.format('{"merchant_id":"%%s","outcome":"%%s","client_id":"wrk-%%s-%%d-%%d"%%s}',
    m, outcomes[k], "%s", tid or 0, n, extra)
  return wrk.format("POST", "/api/visits",
    {["Authorization"] = "Bearer " .. s.token, ["Content-Type"] = "application/json"}, body)
end
''' % (follow_up, uuid.uuid4().hex[:8]))
open(sys.argv[5], "w").write("\n".join(lua))
PY

for backend in $BACKENDS; do
  case "$backend" in
    sqlite) DB="$WORK/visits.sqlite" ;;
    postgres)
      psql "$PGURL/postgres" -qc "CREATE DATABASE $PGDB" >/dev/null
      DB="$PGURL/$PGDB" ;;
    *) echo "unknown backend $backend" >&2; exit 1 ;;
  esac
  echo "== $backend"
  "$BIN" demo --db "$DB" >/dev/null
  echo bench-admin-password | "$BIN" user add --db "$DB" --role admin --password-stdin vbadmin >/dev/null
  ADMIN="$("$BIN" token create --db "$DB" --user vbadmin 2>/dev/null | tail -n1)"
  STAFF=()
  for n in 1 2 3 4 5 6; do
    echo bench-staff-password | "$BIN" user add --db "$DB" --role staff --org "OUT0$n" \
      --password-stdin "vbstaff$n" >/dev/null
    STAFF+=("\"$("$BIN" token create --db "$DB" --user "vbstaff$n" 2>/dev/null | tail -n1)\"")
  done
  (IFS=,; echo "{\"admin\": \"$ADMIN\", \"staff\": [${STAFF[*]}]}") >"$WORK/tokens.json"
  RUST_LOG="${RUST_LOG:-info}" ECOMAP_WEB_DIR=/nonexistent "$BIN" serve --db "$DB" --bind "127.0.0.1:$PORT" \
    >"$WORK/serve-$backend.log" 2>&1 &
  SERVER=$!
  for _ in $(seq 1 120); do curl -sf "http://127.0.0.1:$PORT/api/health" >/dev/null && break; sleep 0.5; done
  python3 "$WORK/load.py" "$PORT" "$ROUNDS" "$CONCURRENCY" "$WORK/tokens.json" "$WORK/posts.lua"
  if command -v wrk >/dev/null && [ "$SUSTAINED" != 0 ]; then
    # Sustained: 200 connections posting back to back for $SUSTAINED (wrk, C; the same mix).
    BEFORE="$(curl -sf -H "Authorization: Bearer $ADMIN" "http://127.0.0.1:$PORT/api/visits?limit=1" |
      python3 -c 'import json,sys; print(json.load(sys.stdin)["total"])')"
    wrk -t2 -c"$CONCURRENCY" -d"$SUSTAINED" --latency -s "$WORK/posts.lua" \
      "http://127.0.0.1:$PORT" >"$WORK/wrk.txt"
    sleep 1
    AFTER="$(curl -sf -H "Authorization: Bearer $ADMIN" "http://127.0.0.1:$PORT/api/visits?limit=1" |
      python3 -c 'import json,sys; print(json.load(sys.stdin)["total"])')"
    python3 - "$WORK/wrk.txt" "$BEFORE" "$AFTER" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
before, after = int(sys.argv[2]), int(sys.argv[3])
done = int(re.search(r"(\d+) requests in", text).group(1))
bad = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
errors = re.search(r"Socket errors: .*", text)
lat = dict(re.findall(r"^\s+(50|75|90|99)%\s+(\S+)", text, re.M))
rate = re.search(r"Requests/sec:\s+(\S+)", text).group(1)
stored = after - before
print(f"  sustained, 200 connections: {done} posts answered, {rate}/s, "
      f"p50 {lat['50']}  p90 {lat['90']}  p99 {lat['99']}; non-2xx: {bad.group(1) if bad else 0}; "
      f"{errors.group(0) if errors else 'no socket errors'}")
# wrk stops at its deadline with posts in flight: those may be stored without being counted.
assert not bad, "every answer was a 201"
assert done <= stored <= done + 200, (done, stored)
print(f"  stored {stored} (answered {done}; the rest were in flight when wrk stopped)")
PY
  fi
  kill "$SERVER"; wait "$SERVER" 2>/dev/null || true
  SERVER=
done
