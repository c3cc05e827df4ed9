// Base maps in GCJ-02 (AMap, Tencent): the app asks the API for GCJ-02 so points sit on the tiles.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { assertNoIssues, distanceM, jumpTo, sourceData, tileFeatures, useApp } from './harness.mjs';

const app = useApp();
const LONG = { timeout: 60_000 };
/** A tile server that is never there: its failed tile requests are expected. */
const DEAD_TILES_HOST = '127.0.0.1:9';
const DEAD_TILES = `http://${DEAD_TILES_HOST}/{z}/{x}/{y}.png`;

test('gcj02_basemap_moves_points_by_the_expected_offset', LONG, async (t) => {
  const query = new URLSearchParams({ basemap: DEAD_TILES, basemap_type: 'raster', basemap_crs: 'gcj02' });
  const { page, issues, requests } = await app.open(t, `/?${query}`, { tolerateHosts: [DEAD_TILES_HOST] });

  assert.equal(await page.evaluate(() => window.ecomap.crs), 'gcj02');
  const usesTiles = await page.evaluate((url) => Object.values(window.ecomap.map.getStyle().sources)
    .some((s) => s.type === 'raster' && (s.tiles || []).includes(url)), DEAD_TILES);
  assert.ok(usesTiles, `the style has a raster source with tiles ${DEAD_TILES}`);

  // The merchant tiles are asked for in GCJ-02 too.
  const tiles = await page.evaluate(() => window.ecomap.map.getStyle().sources.merchants.tiles);
  assert.ok(tiles.length && tiles.every((u) => /\/tiles\/merchants\/\{z\}\/\{x\}\/\{y\}\.mvt\?crs=gcj02$/.test(u)),
    `merchant tiles in GCJ-02: ${tiles}`);
  assert.ok(requests.some((r) => /^GET \/tiles\/merchants\/\d+\/\d+\/\d+\.mvt\?crs=gcj02$/.test(r)), 'the page fetched GCJ-02 tiles');

  // Close up (single merchants), every merchant in the page is at its GCJ-02 position (to the
  // tiles' precision), 100-800 m from its WGS-84 one.
  const [gcj, wgs] = await Promise.all(['gcj02', 'wgs84'].map(async (crs) => new Map(
    (await app.api(`/api/merchants?limit=2000&crs=${crs}`)).features
      .map((f) => [f.properties.id, f.geometry.coordinates]))));
  const outlet = (await app.api('/api/outlets?crs=gcj02')).features.find((f) => f.properties.is_ours);
  await jumpTo(page, outlet.geometry.coordinates, 15.5);
  const merchants = [...new Map((await tileFeatures(page, 'merchants')).map((f) => [f.properties.id, f])).values()];
  assert.ok(merchants.length > 0, 'merchants loaded');
  const off = [];
  for (const f of merchants) {
    const id = f.properties.id;
    const g = distanceM(f.coordinates, gcj.get(id));
    assert.ok(g < 1, `merchant ${id} at ${f.coordinates} is ${g.toFixed(2)} m from its GCJ-02 position per the API ${gcj.get(id)}`);
    const d = distanceM(f.coordinates, wgs.get(id));
    assert.ok(d >= 100 && d <= 800, `merchant ${id} is ${d.toFixed(0)} m from its WGS-84 position`);
    off.push(d);
  }
  // The single-merchant endpoint agrees, for a few of them.
  for (const f of [merchants[0], merchants[Math.floor(merchants.length / 2)], merchants[merchants.length - 1]]) {
    const id = f.properties.id;
    const one = await app.api(`/api/merchants/${id}?crs=gcj02`);
    const g = distanceM(f.coordinates, one.geometry.coordinates);
    assert.ok(g < 1, `merchant ${id} is ${g.toFixed(2)} m from /api/merchants/${id}?crs=gcj02`);
    const w = await app.api(`/api/merchants/${id}?crs=wgs84`);
    const d = distanceM(f.coordinates, w.geometry.coordinates);
    assert.ok(d >= 100 && d <= 800, `merchant ${id} is ${d.toFixed(0)} m from /api/merchants/${id}?crs=wgs84`);
  }

  // Outlets move the same way.
  const outlets = (await sourceData(page, 'outlets')).features;
  const apiOutlets = new Map((await app.api('/api/outlets?crs=gcj02')).features
    .map((f) => [f.properties.id, f.geometry.coordinates]));
  assert.equal(outlets.length, apiOutlets.size);
  for (const f of outlets) {
    const [gx, gy] = apiOutlets.get(f.properties.id);
    assert.ok(Math.abs(f.geometry.coordinates[0] - gx) <= 1e-9 && Math.abs(f.geometry.coordinates[1] - gy) <= 1e-9,
      `outlet ${f.properties.id} at its GCJ-02 position`);
  }
  t.diagnostic(`GCJ-02 offset over ${off.length} merchants in view: ${Math.min(...off).toFixed(0)}-${Math.max(...off).toFixed(0)} m`);
  assertNoIssues(issues);
});
