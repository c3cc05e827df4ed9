// Ecosystem coverage in the map app: merchants from vector tiles (points and clusters), an
// outlet's life circles, the H3 coverage grid, drawing an area to survey it, and the table that
// compares our outlets. Every figure is checked against the API (or the tiles' GeoJSON twin).
import assert from 'node:assert/strict';
import { test } from 'node:test';

import {
  assertNoIssues, distanceM, eventually, jumpTo, renderedFeatures, sourceData, tileFeatures, tilesCovering,
  useApp, waitForMapIdle,
} from './harness.mjs';

const app = useApp();
const LONG = { timeout: 90_000 };
const PHONE = { width: 390, height: 844 };
/** The server sends single merchants from this zoom on, clusters below it. */
const DETAIL_ZOOM = 14;
/** The page's merchant and coverage tiles stop at this zoom (drawn larger above it). */
const TILE_MAX_ZOOM = 16;
const OUTLET = 'OUT01';
const CLICKABLE = ['outlets-ours', 'outlets-competitors', 'merchants', 'merchant-clusters', 'communities', 'areas'];

/** The share as the page shows it: one decimal and a per cent sign. */
const pct1 = (x) => `${(100 * x).toFixed(1)}%`;
/** A number as the page shows it (thousands with commas), back to a number. */
const num = (s) => Number(String(s).replace(/,/g, '').trim());

async function outletAt(id, as) {
  const o = (await app.api('/api/outlets', as)).features.find((f) => f.properties.id === id);
  assert.ok(o, `${as} sees outlet ${id}`);
  return o;
}

/** The tile zoom the page draws at its current zoom. */
async function tileZoom(page) {
  return Math.min(Math.floor(await page.evaluate(() => window.ecomap.map.getZoom())), TILE_MAX_ZOOM);
}

/** The GeoJSON twins (as `as`) of the tiles of `layer` that cover the page's view: id -> feature. */
async function tilesInView(page, layer, as, key = (f) => f.properties.id) {
  const bounds = await page.evaluate(() => window.ecomap.map.getBounds().toArray());
  const z = await tileZoom(page);
  const tiles = tilesCovering(bounds, z);
  const byKey = new Map();
  for (const { x, y } of tiles) {
    const fc = await app.api(`/tiles/${layer}/${z}/${x}/${y}.geojson`, as);
    assert.equal(fc.layer, layer);
    for (const f of fc.features) byKey.set(key(f), f);
  }
  return { z, tiles, byKey };
}

/**
 * The topmost clickable feature at [lon, lat] on screen ({layer, id, coordinates}), or null,
 * also null when an outlet or a label lies within 10 px (a click there is the outlet's).
 */
function topAt(page, lonLat) {
  return page.evaluate(([c, layers]) => {
    const m = window.ecomap.map;
    const p = m.project(c);
    const near = m.queryRenderedFeatures([[p.x - 10, p.y - 10], [p.x + 10, p.y + 10]],
      { layers: ['outlets-ours', 'outlets-competitors', 'areas-label'] });
    if (near.length) return null;
    const hits = m.queryRenderedFeatures(p, { layers });
    return hits.length ? { layer: hits[0].layer.id, id: hits[0].properties.id ?? null, coordinates: hits[0].geometry.coordinates } : null;
  }, [lonLat, CLICKABLE]);
}

/** Whether [lon, lat] is on screen, clear of the legend and the panel. */
function clearOnScreen(page, lonLat) {
  return page.evaluate((c) => {
    const m = window.ecomap.map;
    const p = m.project(c);
    const r = m.getContainer().getBoundingClientRect();
    const x = r.left + p.x;
    const y = r.top + p.y;
    if (p.x < 20 || p.y < 20 || p.x > r.width - 60 || p.y > r.height - 40) return false;
    return ['legend', 'panel', 'draw-bar'].every((id) => {
      const el = document.getElementById(id);
      if (!el || el.hidden) return true;
      const b = el.getBoundingClientRect();
      return x < b.left - 12 || x > b.right + 12 || y < b.top - 12 || y > b.bottom + 12;
    });
  }, lonLat);
}

async function clickAt(page, lonLat) {
  const px = await page.evaluate((c) => {
    const p = window.ecomap.map.project(c);
    return { x: p.x, y: p.y };
  }, lonLat);
  const box = await page.locator('#map canvas').first().boundingBox();
  await page.mouse.click(box.x + px.x, box.y + px.y);
}

test('merchants_are_drawn_from_vector_tiles', LONG, async (t) => {
  const { page, issues, requests } = await app.open(t, '/', { login: 'zgq' });
  const src = await page.evaluate(() => window.ecomap.map.getStyle().sources.merchants);
  assert.equal(src.type, 'vector', "source 'merchants' is a vector tile source");
  assert.match(src.tiles[0], /\/tiles\/merchants\/\{z\}\/\{x\}\/\{y\}\.mvt$/);
  assert.ok(requests.some((r) => /^GET \/tiles\/merchants\/\d+\/\d+\/\d+\.mvt$/.test(r)), 'the page fetched merchant tiles');
  const lists = requests.filter((r) => r.startsWith('GET /api/merchants?'));
  assert.ok(lists.every((r) => /[?&]limit=1(&|$)/.test(r) && !r.includes('bbox=')),
    `no merchant list is fetched for the map (only the total): ${lists.join(', ')}`);
  assert.equal(await page.evaluate(() => window.ecomap.counts.merchants),
    (await app.api('/api/merchants?limit=1', 'zgq')).total, 'ecomap.counts.merchants is the total');
  const outlet = await outletAt(OUTLET, 'zgq');

  // Close up: single points, exactly the features of the tiles in view, coloured by status.
  await jumpTo(page, outlet.geometry.coordinates, DETAIL_ZOOM + 1.5);
  const twins = await tilesInView(page, 'merchants', 'zgq');
  assert.equal(twins.z, DETAIL_ZOOM + 1);
  assert.ok(twins.byKey.size > 0, 'the tiles in view hold merchants');
  const loaded = new Map((await tileFeatures(page, 'merchants')).map((f) => [f.properties.id, f]));
  assert.deepEqual([...loaded.keys()].sort(), [...twins.byKey.keys()].sort(),
    "querySourceFeatures('merchants') = the merchants of /tiles/merchants/z/x/y.geojson in view");
  for (const [id, f] of loaded) {
    const g = twins.byKey.get(id);
    for (const k of ['name', 'category', 'status', 'signed', 'cluster']) {
      assert.equal(f.properties[k], g.properties[k], `merchant ${id}: ${k}`);
    }
    assert.ok(distanceM(f.coordinates, g.geometry.coordinates) < 0.5, `merchant ${id} where its GeoJSON tile puts it`);
  }
  // Each point is drawn in its status's colour: read the canvas at isolated points.
  const statusColors = await page.evaluate(() => {
    const e = window.ecomap.map.getPaintProperty('merchants', 'circle-color');
    const out = {};
    for (let i = 2; i + 1 < e.length; i += 2) out[e[i]] = e[i + 1];
    return out;
  });
  assert.ok(Object.keys(statusColors).length >= 7, `one colour per status: ${JSON.stringify(statusColors)}`);
  assert.equal(new Set(Object.values(statusColors)).size, Object.keys(statusColors).length, 'the colours differ');
  const pixels = await page.evaluate((pts) => {
    const m = window.ecomap.map;
    const gl = m.getCanvas();
    const c = document.createElement('canvas');
    c.width = gl.width; c.height = gl.height;
    const ctx = c.getContext('2d');
    ctx.drawImage(gl, 0, 0);
    const k = gl.width / gl.clientWidth;
    const px = pts.map(([id, ll]) => [id, m.project(ll)]);
    return px.filter(([id, p]) => p.x > 20 && p.y > 20 && p.x < gl.clientWidth - 20 && p.y < gl.clientHeight - 20
      && px.every(([o, q]) => o === id || Math.hypot(q.x - p.x, q.y - p.y) > 16)
      && m.queryRenderedFeatures(p, { layers: ['outlets-ours', 'outlets-competitors', 'areas-label'] }).length === 0)
      .slice(0, 12)
      .map(([id, p]) => [id, [...ctx.getImageData(Math.round(p.x * k), Math.round(p.y * k), 1, 1).data].slice(0, 3)]);
  }, [...loaded.values()].map((f) => [f.properties.id, f.coordinates]));
  assert.ok(pixels.length >= 3, `isolated merchant points to look at: ${pixels.length}`);
  const rgb = (hex) => [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));
  for (const [id, got] of pixels) {
    const want = rgb(statusColors[loaded.get(id).properties.status]);
    assert.ok(got.every((v, i) => Math.abs(v - want[i]) <= 12),
      `merchant ${id} (${loaded.get(id).properties.status}) drawn in ${got}, its status colour is ${want}`);
  }

  // Clicking a point opens the merchant, as the API has it.
  const candidates = [...loaded.values()];
  let picked = null;
  for (const f of candidates) {
    if (!(await clearOnScreen(page, f.coordinates))) continue;
    const top = await topAt(page, f.coordinates);
    if (top && top.layer === 'merchants' && top.id === f.properties.id) { picked = f; break; }
  }
  assert.ok(picked, 'a merchant point on screen that nothing covers');
  const merchant = await app.api(`/api/merchants/${picked.properties.id}`, 'zgq');
  await clickAt(page, picked.coordinates);
  await eventually(async () => {
    const text = await page.locator('#merchant-detail').innerText();
    assert.ok(text.includes(merchant.properties.name) && text.includes(merchant.properties.category_zh),
      `#merchant-detail "${text}" shows ${merchant.properties.name} (${merchant.properties.category_zh})`);
  });
  assert.ok(requests.some((r) => r.startsWith(`GET /api/merchants/${picked.properties.id}?`)), 'the details come from /api/merchants/{id}');
  await page.locator('#panel .close').click();

  // Further out: clusters sized by count with the count as a label, as the tiles say.
  await jumpTo(page, outlet.geometry.coordinates, DETAIL_ZOOM - 1.5);
  const far = await tilesInView(page, 'merchants', 'zgq', (f) => f.geometry.coordinates.join(','));
  assert.ok([...far.byKey.values()].every((f) => f.properties.cluster === 1), `clusters at tile zoom ${far.z}`);
  const clusters = await renderedFeatures(page, ['merchant-clusters']);
  assert.ok(clusters.length > 3, 'clusters on screen');
  assert.equal((await renderedFeatures(page, ['merchants'])).length, 0, 'no single points below zoom 14');
  for (const c of clusters) {
    const twin = [...far.byKey.values()].find((g) => distanceM(g.geometry.coordinates, c.coordinates) < 1);
    assert.ok(twin, `cluster at ${c.coordinates} is one of the tiles' clusters`);
    assert.equal(c.properties.count, twin.properties.count, 'cluster count');
    assert.equal(c.properties.signed, twin.properties.signed, 'cluster signed count');
  }
  const radius = await page.evaluate(() => window.ecomap.map.getPaintProperty('merchant-clusters', 'circle-radius'));
  assert.match(JSON.stringify(radius), /"count"/, `cluster radius grows with the count: ${JSON.stringify(radius)}`);
  const labels = await renderedFeatures(page, ['merchant-cluster-count']);
  assert.ok(labels.length > 0, 'cluster counts are labelled');
  const images = await page.evaluate((ns) => ns.map((n) => window.ecomap.map.hasImage(`count-${n}`)),
    labels.map((l) => l.properties.count));
  assert.ok(images.every(Boolean), 'each label shows its own count');
  // The clusters of the tiles in view add up to the user's merchants in those tiles.
  const mine = (await app.api('/api/merchants?limit=2000', 'zgq')).features;
  const inTiles = mine.filter((m) => far.tiles.some(({ z, x, y }) => {
    const [lon, lat] = m.geometry.coordinates;
    const n = 2 ** z;
    const r = (lat * Math.PI) / 180;
    return Math.floor(((lon + 180) / 360) * n) === x
      && Math.floor(((1 - Math.log(Math.tan(r) + 1 / Math.cos(r)) / Math.PI) / 2) * n) === y;
  })).length;
  assert.equal([...far.byKey.values()].reduce((s, f) => s + f.properties.count, 0), inTiles,
    'cluster counts add up to the merchants in the tiles');

  // Clicking a cluster zooms in on it.
  const big = [...clusters].sort((a, b) => b.properties.count - a.properties.count);
  let target = null;
  for (const c of big) {
    if (!(await clearOnScreen(page, c.coordinates))) continue;
    const top = await topAt(page, c.coordinates);
    if (top && top.layer === 'merchant-clusters' && distanceM(top.coordinates, c.coordinates) < 0.5) { target = c; break; }
  }
  assert.ok(target, 'a cluster on screen that nothing covers');
  const zoomBefore = await page.evaluate(() => window.ecomap.map.getZoom());
  await clickAt(page, target.coordinates);
  await eventually(async () => {
    await waitForMapIdle(page);
    const { zoom, center } = await page.evaluate(() => ({
      zoom: window.ecomap.map.getZoom(), center: window.ecomap.map.getCenter().toArray(),
    }));
    assert.ok(zoom >= zoomBefore + 1, `zoomed in from ${zoomBefore} to ${zoom}`);
    const d = distanceM(center, target.coordinates);
    assert.ok(d < 5, `centred on the cluster: ${d.toFixed(1)} m away`);
  });
  assertNoIssues(issues);
});

test('life_circles_show_the_apis_summaries', LONG, async (t) => {
  const { page, issues } = await app.open(t, '/', { login: 'zgq' });
  const want = await app.api(`/api/outlets/${OUTLET}/circles`, 'zgq');
  const circles = want.features.map((f) => f.properties).sort((a, b) => a.minutes - b.minutes);
  assert.deepEqual(circles.map((c) => c.minutes), [5, 10, 15]);
  await page.evaluate((id) => window.ecomap.selectOutlet(id), OUTLET);
  const tab = page.locator('#tab-circles');
  assert.equal((await tab.innerText()).trim(), '生活圈');
  await tab.click();
  await page.waitForSelector('#circles-table');

  // One column per circle, one row per figure, as the API counts them.
  const cell = (metric, minutes) => page.locator(`#circles-table tr[data-metric="${metric}"] td[data-minutes="${minutes}"]`).innerText();
  for (const c of circles) {
    assert.equal(num(await cell('merchants', c.minutes)), c.merchants, `${c.minutes} min: merchants`);
    assert.equal(num(await cell('signed', c.minutes)), c.signed, `${c.minutes} min: signed`);
    assert.equal((await cell('signed_share', c.minutes)).trim(), pct1(c.signed_share), `${c.minutes} min: signed share`);
    assert.equal(num(await cell('communities', c.minutes)), c.communities, `${c.minutes} min: communities`);
    assert.equal(num(await cell('households', c.minutes)), c.households, `${c.minutes} min: households`);
    assert.equal(num(await cell('competitor_outlets', c.minutes)), c.competitor_outlets.length, `${c.minutes} min: competitors`);
    assert.equal(num(await cell('competitor_signed_merchants', c.minutes)), c.competitor_signed_merchants,
      `${c.minutes} min: merchants signed with competitors`);
    const head = await page.locator(`#circles-table th[data-minutes="${c.minutes}"]`).innerText();
    assert.ok(head.includes(`${c.minutes}分钟`) && head.includes(`${Math.round(c.walking_m)} m`), `column "${head}"`);
  }
  // The outlet's community coverage share.
  const cov = want.community_coverage;
  const coverage = await page.locator('#circles-coverage').innerText();
  assert.ok(coverage.includes(pct1(cov.share)), `"${coverage}" shows ${pct1(cov.share)}`);
  assert.ok(coverage.replace(/,/g, '').includes(`${cov.covered_households} / ${cov.households}`),
    `"${coverage}" shows ${cov.covered_households} of ${cov.households} households`);
  // The competitor outlets by name.
  const outer = circles[circles.length - 1];
  const outlets = (await app.api('/api/outlets', 'zgq')).features;
  if (outer.competitor_outlets.length) {
    const text = await page.locator('#circle-competitors').innerText();
    for (const id of outer.competitor_outlets) {
      const name = outlets.find((o) => o.properties.id === id).properties.name;
      assert.ok(text.includes(name), `"${text}" names ${name}`);
    }
  }

  // Categories of the outermost circle, then of the 5-minute one.
  const catRows = () => page.$$eval('#circle-categories tr[data-code]', (rows) => rows.map((r) => ({
    code: r.dataset.code, total: Number(r.querySelector('.total').textContent), signed: Number(r.querySelector('.signed').textContent),
  })));
  const expectCats = (c) => Object.entries(c.by_category).map(([code, v]) => ({ code, total: v.total, signed: v.signed }))
    .sort((a, b) => b.total - a.total || a.code.localeCompare(b.code));
  assert.deepEqual(await catRows(), expectCats(outer));
  await page.locator('#circle-pick button[data-minutes="5"]').click();
  await eventually(async () => assert.deepEqual(await catRows(), expectCats(circles[0])));
  const statuses = await page.$$eval('#circle-status [data-status]', (els) => Object.fromEntries(
    els.map((e) => [e.dataset.status, Number(e.querySelector('b').textContent)])));
  assert.deepEqual(statuses, circles[0].by_status);

  // The three circles are drawn, as the API's polygons.
  await eventually(async () => {
    const drawn = await sourceData(page, 'circles');
    assert.deepEqual(drawn.features.map((f) => f.properties.minutes).sort(), [10, 15, 5].sort());
    for (const f of drawn.features) {
      const w = want.features.find((g) => g.properties.minutes === f.properties.minutes);
      assert.deepEqual(f.geometry, w.geometry, `the ${f.properties.minutes}-minute circle`);
    }
  });
  await waitForMapIdle(page);
  const lines = await renderedFeatures(page, ['circles-line']);
  assert.deepEqual([...new Set(lines.map((l) => l.properties.minutes))].sort(), [10, 15, 5].sort(), 'all three circles on screen');

  // A competitor's outlet has circles too (and no priorities); the tab stays.
  const rival = outlets.find((o) => !o.properties.is_ours);
  const theirs = await app.api(`/api/outlets/${rival.properties.id}/circles`, 'zgq');
  await page.evaluate((id) => window.ecomap.selectOutlet(id), rival.properties.id);
  await eventually(async () => {
    assert.equal(await page.locator('#panel').getAttribute('data-outlet-id'), rival.properties.id);
    assert.equal(await page.locator('#tab-priorities').count(), 0, 'no priorities for a competitor');
    const c15 = theirs.features.find((f) => f.properties.minutes === 15).properties;
    assert.equal(num(await cell('merchants', 15)), c15.merchants, `${rival.properties.id}: 15 min merchants`);
  });

  // Leaving the tab, and closing the panel, take the circles off the map.
  await page.locator('#tab-nearby').click();
  await eventually(async () => assert.equal((await sourceData(page, 'circles')).features.length, 0, 'circles cleared'));
  await page.locator('#tab-circles').click();
  await eventually(async () => assert.equal((await sourceData(page, 'circles')).features.length, 3));
  await page.locator('#panel .close').click();
  await eventually(async () => assert.equal((await sourceData(page, 'circles')).features.length, 0, 'closing clears the circles'));
  assertNoIssues(issues);
});

test('coverage_grid_toggles_with_a_legend_and_matches_the_tiles', LONG, async (t) => {
  const { page, issues, requests } = await app.open(t, '/', { login: 'zgq' });
  const toggle = page.locator('#grid-toggle');
  const label = await page.locator('#grid-controls label').first().innerText();
  assert.match(label, /覆盖网格/);
  assert.equal(await toggle.isChecked(), false, 'the grid starts off');
  assert.equal(await page.locator('#grid-legend').isVisible(), false, 'no grid legend while it is off');
  assert.ok(!requests.some((r) => r.includes('/tiles/coverage/')), 'no coverage tiles while the grid is off');
  const outlet = await outletAt(OUTLET, 'zgq');
  await jumpTo(page, outlet.geometry.coordinates, 13.5);

  await toggle.check();
  await waitForMapIdle(page);
  const legend = page.locator('#grid-legend');
  await eventually(async () => {
    assert.equal(await legend.isVisible(), true, 'the legend shows with the grid');
    const text = await legend.innerText();
    assert.ok(text.includes('空白区'), `the legend has 空白区: "${text}"`);
    assert.ok(text.includes('0%') && text.includes('≥60%'), `the legend shows the signed-share scale: "${text}"`);
  });
  const visibility = (l) => page.evaluate((l) => window.ecomap.map.getLayoutProperty(l, 'visibility') ?? 'visible', l);
  for (const l of ['coverage', 'coverage-whitespace']) assert.equal(await visibility(l), 'visible', `${l} shown`);
  const src = await page.evaluate(() => window.ecomap.map.getStyle().sources.coverage);
  assert.equal(src.type, 'vector');
  assert.match(src.tiles[0], /\/tiles\/coverage\/\{z\}\/\{x\}\/\{y\}\.mvt$/);

  // The hexes on screen are the tiles' hexes (resolution 9 at zoom 13), figures and all.
  const twins = await tilesInView(page, 'coverage', 'zgq', (f) => f.properties.cell);
  const drawn = await renderedFeatures(page, ['coverage']);
  assert.ok(drawn.length > 10, 'hexes on screen');
  const cells = new Map(drawn.map((f) => [f.properties.cell, f.properties]));
  for (const [cell, p] of cells) {
    assert.equal(p.resolution, 9, `hex ${cell} is resolution 9 at zoom 13`);
    const g = twins.byKey.get(cell);
    assert.ok(g, `hex ${cell} is in /tiles/coverage/13/x/y.geojson`);
    for (const k of ['merchants', 'signed', 'prospects', 'households', 'whitespace']) {
      assert.equal(p[k], g.properties[k], `hex ${cell}: ${k}`);
    }
  }
  // White space is outlined: exactly the white-space hexes on screen.
  const ws = new Set([...cells].filter(([, p]) => p.whitespace === 1).map(([c]) => c));
  assert.ok(ws.size > 0, 'white space on screen around the outlet');
  const outlined = new Set((await renderedFeatures(page, ['coverage-whitespace'])).map((f) => f.properties.cell));
  assert.deepEqual([...outlined].sort(), [...ws].sort(), 'the outlined hexes are the white-space hexes');

  // The grid API agrees on the same cells (a box well beyond the view, so no hex is cut) about
  // the user's merchants. (Households and white space are left out: /api/coverage/grid counts
  // the households of communities outside the user's scope, the tiles do not.)
  const [[w, s], [e, n]] = await page.evaluate(() => window.ecomap.map.getBounds().toArray());
  const pad = 0.02;
  const bbox = [w - pad, s - pad, e + pad, n + pad].map((v) => v.toFixed(6)).join(',');
  const grid = await app.api(`/api/coverage/grid?bbox=${bbox}&resolution=9`, 'zgq');
  const apiCells = new Map(grid.features.map((f) => [f.properties.cell, f.properties]));
  for (const [cell, p] of cells) {
    const a = apiCells.get(cell);
    if (!a) {
      assert.equal(p.merchants, 0, `hex ${cell} has merchants but /api/coverage/grid lacks it`);
      continue;
    }
    for (const k of ['merchants', 'signed', 'prospects']) assert.equal(p[k], a[k], `hex ${cell}: ${k} vs the grid API`);
  }

  // Colouring by merchants changes the fill and the legend's scale.
  const fillBefore = await page.evaluate(() => JSON.stringify(window.ecomap.map.getPaintProperty('coverage', 'fill-color')));
  await page.selectOption('#grid-mode', 'merchants');
  await eventually(async () => {
    const fill = await page.evaluate(() => JSON.stringify(window.ecomap.map.getPaintProperty('coverage', 'fill-color')));
    assert.notEqual(fill, fillBefore, 'the fill colour changes');
    assert.ok(!fill.includes('"signed"'), 'coloured by merchants only');
    const text = await page.locator('#grid-ramp').innerText();
    assert.ok(!text.includes('%') && text.includes('≥60'), `merchant counts in the legend: "${text}"`);
  });

  // Off again: hidden, legend gone.
  await toggle.uncheck();
  await eventually(async () => {
    for (const l of ['coverage', 'coverage-whitespace']) assert.equal(await visibility(l), 'none', `${l} hidden`);
    assert.equal(await legend.isVisible(), false, 'the legend goes with the grid');
  });
  await waitForMapIdle(page);
  assert.equal((await renderedFeatures(page, ['coverage'])).length, 0, 'no hexes drawn');
  assertNoIssues(issues);
});

/** Draws a polygon by clicking `pixels` (map-relative) and double-clicking the last one. */
async function drawPolygon(page, pixels) {
  const box = await page.locator('#map canvas').first().boundingBox();
  for (const [x, y] of pixels) await page.mouse.click(box.x + x, box.y + y);
  return box;
}

test('drawn_area_survey_equals_post_api_survey', LONG, async (t) => {
  const { page, issues, requests } = await app.open(t, '/', { login: 'zgq' });
  const outlet = await outletAt(OUTLET, 'zgq');
  await jumpTo(page, outlet.geometry.coordinates, 15);
  const button = page.locator('#draw-area');
  assert.equal((await button.innerText()).trim(), '绘制商圈');
  await button.click();
  await eventually(async () => assert.equal(await page.locator('#draw-bar').isVisible(), true, 'the drawing bar shows'));
  assert.match(await page.locator('#draw-bar').innerText(), /完成/);
  assert.equal(await page.locator('#draw-finish').isDisabled(), true, 'nothing to finish yet');

  // Four corners around the outlet; the last one double-clicked.
  const pixels = [[380, 200], [760, 180], [800, 560], [420, 600]];
  const box = await drawPolygon(page, pixels.slice(0, 3));
  await eventually(async () => {
    const vertices = (await sourceData(page, 'draw')).features.filter((f) => f.geometry.type === 'Point');
    assert.equal(vertices.length, 3, 'three points so far');
  });
  assert.match(await page.locator('#draw-hint').innerText(), /3/);
  const [x, y] = pixels[3];
  await page.mouse.dblclick(box.x + x, box.y + y);

  await page.waitForSelector('#survey-kpis');
  assert.equal(await page.locator('#draw-bar').isVisible(), false, 'the drawing bar goes once finished');
  const posted = requests.filter((r) => r.startsWith('POST /api/survey'));
  assert.deepEqual(posted, ['POST /api/survey?crs=wgs84'], 'one survey, in the map\'s coordinates');
  // The polygon is where the clicks were.
  const shape = (await sourceData(page, 'draw')).features.filter((f) => f.geometry.type === 'Polygon');
  assert.equal(shape.length, 1, 'the drawn polygon stays on the map');
  const ring = shape[0].geometry.coordinates[0];
  assert.equal(ring.length, 5, 'four corners and the closing point');
  assert.deepEqual(ring[0], ring[4]);
  const clicked = await page.evaluate((pts) => pts.map(([x, y]) => window.ecomap.map.unproject([x, y]).toArray()), pixels);
  ring.slice(0, 4).forEach((p, i) => assert.ok(distanceM(p, clicked[i]) < 1, `corner ${i} where it was clicked`));

  // The panel shows what the API says for that polygon.
  const want = await app.post('/api/survey?crs=wgs84', shape[0].geometry, 'zgq');
  assert.ok(want.merchants > 0, 'the drawn area has merchants');
  const kpi = (k) => page.locator(`#survey-kpis [data-kpi="${k}"] b`).innerText();
  assert.equal(num(await kpi('merchants')), want.merchants);
  const signed = await kpi('signed');
  assert.ok(signed.replace(/,/g, '').startsWith(String(want.signed)) && signed.includes(pct1(want.signed_share)),
    `signed "${signed}" is ${want.signed} (${pct1(want.signed_share)})`);
  assert.equal(num(await kpi('households')), want.households_in_reach);
  assert.equal(num(await kpi('banks')), want.competitor_outlets.length);
  const split = await page.$$eval('#survey-signed [data-signed]', (els) => Object.fromEntries(
    els.map((e) => [e.dataset.signed, Number(e.querySelector('b').textContent.replace(/,/g, ''))])));
  assert.deepEqual(split, { yes: want.signed, no: want.merchants - want.signed }, 'signed vs not signed');
  const mix = await page.$$eval('#survey-mix tr[data-code]', (rows) => rows.map((r) => ({
    code: r.dataset.code, count: Number(r.querySelector('.count').textContent), signed: Number(r.querySelector('.signed').textContent),
  })));
  assert.deepEqual(mix, want.mix.map((r) => ({ code: r.code, count: r.count, signed: r.signed })), 'the business mix');
  const cats = (await app.api('/api/categories')).categories;
  assert.match(await page.locator(`#survey-mix tr[data-code="${want.mix[0].code}"] td`).first().innerText(),
    new RegExp(cats.find((c) => c.code === want.mix[0].code).zh), 'categories in Chinese');
  const ids = (sel, attr) => page.$$eval(sel, (els, a) => els.map((e) => e.getAttribute(a)), attr);
  assert.deepEqual(await ids('#survey-prospects li[data-merchant-id]', 'data-merchant-id'), want.top_prospects.map((p) => p.id));
  assert.deepEqual(await ids('#survey-communities tr[data-id]', 'data-id'), want.communities_in_reach.map((c) => c.id));
  assert.deepEqual(await ids('#survey-banks tr[data-id]', 'data-id'), want.competitor_outlets.map((o) => o.id));

  // A prospect opens as a merchant.
  const first = want.top_prospects[0];
  await page.locator(`#survey-prospects li[data-merchant-id="${first.id}"]`).click();
  await eventually(async () => assert.ok((await page.locator('#merchant-detail').innerText()).includes(first.name)));

  // Drawing again and pressing Esc cancels: no survey, the last polygon back on the map.
  await button.click();
  await eventually(async () => assert.equal(await page.locator('#draw-bar').isVisible(), true));
  await drawPolygon(page, [[300, 300], [500, 320]]);
  await eventually(async () => assert.equal((await sourceData(page, 'draw')).features
    .filter((f) => f.geometry.type === 'Point').length, 2));
  await page.keyboard.press('Escape');
  await eventually(async () => {
    assert.equal(await page.locator('#draw-bar').isVisible(), false, 'Esc ends drawing');
    const left = (await sourceData(page, 'draw')).features;
    assert.deepEqual(left.map((f) => f.geometry.type), ['Polygon'], 'the sketch is gone, the surveyed polygon stays');
    assert.deepEqual(left[0].geometry.coordinates[0], ring);
  });
  assert.equal(requests.filter((r) => r.startsWith('POST /api/survey')).length, 1, 'no survey for a cancelled drawing');

  // Closing the panel clears the polygon.
  await page.locator('#panel .close').click();
  await eventually(async () => assert.equal((await sourceData(page, 'draw')).features.length, 0));
  assertNoIssues(issues);
});

/** The comparison table's rows: outlet ids in order, and each row's cells by column. */
function compareRows(page) {
  return page.$$eval('#compare-table tbody tr[data-outlet-id]', (rows) => rows.map((r) => ({
    id: r.dataset.outletId,
    cells: Object.fromEntries([...r.querySelectorAll('td[data-col]')].map((td) => [td.dataset.col,
      td.dataset.col === 'gaps' ? [...td.querySelectorAll('.gap')].map((g) => g.dataset.code) : td.textContent.trim()])),
  })));
}

/** The API rows as the table shows them. */
function shown(r) {
  const int = (n) => Number(n).toLocaleString('en-US');
  return {
    id: r.outlet_id,
    cells: {
      name: r.name, merchants_500m: int(r.merchants_500m), signed_share_500m: pct1(r.signed_share_500m),
      merchants_1km: int(r.merchants_1km), signed_share_1km: pct1(r.signed_share_1km), households_1km: int(r.households_1km),
      covered_households_share: pct1(r.covered_households_share), whitespace_hexes_1km: int(r.whitespace_hexes_1km),
      competitor_outlets_1km: int(r.competitor_outlets_1km), gaps: r.gaps,
    },
  };
}

test('outlet_comparison_lists_the_apis_rows_and_sorts', LONG, async (t) => {
  // A branch user: their branch's outlets, in the API's order.
  const zgq = await app.open(t, '/', { login: 'zgq' });
  const mine = await app.api('/api/coverage/outlets', 'zgq');
  assert.ok(mine.outlets.length > 0, 'zgq has outlets to compare');
  const open = zgq.page.locator('#compare-open');
  assert.equal((await open.innerText()).trim(), '网点对比');
  await open.click();
  await zgq.page.waitForSelector('#compare-table');
  assert.deepEqual(await compareRows(zgq.page), mine.outlets.map(shown), "zgq's table is the API's rows");
  assert.equal(await zgq.page.locator('#compare-branch').count(), 0, 'one branch: nothing to choose');
  const gaps = mine.outlets.find((r) => r.gaps.length);
  if (gaps) {
    const cats = (await app.api('/api/categories')).categories;
    const text = await zgq.page.locator(`#compare-table tr[data-outlet-id="${gaps.outlet_id}"] td[data-col="gaps"]`).innerText();
    for (const g of gaps.gaps) assert.ok(text.includes(cats.find((c) => c.code === g).zh), `gaps "${text}" name ${g}`);
  }
  // An outlet's name opens it.
  const second = mine.outlets[mine.outlets.length - 1];
  await zgq.page.locator(`#compare-table tr[data-outlet-id="${second.outlet_id}"] button[data-open]`).click();
  await eventually(async () => assert.equal(await zgq.page.locator('#panel').getAttribute('data-outlet-id'), second.outlet_id));
  assertNoIssues(zgq.issues, "zgq's page");

  // The administrator: every outlet, sortable, and one branch at a time.
  const { page, issues, requests } = await app.open(t, '/');
  const all = await app.api('/api/coverage/outlets');
  assert.ok(all.outlets.length >= 4, 'several outlets to sort');
  await page.locator('#compare-open').click();
  await page.waitForSelector('#compare-table');
  assert.deepEqual(await compareRows(page), all.outlets.map(shown), "the admin's table is the API's rows");

  const sorted = (key, dir, val = (r) => r[key]) => all.outlets.slice()
    .sort((a, b) => dir * (typeof val(a) === 'string' ? val(a).localeCompare(val(b), 'zh-CN') : val(a) - val(b)))
    .map((r) => r.outlet_id);
  const order = async () => (await compareRows(page)).map((r) => r.id);
  const header = (k) => page.locator(`#compare-table th[data-sort="${k}"]`);
  await header('merchants_1km').click();
  await eventually(async () => assert.deepEqual(await order(), sorted('merchants_1km', -1), 'most merchants first'));
  assert.equal(await header('merchants_1km').getAttribute('aria-sort'), 'descending');
  await header('merchants_1km').click();
  await eventually(async () => assert.deepEqual(await order(), sorted('merchants_1km', 1), 'fewest merchants first'));
  assert.equal(await header('merchants_1km').getAttribute('aria-sort'), 'ascending');
  await header('covered_households_share').click();
  await eventually(async () => assert.deepEqual(await order(), sorted('covered_households_share', -1)));
  await header('gaps').click();
  await eventually(async () => assert.deepEqual(await order(), sorted('gaps', -1, (r) => r.gaps.length), 'most gaps first'));
  await header('name').click();
  await eventually(async () => assert.deepEqual(await order(), sorted('name', 1), 'by name'));
  assert.notDeepEqual(sorted('merchants_1km', -1), sorted('merchants_1km', 1), 'sorting has something to reorder');
  // Sorting moves whole rows: each row still shows its own outlet's figures.
  const rows = await compareRows(page);
  for (const r of rows) assert.deepEqual(r, shown(all.outlets.find((o) => o.outlet_id === r.id)));

  // One branch.
  const branches = [...new Set((await app.api('/api/outlets?ours=true')).features.map((f) => f.properties.parent_org_id))].sort();
  const branch = branches[1];
  const theirs = await app.api(`/api/coverage/outlets?branch=${branch}`);
  await page.selectOption('#compare-branch', branch);
  await eventually(async () => assert.deepEqual((await compareRows(page)).map((r) => r.id).sort(),
    theirs.outlets.map((r) => r.outlet_id).sort(), `branch ${branch}'s outlets`));
  assert.ok(requests.includes(`GET /api/coverage/outlets?branch=${branch}`), 'asked the API for that branch');
  assertNoIssues(issues);
});

test('coverage_tools_work_on_a_phone', LONG, async (t) => {
  const { page, issues, requests } = await app.open(t, '/', {
    login: 'zgq', viewport: PHONE, contextOptions: { isMobile: true, hasTouch: true },
  });
  // The legend starts folded to its buttons, leaving the map free.
  assert.equal(await page.locator('#draw-area').isVisible(), true);
  assert.equal(await page.locator('#compare-open').isVisible(), true);
  assert.equal(await page.locator('#legend-layers').isVisible(), false, 'layers folded away');
  await page.locator('#legend-toggle').tap();
  await eventually(async () => assert.equal(await page.locator('#grid-toggle').isVisible(), true, 'unfolds on request'));
  await page.locator('#legend-toggle').tap();

  // Draw with taps and the 完成 button.
  const outlet = await outletAt(OUTLET, 'zgq');
  await jumpTo(page, outlet.geometry.coordinates, 15);
  await page.locator('#draw-area').tap();
  const box = await page.locator('#map canvas').first().boundingBox();
  const bar = await page.locator('#draw-bar').boundingBox();
  assert.ok(bar.x >= 0 && bar.x + bar.width <= PHONE.width, `the drawing bar fits: ${JSON.stringify(bar)}`);
  const pixels = [[110, 250], [300, 240], [310, 480], [120, 470]];
  for (const [x, y] of pixels) {
    await page.touchscreen.tap(box.x + x, box.y + y);
    await page.waitForTimeout(350); // not a double tap
  }
  await eventually(async () => assert.equal(await page.locator('#draw-finish').isDisabled(), false));
  await page.locator('#draw-finish').tap();
  await page.waitForSelector('#survey-kpis');
  const shape = (await sourceData(page, 'draw')).features.find((f) => f.geometry.type === 'Polygon');
  assert.equal(shape.geometry.coordinates[0].length, 5, 'four tapped corners');
  const want = await app.post('/api/survey?crs=wgs84', shape.geometry, 'zgq');
  assert.equal(num(await page.locator('#survey-kpis [data-kpi="merchants"] b').innerText()), want.merchants);
  assert.equal(requests.filter((r) => r.startsWith('POST /api/survey')).length, 1);

  const sheet = async () => {
    const p = await page.locator('#panel').boundingBox();
    assert.ok(Math.abs(p.y + p.height - PHONE.height) <= 2 && p.y > 300, `#panel is a bottom sheet: ${JSON.stringify(p)}`);
    const m = await page.locator('#map').boundingBox();
    assert.ok(m.y + m.height <= p.y + 16, `the map stays above the sheet: map ${JSON.stringify(m)}, sheet ${JSON.stringify(p)}`);
    const o = await page.evaluate(() => {
      const el = document.getElementById('panel');
      return { scroll: el.scrollWidth, client: el.clientWidth, doc: document.documentElement.scrollWidth };
    });
    assert.ok(o.scroll <= o.client && o.doc <= PHONE.width, `nothing overflows sideways: ${JSON.stringify(o)}`);
  };
  await sheet();

  // The comparison and the life circles fit the sheet too (wide tables scroll inside it).
  await page.locator('#compare-open').tap();
  await page.waitForSelector('#compare-table');
  await sheet();
  await page.evaluate((id) => window.ecomap.selectOutlet(id), OUTLET);
  await page.locator('#tab-circles').tap();
  await page.waitForSelector('#circles-table');
  await sheet();
  assertNoIssues(issues);
});
