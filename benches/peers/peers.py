"""The peers' side of the peer benchmark (issue 10): PostGIS, GeoPandas/shapely, h3-py, VROOM and
OR-tools, on the same files `ecomap gen --out DIR` wrote and with the same questions that
benches/peers.rs asks ecomap (our outlets in file order, the same radii, the same route instances).

Run by benches/peers/run.sh inside its venv; each subcommand writes one JSON file under the work
directory, and `report` merges them into the table. See docs/PEERS_BENCHMARK.md.

    python peers.py postgis-load --data DIR --work DIR --dsn DSN
    python peers.py postgis      --work DIR --dsn DSN [--budget S]
    python peers.py geopandas    --data DIR --work DIR [--budget S]
    python peers.py routes       --work DIR [--ortools-s S]
    python peers.py report       --work DIR
"""

import argparse
import csv
import json
import math
import os
import sys
import time
from pathlib import Path

import numpy as np

# ecomap's sphere (src/index/sphere.rs) and PostGIS's use_spheroid = false sphere, (2a + b) / 3
# of WGS-84. PostGIS is asked for r * R_PG / R_ECOMAP so that "within r" means the same angle
# (tests/integration/postgis.rs does the same).
R_ECOMAP = 6_371_008.8
R_PG = (2 * 6_378_137.0 + 6_356_752.314245179) / 3
K = R_PG / R_ECOMAP


def log(*a):
    print("peers:", *a, file=sys.stderr, flush=True)


def dump(work, name, obj):
    Path(work, name).write_text(json.dumps(obj, indent=1))


def pct(values, p):
    v = sorted(values)
    if not v:
        return float("nan")
    return v[int(round((len(v) - 1) * p))]


# ---- GCJ-02 -> WGS-84, as src/geo/crs.rs does it (fixed-point iteration to < 1e-10 deg). -------

A = 6_378_245.0
EE = 0.006_693_421_622_965_943


def _t_lat(x, y):
    r = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * np.sqrt(np.abs(x))
    r += (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
    r += (20.0 * np.sin(y * np.pi) + 40.0 * np.sin(y / 3.0 * np.pi)) * 2.0 / 3.0
    r += (160.0 * np.sin(y / 12.0 * np.pi) + 320.0 * np.sin(y * np.pi / 30.0)) * 2.0 / 3.0
    return r


def _t_lon(x, y):
    r = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * np.sqrt(np.abs(x))
    r += (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
    r += (20.0 * np.sin(x * np.pi) + 40.0 * np.sin(x / 3.0 * np.pi)) * 2.0 / 3.0
    r += (150.0 * np.sin(x / 12.0 * np.pi) + 300.0 * np.sin(x / 30.0 * np.pi)) * 2.0 / 3.0
    return r


def wgs84_to_gcj02(lon, lat):
    d_lat = _t_lat(lon - 105.0, lat - 35.0)
    d_lon = _t_lon(lon - 105.0, lat - 35.0)
    rad = lat / 180.0 * np.pi
    magic = 1.0 - EE * np.sin(rad) * np.sin(rad)
    sq = np.sqrt(magic)
    d_lat = (d_lat * 180.0) / ((A * (1.0 - EE)) / (magic * sq) * np.pi)
    d_lon = (d_lon * 180.0) / (A / sq * np.cos(rad) * np.pi)
    return lon + d_lon, lat + d_lat


def gcj02_to_wgs84(lon, lat):
    """Vectorised; every point of the generated city is inside China's box, where GCJ-02 applies."""
    w_lon, w_lat = lon.copy(), lat.copy()
    active = np.ones(len(lon), dtype=bool)
    for _ in range(30):
        if not active.any():
            break
        g_lon, g_lat = wgs84_to_gcj02(w_lon[active], w_lat[active])
        e_lon, e_lat = g_lon - lon[active], g_lat - lat[active]
        w_lon[active] -= e_lon
        w_lat[active] -= e_lat
        done = (np.abs(e_lon) < 1e-10) & (np.abs(e_lat) < 1e-10)
        idx = np.flatnonzero(active)
        active[idx[done]] = False
    return w_lon, w_lat


def haversine_m(lon1, lat1, lon2, lat2):
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dp = p2 - p1
    dl = np.radians(lon2 - lon1)
    h = np.sin(dp / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return 2 * R_ECOMAP * np.arcsin(np.sqrt(np.minimum(h, 1.0)))


def our_outlets(data):
    """Our outlets in file order: (id, lon, lat)."""
    out = []
    with open(Path(data, "outlets.csv"), encoding="utf-8-sig", newline="") as f:
        for row in csv.DictReader(f):
            if (row.get("bank") or "").strip().lower() in ("", "ours", "我行", "本行"):
                out.append((row["id"], float(row["lon"]), float(row["lat"])))
    return out


# ---- PostGIS ---------------------------------------------------------------------------------

GCJ_SQL = """
CREATE OR REPLACE FUNCTION peer_gcj_dlat(x float8, y float8) RETURNS float8
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT -100.0 + 2.0*x + 3.0*y + 0.2*y*y + 0.1*x*y + 0.2*sqrt(abs(x))
    + (20.0*sin(6.0*x*pi()) + 20.0*sin(2.0*x*pi()))*2.0/3.0
    + (20.0*sin(y*pi()) + 40.0*sin(y/3.0*pi()))*2.0/3.0
    + (160.0*sin(y/12.0*pi()) + 320.0*sin(y*pi()/30.0))*2.0/3.0 $$;
CREATE OR REPLACE FUNCTION peer_gcj_dlon(x float8, y float8) RETURNS float8
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT 300.0 + x + 2.0*y + 0.1*x*x + 0.1*x*y + 0.1*sqrt(abs(x))
    + (20.0*sin(6.0*x*pi()) + 20.0*sin(2.0*x*pi()))*2.0/3.0
    + (20.0*sin(x*pi()) + 40.0*sin(x/3.0*pi()))*2.0/3.0
    + (150.0*sin(x/12.0*pi()) + 300.0*sin(x/30.0*pi()))*2.0/3.0 $$;
-- WGS-84 -> GCJ-02 offsets (degrees) at a WGS-84 point.
CREATE OR REPLACE FUNCTION peer_gcj_off_lon(lon float8, lat float8) RETURNS float8
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT (peer_gcj_dlon(lon - 105.0, lat - 35.0) * 180.0)
    / (6378245.0 / sqrt(1.0 - 0.006693421622965943 * sin(radians(lat))^2)
       * cos(radians(lat)) * pi()) $$;
CREATE OR REPLACE FUNCTION peer_gcj_off_lat(lon float8, lat float8) RETURNS float8
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT (peer_gcj_dlat(lon - 105.0, lat - 35.0) * 180.0)
    / ((6378245.0 * (1.0 - 0.006693421622965943))
       / ((1.0 - 0.006693421622965943 * sin(radians(lat))^2)
          * sqrt(1.0 - 0.006693421622965943 * sin(radians(lat))^2)) * pi()) $$;
"""

# GCJ-02 -> WGS-84 as src/geo/crs.rs does it: fixed-point iteration until the forward
# transform lands within 1e-10 deg. PARALLEL SAFE, so CREATE TABLE AS may use parallel workers.
GCJ_SQL += """
CREATE OR REPLACE FUNCTION peer_gcj02_to_wgs84(lon float8, lat float8, OUT wlon float8, OUT wlat float8)
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE elon float8; elat float8;
BEGIN
  wlon := lon; wlat := lat;
  FOR i IN 1..30 LOOP
    elon := peer_gcj_off_lon(wlon, wlat) + wlon - lon;
    elat := peer_gcj_off_lat(wlon, wlat) + wlat - lat;
    wlon := wlon - elon; wlat := wlat - elat;
    EXIT WHEN abs(elon) < 1e-10 AND abs(elat) < 1e-10;
  END LOOP;
END $$;
"""

CONVERT_SQL = """
CREATE UNLOGGED TABLE merchants AS
SELECT r.id, r.name, r.category, r.status,
       geography(ST_SetSRID(ST_MakePoint(c.wlon, c.wlat), 4326)) AS geog
FROM merchants_raw r CROSS JOIN LATERAL peer_gcj02_to_wgs84(r.lon, r.lat) c
"""

RADIUS_FN = """
CREATE OR REPLACE FUNCTION peer_radius(r float8, budget_s float8)
RETURNS TABLE(n int, hits bigint, us float8) LANGUAGE plpgsql AS $$
DECLARE o record; t0 timestamptz; c bigint; started timestamptz := clock_timestamp();
BEGIN
  FOR o IN SELECT outlets.n AS i, outlets.geog AS g FROM outlets ORDER BY outlets.n LOOP
    t0 := clock_timestamp();
    SELECT coalesce(sum(k), 0) INTO c FROM (
      SELECT m.category, count(*) AS k FROM merchants m
      WHERE ST_DWithin(m.geog, o.g, r, false) GROUP BY m.category) s;
    n := o.i; hits := c; us := extract(epoch FROM clock_timestamp() - t0) * 1e6;
    RETURN NEXT;
    EXIT WHEN clock_timestamp() - started > make_interval(secs => budget_s);
  END LOOP;
END $$;
"""


def connect(dsn):
    import psycopg

    return psycopg.connect(dsn, autocommit=True)


def postgis_load(a):
    import psycopg

    admin = a.dsn.rsplit("/", 1)[0] + "/postgres"
    db = a.dsn.rsplit("/", 1)[1]
    with psycopg.connect(admin, autocommit=True) as c:
        c.execute(f'DROP DATABASE IF EXISTS "{db}"')
        c.execute(f'CREATE DATABASE "{db}"')
    con = connect(a.dsn)
    # JIT compiles a plan whose estimated cost is high (a window over ST_Distance is), which
    # costs ~15 ms a query and no OLTP setup keeps: off, to give PostGIS its best.
    con.execute(f'ALTER DATABASE "{db}" SET jit = off')
    con.execute("SET jit = off")
    con.execute("CREATE EXTENSION postgis")
    con.execute(GCJ_SQL)
    con.execute(
        """CREATE UNLOGGED TABLE merchants_raw (id text, name text, category text,
        lon float8, lat float8, address text, footfall text, spend text, rating text,
        hours text, ecny text, competitor text, chain text, status text, status_since text,
        owner text, contact_name text, contact_phone text)"""
    )
    t = {}
    t0 = time.perf_counter()
    with con.cursor() as cur:
        with cur.copy(
            "COPY merchants_raw FROM STDIN WITH (FORMAT csv, HEADER true, ENCODING 'UTF8')"
        ) as cp:
            with open(Path(a.data, "merchants.csv"), "rb") as f:
                while chunk := f.read(1 << 20):
                    cp.write(chunk)
    t["copy_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    con.execute(CONVERT_SQL)
    t["convert_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    con.execute("CREATE INDEX merchants_geog ON merchants USING gist (geog)")
    t["index_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    con.execute("ANALYZE merchants")
    t["analyze_s"] = time.perf_counter() - t0
    t["s"] = t["copy_s"] + t["convert_s"] + t["index_s"] + t["analyze_s"]
    n = con.execute("SELECT count(*) FROM merchants").fetchone()[0]
    con.execute("DROP TABLE merchants_raw")
    log(f"PostGIS import of {n} merchants: " + ", ".join(f"{k} {v:.1f}" for k, v in t.items()))
    # Our outlets, numbered in file order (the same query order as ecomap's).
    con.execute("CREATE TABLE outlets (n int PRIMARY KEY, id text, geog geography(Point, 4326))")
    with con.cursor() as cur:
        with cur.copy("COPY outlets (n, id, geog) FROM STDIN") as cp:
            for i, (oid, lon, lat) in enumerate(our_outlets(a.data), 1):
                cp.write_row((i, oid, f"SRID=4326;POINT({lon!r} {lat!r})"))
    con.execute("ANALYZE outlets")
    # Martin's table: the same merchants, Web Mercator (Martin's fastest layout: no transform
    # per row), with the properties ecomap's tiles carry.
    t0 = time.perf_counter()
    con.execute(
        """CREATE TABLE merchants_tiles AS SELECT id, name, category, status,
           ST_Transform(geog::geometry, 3857)::geometry(Point, 3857) AS geom FROM merchants"""
    )
    con.execute("CREATE INDEX merchants_tiles_geom ON merchants_tiles USING gist (geom)")
    con.execute("ANALYZE merchants_tiles")
    t["martin_table_s"] = time.perf_counter() - t0
    # Not in the import figure: rows stored in the GiST index's order, as a tuned PostGIS keeps
    # a table that is read by place (a radius query then reads a few pages, not a page a row).
    t0 = time.perf_counter()
    con.execute("CLUSTER merchants USING merchants_geog")
    con.execute("CLUSTER merchants_tiles USING merchants_tiles_geom")
    con.execute("VACUUM ANALYZE merchants")
    con.execute("VACUUM ANALYZE merchants_tiles")
    t["cluster_s"] = time.perf_counter() - t0
    log(f"PostGIS: Martin's table {t['martin_table_s']:.1f} s, CLUSTER both {t['cluster_s']:.1f} s")
    dump(a.work, "postgis_load.json", {"merchants": n, **t})


def postgis(a):
    eco = json.loads(Path(a.work, "ecomap.json").read_text())
    rows = eco["rows"]
    con = connect(a.dsn)
    con.execute(RADIUS_FN)
    out = {}
    mismatches = []
    for key, r in (("radius_500", 500.0), ("radius_3000", 3000.0)):
        con.execute(f"SELECT count(*) FROM peer_radius({r * K!r}, 5)").fetchone()  # warm-up
        res = con.execute(
            "SELECT n, hits, us FROM peer_radius(%s, %s)", (r * K, a.budget)
        ).fetchall()
        want = rows[key]["counts"]
        bad = [(n, h, want[n - 1]) for n, h, _ in res if h != want[n - 1]]
        us = [u for _, _, u in res]
        total = len(want)
        out[key] = {
            "p50_us": pct(us, 0.5),
            "p99_us": pct(us, 0.99),
            "queries": len(res),
            "of": total,
            "sum_us": sum(us),
            "mismatches": len(bad),
        }
        if bad:
            mismatches.append(f"{key}: {len(bad)} of {len(res)} counts differ, first {bad[:5]}")
        log(
            f"PostGIS {r:.0f} m: {len(res)} of {total} queries in the budget, p50 "
            f"{pct(us, 0.5):.0f} us, p99 {pct(us, 0.99):.0f} us, {len(bad)} count mismatches"
        )
    # Merchants within 1 km of each of the first 2,000 outlets, one statement.
    n_out = rows["join_1km"]["outlets"]
    con.execute(f"SET statement_timeout = '{int(a.budget * 4)}s'")
    t0 = time.perf_counter()
    try:
        pairs = con.execute(
            """SELECT count(*) FROM (SELECT geog FROM outlets WHERE n <= %s) o
               JOIN merchants m ON ST_DWithin(m.geog, o.geog, %s, false)""",
            (n_out, 1000.0 * K),
        ).fetchone()[0]
        secs = time.perf_counter() - t0
    except Exception as e:  # statement_timeout
        log(f"PostGIS 1 km join stopped: {e}")
        pairs, secs = None, None
    con.execute("SET statement_timeout = 0")
    want = rows["join_1km"]["pairs"]
    if pairs is not None and pairs != want:
        mismatches.append(f"join_1km: PostGIS {pairs} pairs, ecomap {want}")
    out["join_1km"] = {"s": secs, "pairs": pairs, "outlets": n_out}
    log(f"PostGIS 1 km join: {pairs} pairs in {secs} s (ecomap {want})")
    # The re-score's lookups: the 3 km query per outlet, summed (extrapolated when cut short).
    r3 = out["radius_3000"]
    if r3["queries"]:
        out["rescore_lookups"] = {
            "s": r3["sum_us"] / 1e6 * r3["of"] / r3["queries"],
            "extrapolated": r3["queries"] < r3["of"],
        }
    out["mismatches"] = mismatches
    for m in mismatches:
        log("!!!!! COUNT MISMATCH (PostGIS vs ecomap):", m)
    dump(a.work, "postgis.json", out)


# ---- GeoPandas / shapely, h3-py ---------------------------------------------------------------


def geopandas_peer(a):
    import geopandas as gpd
    import pandas as pd

    eco = json.loads(Path(a.work, "ecomap.json").read_text())
    rows = eco["rows"]
    out = {"mismatches": []}
    t0 = time.perf_counter()
    df = pd.read_csv(
        Path(a.data, "merchants.csv"),
        usecols=["编号", "类别", "经度", "纬度"],
        encoding="utf-8-sig",
        engine="pyarrow",
    )
    t_read = time.perf_counter() - t0
    t0 = time.perf_counter()
    lon, lat = gcj02_to_wgs84(df["经度"].to_numpy(float), df["纬度"].to_numpy(float))
    t_conv = time.perf_counter() - t0
    mid = float(np.median(lon))
    zone = int((mid + 180) // 6) + 1
    utm = 32600 + zone
    t0 = time.perf_counter()
    gdf = gpd.GeoDataFrame(
        {"id": df["编号"].to_numpy(), "category": df["类别"].to_numpy()},
        geometry=gpd.points_from_xy(lon, lat),
        crs=4326,
    ).to_crs(utm)
    t_geo = time.perf_counter() - t0
    t0 = time.perf_counter()
    gdf.sindex.query(gdf.geometry.iloc[:1])  # builds the STRtree
    t_index = time.perf_counter() - t0
    imp = t_read + t_conv + t_geo + t_index
    out["import"] = {
        "s": imp, "read_s": t_read, "convert_s": t_conv, "geometry_s": t_geo, "sindex_s": t_index,
        "utm_epsg": utm,
    }
    log(
        f"GeoPandas load of {len(gdf)}: read {t_read:.1f} s, GCJ-02 {t_conv:.1f} s, points + "
        f"UTM {t_geo:.1f} s, STRtree {t_index:.1f} s = {imp:.1f} s"
    )
    outlets = our_outlets(a.data)
    n_out = rows["join_1km"]["outlets"]
    o = outlets[:n_out]
    olon = np.array([x[1] for x in o])
    olat = np.array([x[2] for x in o])
    og = gpd.GeoSeries(gpd.points_from_xy(olon, olat), crs=4326).to_crs(utm)
    # dwithin in UTM metres, widened by 0.5% for the projection's scale error, then the exact
    # great-circle test on the candidates (what makes the answer the same as ecomap's).
    t0 = time.perf_counter()
    oi, mi = gdf.sindex.query(og, predicate="dwithin", distance=1000.0 * 1.005)
    t_query = time.perf_counter() - t0
    t0 = time.perf_counter()
    keep = haversine_m(olon[oi], olat[oi], lon[mi], lat[mi]) <= 1000.0
    pairs = int(keep.sum())
    t_exact = time.perf_counter() - t0
    want = rows["join_1km"]["pairs"]
    if pairs != want:
        out["mismatches"].append(f"join_1km: GeoPandas {pairs} pairs, ecomap {want}")
    out["join_1km"] = {
        "s": t_query + t_exact, "query_s": t_query, "exact_s": t_exact, "pairs": pairs,
        "candidates": int(len(mi)),
    }
    log(f"GeoPandas 1 km join: {pairs} pairs ({len(mi)} candidates) in {t_query + t_exact:.2f} s")
    del oi, mi, keep
    # 500 m, one sindex query per outlet (the per-query latency an analyst's loop sees).
    want = rows["radius_500"]["counts"]
    us, bad = [], 0
    deadline = time.perf_counter() + a.budget
    for i, (_, x, y) in enumerate(outlets):
        t0 = time.perf_counter()
        p = og.iloc[i] if i < len(og) else gpd.GeoSeries(
            gpd.points_from_xy([x], [y]), crs=4326).to_crs(utm).iloc[0]
        cand = gdf.sindex.query(p, predicate="dwithin", distance=500.0 * 1.005)
        n = int((haversine_m(x, y, lon[cand], lat[cand]) <= 500.0).sum())
        us.append((time.perf_counter() - t0) * 1e6)
        bad += n != want[i]
        if time.perf_counter() > deadline:
            break
    out["radius_500"] = {"p50_us": pct(us, 0.5), "p99_us": pct(us, 0.99), "queries": len(us),
                         "mismatches": bad}
    if bad:
        out["mismatches"].append(f"radius_500: GeoPandas {bad} of {len(us)} counts differ")
    log(f"GeoPandas 500 m: {len(us)} queries, p50 {pct(us, 0.5):.0f} us, {bad} mismatches")
    # h3-py, one call per point (h3 4 has no vectorised call), bounded by the budget.
    import h3

    t0 = time.perf_counter()
    counts = {}
    deadline = t0 + a.budget
    done = 0
    step = 100_000
    for s in range(0, len(lat), step):
        for y, x in zip(lat[s : s + step].tolist(), lon[s : s + step].tolist()):
            c = h3.latlng_to_cell(y, x, 9)
            counts[c] = counts.get(c, 0) + 1
        done = min(s + step, len(lat))
        if time.perf_counter() > deadline:
            break
    secs = time.perf_counter() - t0
    full = done == len(lat)
    out["h3"] = {"s": secs * len(lat) / max(done, 1), "done": done, "extrapolated": not full,
                 "cells": len(counts) if full else None}
    if full and len(counts) != rows["h3"]["cells"]:
        out["mismatches"].append(f"h3: h3-py {len(counts)} cells, ecomap {rows['h3']['cells']}")
    log(f"h3-py: {done} of {len(lat)} points in {secs:.1f} s ({len(counts)} cells)")
    for m in out["mismatches"]:
        log("!!!!! COUNT MISMATCH (GeoPandas vs ecomap):", m)
    dump(a.work, "geopandas.json", out)


# ---- Routes: pyvroom and OR-tools on ecomap's instances ----------------------------------------


def route_value(inst, stops):
    """Total priority and whether the route fits the budget in exact (float) minutes."""
    n = len(inst["priorities"])
    w = inst["walk_min"]
    size = n + 1
    t, prev = 0.0, 0
    for j in stops:
        t += w[prev * size + j + 1] + inst["service_min"][j]
        prev = j + 1
    t += w[prev * size]
    return sum(inst["priorities"][j] for j in stops), t <= inst["budget_min"] + 1e-6, t


def solve_vroom(inst):
    import vroom

    n = len(inst["priorities"])
    size = n + 1
    secs = [[math.ceil(inst["walk_min"][i * size + j] * 60) for j in range(size)] for i in range(size)]
    top = max(inst["priorities"])
    p = vroom.Input()
    p.set_durations_matrix(profile="car", matrix_input=secs)
    p.add_vehicle(vroom.Vehicle(1, start=0, end=0,
                                time_window=vroom.TimeWindow(0, int(inst["budget_min"] * 60))))
    p.add_job([
        vroom.Job(j + 1, location=j + 1, default_service=int(inst["service_min"][j] * 60),
                  priority=max(0, min(100, round(100 * inst["priorities"][j] / top))))
        for j in range(n)
    ])
    t0 = time.perf_counter()
    sol = p.solve(exploration_level=5, nb_threads=2)
    secs_taken = time.perf_counter() - t0
    r = sol.routes
    stops = [int(x) - 1 for x in r[r["type"] == "job"]["id"].tolist()]
    return stops, secs_taken


def solve_ortools(inst, limit_s):
    from ortools.constraint_solver import pywrapcp, routing_enums_pb2

    n = len(inst["priorities"])
    size = n + 1
    walk = [[math.ceil(inst["walk_min"][i * size + j] * 60) for j in range(size)] for i in range(size)]
    service = [0] + [int(m * 60) for m in inst["service_min"]]
    manager = pywrapcp.RoutingIndexManager(size, 1, 0)
    routing = pywrapcp.RoutingModel(manager)

    # Matrices, not Python callbacks: the solver then reads them in C++ (several times the
    # search steps within the time limit).
    c = routing.RegisterTransitMatrix(walk)
    tc = routing.RegisterTransitMatrix(
        [[service[i] + walk[i][j] for j in range(size)] for i in range(size)])
    routing.SetArcCostEvaluatorOfAllVehicles(c)
    routing.AddDimension(tc, 0, int(inst["budget_min"] * 60), True, "Time")
    for j in range(n):
        # The priority dominates walking seconds: maximise priority, then walk least.
        routing.AddDisjunction([manager.NodeToIndex(j + 1)], int(round(inst["priorities"][j] * 1e7)))
    sp = pywrapcp.DefaultRoutingSearchParameters()
    sp.first_solution_strategy = routing_enums_pb2.FirstSolutionStrategy.PATH_CHEAPEST_ARC
    sp.local_search_metaheuristic = routing_enums_pb2.LocalSearchMetaheuristic.GUIDED_LOCAL_SEARCH
    sp.time_limit.FromMilliseconds(int(limit_s * 1000))
    t0 = time.perf_counter()
    sol = routing.SolveWithParameters(sp)
    secs = time.perf_counter() - t0
    stops = []
    if sol:
        i = routing.Start(0)
        while not routing.IsEnd(i):
            node = manager.IndexToNode(i)
            if node:
                stops.append(node - 1)
            i = sol.Value(routing.NextVar(i))
    return stops, secs


def routes(a):
    insts = json.loads(Path(a.work, "routes.json").read_text())["instances"]
    res = []
    for inst in insts:
        eco = inst["ecomap"]
        slot_pos = {s: k for k, s in enumerate(inst["slots"])}
        e_stops = [slot_pos[s] for s in eco["stops"]]
        e_val, e_ok, _ = route_value(inst, e_stops)
        v_stops, v_s = solve_vroom(inst)
        v_val, v_ok, _ = route_value(inst, v_stops)
        o_stops, o_s = solve_ortools(inst, a.ortools_s)
        o_val, o_ok, _ = route_value(inst, o_stops)
        best = max(v_val if v_ok else 0, o_val if o_ok else 0)
        gap = (best - eco["total_priority"]) / best if best > 0 else 0.0
        res.append({
            "outlet": inst["outlet"], "ecomap_ms": eco["ms"], "ecomap": eco["total_priority"],
            "ecomap_feasible": e_ok, "vroom": v_val, "vroom_ms": v_s * 1e3, "vroom_feasible": v_ok,
            "ortools": o_val, "ortools_ms": o_s * 1e3, "ortools_feasible": o_ok,
            "gap": gap, "stops": [len(e_stops), len(v_stops), len(o_stops)],
        })
        log(
            f"route {inst['outlet']}: ecomap {eco['total_priority']:.3f} ({len(e_stops)} stops, "
            f"{eco['ms']:.1f} ms) VROOM {v_val:.3f} ({len(v_stops)}, {v_s * 1e3:.0f} ms{'' if v_ok else ', OVER BUDGET'}) "
            f"OR-tools {o_val:.3f} ({len(o_stops)}, {o_s * 1e3:.0f} ms{'' if o_ok else ', OVER BUDGET'}) gap {gap * 100:.2f}%"
        )
    dump(a.work, "routes_peers.json", {"instances": res})


# ---- HTTP load figures (wrk, pgbench), merged into http.json --------------------------------------


def _ms(v):
    v = v.strip()
    for unit, k in (("us", 1e-3), ("ms", 1.0), ("s", 1e3)):
        if v.endswith(unit):
            return float(v[: -len(unit)]) * k
    return float(v)


def http_add(a):
    """Adds one wrk or pgbench result to http.json under --key (e.g. tiles.ecomap)."""
    path = Path(a.work, "http.json")
    http = json.loads(path.read_text()) if path.exists() else {}
    text = Path(a.file).read_text()
    r = {}
    if a.kind == "wrk":
        lat = {}
        in_dist = False
        for line in text.splitlines():
            f = line.split()
            if line.startswith("Requests/sec:"):
                r["rps"] = float(f[1])
            if "Latency Distribution" in line:
                in_dist = True
                continue
            if in_dist and len(f) == 2 and f[0].endswith("%"):
                lat[f[0]] = _ms(f[1])
            elif in_dist:
                in_dist = False
            if "Non-2xx" in line:
                r["non_2xx"] = int(f[-1])
            if ".lua:" in line:
                # wrk falls back to GET / when its script fails: the figures are not the work's.
                r["script_error"] = line.strip()
        r["p50_ms"], r["p99_ms"] = lat.get("50.000%", lat.get("50%")), lat.get("99.000%", lat.get("99%"))
    else:  # pgbench: its summary, and the per-transaction log for the percentiles
        for line in text.splitlines():
            if line.startswith("tps ="):
                r["tps"] = float(line.split()[2])
        us = []
        for log_file in Path(a.work).glob("pgbench_log*"):
            for line in log_file.read_text().splitlines():
                f = line.split()
                if len(f) >= 3:
                    us.append(int(f[2]))
            log_file.unlink()
        if us:
            r["p50_ms"], r["p99_ms"] = pct(us, 0.5) / 1e3, pct(us, 0.99) / 1e3
    if r.get("non_2xx") or r.get("script_error"):
        log(f"!!!!! {a.key}: INVALID RUN: {r.get('non_2xx', 0)} non-2xx answers, script error "
            f"{r.get('script_error')}")
    group, name = a.key.split(".")
    http.setdefault(group, {})[name] = r
    path.write_text(json.dumps(http, indent=1))
    log(f"{a.key}: {r}")


# ---- The table ---------------------------------------------------------------------------------


def fmt_t(s):
    if s is None or (isinstance(s, float) and math.isnan(s)):
        return "—"
    if s < 1e-3:
        return f"{s * 1e6:.1f} µs"
    if s < 1:
        return f"{s * 1e3:.1f} ms"
    return f"{s:.2f} s"


def report(a):
    w = Path(a.work)

    def load(name):
        p = w / name
        return json.loads(p.read_text()) if p.exists() else {}

    eco = load("ecomap.json")
    er = eco.get("rows", {})
    pg, pgl, gp, rt, http = (load(n) for n in
                             ("postgis.json", "postgis_load.json", "geopandas.json",
                              "routes_peers.json", "http.json"))
    sz = eco.get("sizes", {})
    table = []

    def row(work, eco_s, peers, target, met, note=""):
        best = [v for v in peers.values() if isinstance(v, (int, float)) and v]
        ratio = (min(best) / eco_s) if best and eco_s else None
        table.append({"work": work, "ecomap": eco_s, "peers": peers, "ratio": ratio,
                      "target": target, "met": met, "note": note})

    nm = f"{sz.get('merchants', 0):,}"
    for key, label, t50, t99 in (("radius_500", "500 m radius", 3, 10), ("radius_3000", "3 km radius", 14, None)):
        e = er.get(key)
        if not e:
            continue
        p = pg.get(key, {})
        g = gp.get(key, {}) if key == "radius_500" else {}
        met = e["p50_us"] <= t50 and (t99 is None or e["p99_us"] <= t99)
        note = f"{e['mean_hits']:.0f} merchants per circle on average; ecomap p99 {e['p99_us']:.1f} µs"
        if p:
            note += f"; PostGIS {p['queries']} of {p['of']} queries, p99 {p['p99_us']:.0f} µs, {p['mismatches']} count mismatches"
        row(f"{label}, p50 (among {nm})", e["p50_us"] / 1e6,
            {"PostGIS (server side)": p.get("p50_us", 0) / 1e6 or None,
             "GeoPandas sindex": (g.get("p50_us") or 0) / 1e6 or None},
            f"p50 ≤ {t50} µs" + (f", p99 ≤ {t99} µs" if t99 else ""), met, note)
    e = er.get("join_1km")
    if e:
        row(f"merchants within 1 km of {e['outlets']:,} outlets ({nm} merchants)", e["ms"] / 1e3,
            {"PostGIS": pg.get("join_1km", {}).get("s"), "GeoPandas": gp.get("join_1km", {}).get("s")},
            "≤ 50 ms", e["ms"] <= 50,
            f"{e['pairs']:,} pairs; ecomap on 2 threads {e['ms_2_threads']:.1f} ms")
    e = er.get("rescore")
    if e:
        lk = pg.get("rescore_lookups", {})
        row(f"full re-score: {e['outlets']:,} outlets, {nm} merchants, {sz.get('communities', 0):,} communities, 3 km",
            e["ms"] / 1e3, {"PostGIS (3 km lookups alone)": lk.get("s")}, "≤ 300 ms", e["ms"] <= 300,
            f"estimate {e['estimate_ms']:.0f} ms + ranks {e['ranks_ms']:.0f} ms; on 2 threads {e['ms_2_threads']:.0f} ms"
            + ("; PostGIS figure extrapolated" if lk.get("extrapolated") else ""))
    e = er.get("h3")
    if e:
        h = gp.get("h3", {})
        row(f"H3 res-9 counts of {nm} merchants", e["ms"] / 1e3,
            {"h3o loop (Rust, 1 thread)": e["from_scratch_ms"] / 1e3, "h3-py": h.get("s")},
            "≤ 2 s", e["ms"] <= 2000,
            f"ecomap counts the cells its index stored at import; computing them afresh: {e['from_scratch_ms_2_threads']:.0f} ms on 2 threads"
            + ("; h3-py extrapolated" if h.get("extrapolated") else ""))
    e = er.get("import")
    if e:
        row(f"CSV import of {nm} merchants to query-ready", e["s"],
            {"PostGIS": pgl.get("s"), "GeoPandas": gp.get("import", {}).get("s")}, "≤ 10 s", e["s"] <= 10,
            f"ecomap read {e['read_s']:.1f} + parse {e['parse_s']:.1f} + index {e['index_s']:.1f} s"
            + (f"; PostGIS COPY {pgl['copy_s']:.1f} + GCJ-02 {pgl['convert_s']:.1f} + GiST {pgl['index_s']:.1f} + ANALYZE {pgl['analyze_s']:.1f} s" if pgl else "")
            + (f" (then, not counted: CLUSTER by the GiST index {pgl['cluster_s']:.0f} s)" if pgl.get("cluster_s") else ""))
    e = er.get("tile_lib")
    th = http.get("tiles", {})
    if e:
        eh, mh = th.get("ecomap", {}), th.get("martin", {})
        e1, m1 = http.get("tiles1", {}).get("ecomap", {}), http.get("tiles1", {}).get("martin", {})
        p50 = e1.get("p50_ms")
        row(f"uncached z14 tile, p50 ({e['tiles']} tiles, ≤ 4,000 points, {e['mean_points']:.0f} on average)",
            (p50 or e["p50_ms"]) / 1e3, {"Martin (cache off)": (m1.get("p50_ms") or 0) / 1e3 or None},
            "p50 ≤ 2 ms", (p50 or e["p50_ms"]) <= 2,
            (f"HTTP, one connection, round-robin (p99 ecomap {e1.get('p99_ms')} ms, Martin {m1.get('p99_ms')} ms); " if p50 else "no HTTP run; ")
            + f"the tile alone (no HTTP) p50 {e['p50_ms']:.3f} ms, p99 {e['p99_ms']:.3f} ms")
        if eh.get("rps") and mh.get("rps"):
            ratio = eh["rps"] / mh["rps"]
            table.append({"work": "z14 tiles/s under wrk (2 threads, 16 connections)",
                          "ecomap": None, "ecomap_text": f"{eh['rps']:,.0f} tiles/s",
                          "peers": {"Martin (cache off)": None},
                          "peers_text": {"Martin (cache off)": f"{mh['rps']:,.0f} tiles/s"},
                          "ratio": ratio, "target": "≥ 10× Martin", "met": ratio >= 10,
                          "note": f"p99 ecomap {eh.get('p99_ms')} ms, Martin {mh.get('p99_ms')} ms"})
    e = er.get("routes")
    if e and rt.get("instances"):
        ins = rt["instances"]
        gaps = [i["gap"] for i in ins]
        v_ms = sorted(i["vroom_ms"] for i in ins)
        o_ms = sorted(i["ortools_ms"] for i in ins)
        row(f"visit route, 40 candidates ({len(ins)} instances), median time", e["median_ms"] / 1e3,
            {"VROOM -x5": v_ms[len(v_ms) // 2] / 1e3, "OR-tools GLS": o_ms[len(o_ms) // 2] / 1e3},
            "≤ 10 ms, gap ≤ 0.3%", e["median_ms"] <= 10 and max(gaps) <= 0.003,
            f"gap to the better of VROOM/OR-tools: mean {100 * sum(gaps) / len(gaps):.2f}%, worst {100 * max(gaps):.2f}% "
            f"(negative: ecomap better); ecomap worst time {e['worst_ms']:.1f} ms; OR-tools runs to its time limit")
    nb = http.get("nearby", {})
    if nb.get("ecomap"):
        ee, pp = nb["ecomap"], nb.get("pgbench", {})
        ratio = ee["rps"] / pp["tps"] if pp.get("tps") else None
        table.append({"work": "HTTP nearby (500 m, 20 nearest), req/s", "ecomap": None,
                      "ecomap_text": f"{ee['rps']:,.0f} req/s, p99 {ee.get('p99_ms')} ms",
                      "peers": {"PostGIS via pgbench": None},
                      "peers_text": {"PostGIS via pgbench": f"{pp.get('tps', 0):,.0f} q/s, p99 {pp.get('p99_ms')} ms"},
                      "ratio": ratio, "target": "≥ 20k req/s, p99 ≤ 5 ms",
                      "met": ee["rps"] >= 20000 and (ee.get("p99_ms") or 1e9) <= 5,
                      "note": "wrk 2 threads × 32 connections / pgbench 32 clients, 2 threads; both share the 2 cores with their server"})
    mism = pg.get("mismatches", []) + gp.get("mismatches", [])
    for group, runs in http.items():
        for name, r in runs.items():
            if r.get("non_2xx") or r.get("script_error"):
                mism.append(f"HTTP {group}.{name} is INVALID: {r.get('non_2xx', 0)} non-2xx "
                            f"answers, script error {r.get('script_error')}")
    loads = []
    if (w / "load.txt").exists():
        loads = [ln.rsplit(" ", 1) for ln in (w / "load.txt").read_text().splitlines()
                 if len(ln.split()) > 1]
    lines = ["| work | ecomap | peers | ratio (best peer ÷ ecomap) | target | met |", "| --- | --- | --- | --- | --- | --- |"]
    for r in table:
        et = r.get("ecomap_text") or fmt_t(r["ecomap"])
        pt = "; ".join(f"{k}: {r.get('peers_text', {}).get(k) or fmt_t(v)}" for k, v in r["peers"].items())
        ratio = f"{r['ratio']:.1f}×" if r["ratio"] else "—"
        lines.append(f"| {r['work']} | {et} | {pt} | {ratio} | {r['target']} | {'yes' if r['met'] else '**no**'} |")
    notes = [f"- {r['work']}: {r['note']}" for r in table if r.get("note")]
    md = "\n".join(lines) + "\n\nNotes:\n" + "\n".join(notes) + "\n"
    if mism:
        md += "\n**ANSWER MISMATCHES OR INVALID RUNS:**\n" + "\n".join(f"- {m}" for m in mism) + "\n"
    else:
        md += "\nAnswers agree: every compared count is equal (radius counts per outlet, 1 km pairs, H3 cells where complete).\n"
    if loads:
        md += ("\n1-minute load average at each step (2 cores; above 2 means other work competed): "
               + "; ".join(f"{n} {v}" for n, v in loads) + "\n")
    (w / "results.md").write_text(md)
    (w / "results.json").write_text(json.dumps({"sizes": sz, "rows": table, "mismatches": mism, "load": loads}, indent=1))
    print(md)
    if mism:
        print("!!!!! " + str(len(mism)) + " ANSWER MISMATCH(ES), see above", file=sys.stderr)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("cmd")
    ap.add_argument("--data")
    ap.add_argument("--work", default="target/peers")
    ap.add_argument("--dsn", default="postgresql://postgres@127.0.0.1:5432/ecomap_peers")
    ap.add_argument("--budget", type=float, default=60.0,
                    help="seconds a peer's loop may run before it stops (figures then extrapolated)")
    ap.add_argument("--ortools-s", type=float, default=2.0)
    ap.add_argument("--key")
    ap.add_argument("--file")
    ap.add_argument("--kind", default="wrk")
    a = ap.parse_args()
    {"postgis-load": postgis_load, "postgis": postgis, "geopandas": geopandas_peer,
     "routes": routes, "report": report, "http-add": http_add}[a.cmd](a)


if __name__ == "__main__":
    main()
