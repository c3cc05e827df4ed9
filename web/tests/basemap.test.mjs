// Base maps in GCJ-02 (AMap, Tencent): the app asks the API for GCJ-02 so points sit on the tiles.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { assertNoIssues, distanceM, sourceData, useApp } from './harness.mjs';

const app = useApp();
const LONG = { timeout: 60_000 };
/** A tile server that is never there: its failed tile requests are expected. */
const DEAD_TILES_HOST = '127.0.0.1:9';
const DEAD_TILES = `http://${DEAD_TILES_HOST}/{z}/{x}/{y}.png`;

test('gcj02_basemap_moves_points_by_the_expected_offset', LONG, async (t) => {
  const query = new URLSearchParams({ basemap: DEAD_TILES, basemap_type: 'raster', basemap_crs: 'gcj02' });
  const { page, issues } = await app.open(t, `/?${query}`, { tolerateHosts: [DEAD_TILES_HOST] });

  assert.equal(await page.evaluate(() => window.ecomap.crs), 'gcj02');
  const usesTiles = await page.evaluate((url) => Object.values(window.ecomap.map.getStyle().sources)
    .some((s) => s.type === 'raster' && (s.tiles || []).includes(url)), DEAD_TILES);
  assert.ok(usesTiles, `the style has a raster source with tiles ${DEAD_TILES}`);

  // Every merchant in the page is at its GCJ-02 position, 100-800 m from its WGS-84 one.
  const merchants = (await sourceData(page, 'merchants')).features;
  assert.ok(merchants.length > 0, 'merchants loaded');
  const [gcj, wgs] = await Promise.all(['gcj02', 'wgs84'].map(async (crs) => new Map(
    (await app.api(`/api/merchants?limit=2000&crs=${crs}`)).features
      .map((f) => [f.properties.id, f.geometry.coordinates]))));
  const off = [];
  for (const f of merchants) {
    const id = f.properties.id;
    const [x, y] = f.geometry.coordinates;
    const [gx, gy] = gcj.get(id);
    assert.ok(Math.abs(x - gx) <= 1e-9 && Math.abs(y - gy) <= 1e-9,
      `merchant ${id} at ${x},${y}; GCJ-02 per the API ${gx},${gy}`);
    const d = distanceM([x, y], wgs.get(id));
    assert.ok(d >= 100 && d <= 800, `merchant ${id} is ${d.toFixed(0)} m from its WGS-84 position`);
    off.push(d);
  }
  // The single-merchant endpoint agrees, for a few of them.
  for (const f of [merchants[0], merchants[Math.floor(merchants.length / 2)], merchants[merchants.length - 1]]) {
    const id = f.properties.id;
    const one = await app.api(`/api/merchants/${id}?crs=gcj02`);
    const [x, y] = f.geometry.coordinates;
    assert.ok(Math.abs(x - one.geometry.coordinates[0]) <= 1e-9 && Math.abs(y - one.geometry.coordinates[1]) <= 1e-9,
      `merchant ${id} vs /api/merchants/${id}?crs=gcj02`);
    const w = await app.api(`/api/merchants/${id}?crs=wgs84`);
    const d = distanceM(f.geometry.coordinates, w.geometry.coordinates);
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
  t.diagnostic(`GCJ-02 offset over ${off.length} merchants: ${Math.min(...off).toFixed(0)}-${Math.max(...off).toFixed(0)} m`);
  assertNoIssues(issues);
});
