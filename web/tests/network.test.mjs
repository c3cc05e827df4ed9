// Life circles on a real street network: the server's database is a real OpenStreetMap extract
// (Liechtenstein, 2013, ODbL; tests/fixtures/osm/README.md) imported with `ecomap import osm`
// before it starts, so the walking network is loaded. The 生活圈 tab then draws the isochrones
// the API serves (street-shaped polygons, not circles), shows the API's counts, and says that
// the distances are walked on the streets.
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';

import {
  REPO, assertNoIssues, eventually, renderedFeatures, sourceData, useApp, waitForMapIdle,
} from './harness.mjs';

const EXTRACT = path.join(REPO, 'tests/fixtures/osm/liechtenstein-2013-08-03.osm.pbf');
const app = useApp({
  setup: [['import', 'osm', EXTRACT, '--our-bank', 'Liechtensteinische Landesbank']],
});
const LONG = { timeout: 90_000 };
const num = (s) => Number(String(s).replace(/,/g, '').trim());

/** Vertices of a GeoJSON geometry. */
const vertices = (g) => g.coordinates.flat(g.type === 'MultiPolygon' ? 2 : 1);

test('isochrones_of_an_imported_extract_are_drawn_in_the_life_circle_tab', LONG, async (t) => {
  // Our outlets from the extract, and the first whose circles are walked on the streets.
  const outlets = (await app.api('/api/outlets')).features.filter((f) => f.properties.is_ours);
  assert.ok(outlets.length >= 1, `${outlets.length} of our outlets imported`);
  let outlet = null;
  let want = null;
  for (const o of outlets) {
    const c = await app.api(`/api/outlets/${encodeURIComponent(o.properties.id)}/circles`);
    if (c.distance === 'street_network') {
      outlet = o;
      want = c;
      break;
    }
  }
  assert.ok(outlet, 'an outlet of ours on the street network');
  const iso = await app.api(`/api/outlets/${encodeURIComponent(outlet.properties.id)}/isochrones`);
  assert.equal(iso.distance, 'street_network');

  const { page, issues } = await app.open(t, '/?lang=en');
  await page.evaluate((id) => window.ecomap.selectOutlet(id), outlet.properties.id);
  await page.locator('#tab-circles').click();
  await page.waitForSelector('#circles-table');

  // The note says how distances were measured.
  const note = page.locator('#circles-distance');
  assert.equal(await note.getAttribute('data-distance'), 'street_network');
  assert.match(await note.innerText(), /street network/);

  // The counts are the API's.
  const circles = want.features.map((f) => f.properties).sort((a, b) => a.minutes - b.minutes);
  assert.deepEqual(circles.map((c) => c.minutes), [5, 10, 15]);
  const cell = (metric, minutes) => page.locator(`#circles-table tr[data-metric="${metric}"] td[data-minutes="${minutes}"]`).innerText();
  for (const c of circles) {
    assert.equal(c.distance, 'street_network');
    assert.equal(num(await cell('merchants', c.minutes)), c.merchants, `${c.minutes} min: merchants`);
    assert.equal(num(await cell('households', c.minutes)), c.households, `${c.minutes} min: households`);
  }

  // The drawn areas are the API's isochrones, street-shaped: the same polygons as
  // /isochrones gives for the life circles, and not 65-point circles.
  await eventually(async () => {
    const drawn = await sourceData(page, 'circles');
    assert.deepEqual(drawn.features.map((f) => f.properties.minutes).sort(), [10, 15, 5].sort());
    for (const f of drawn.features) {
      const w = want.features.find((g) => g.properties.minutes === f.properties.minutes);
      assert.deepEqual(f.geometry, w.geometry, `the ${f.properties.minutes}-minute area`);
      assert.equal(f.geometry.type, 'MultiPolygon');
      const i = iso.features.find((g) => g.properties.minutes === f.properties.minutes);
      assert.deepEqual(f.geometry, i.geometry, `the ${f.properties.minutes}-minute isochrone`);
    }
  });
  const outer = want.features.find((f) => f.properties.minutes === 15).geometry;
  assert.ok(vertices(outer).length > 100, `${vertices(outer).length} vertices follow the streets`);
  await waitForMapIdle(page);
  const lines = await renderedFeatures(page, ['circles-line']);
  assert.deepEqual([...new Set(lines.map((l) => l.properties.minutes))].sort(), [10, 15, 5].sort(), 'all three areas on screen');
  assertNoIssues(issues);
});

test('priorities_on_an_imported_extract_show_the_walk_and_say_when_the_streets_do_not_reach', LONG, async (t) => {
  // Of our outlets, the one whose priority list (largest radius the tab offers) is walked on the
  // streets and has the most merchants.
  const outlets = (await app.api('/api/outlets')).features.filter((f) => f.properties.is_ours);
  let outlet = null;
  let want = null;
  for (const o of outlets) {
    const p = await app.api(`/api/outlets/${encodeURIComponent(o.properties.id)}/priorities?radius_m=1000&limit=50`);
    if (p.distance === 'street_network' && (!want || p.features.length > want.features.length)) {
      outlet = o;
      want = p;
    }
  }
  assert.ok(outlet, 'an outlet of ours on the street network');
  assert.ok(want.features.length >= 3, `${want.features.length} merchants ranked`);

  const { page, issues } = await app.open(t, '/?lang=en');
  await page.evaluate((id) => window.ecomap.selectOutlet(id), outlet.properties.id);
  await page.locator('#tab-priorities').click();
  await page.locator('#radius').selectOption('1000');
  await eventually(async () => {
    const ids = await page.$$eval('#priority-list li[data-merchant-id]', (els) => els.map((e) => e.dataset.merchantId));
    assert.deepEqual(ids, want.features.map((f) => f.properties.id), "the list is the API's ranking");
  });

  // Each row shows the walk on the streets, or that the streets do not reach the merchant.
  for (const f of want.features) {
    const p = f.properties;
    assert.equal(p.distance, 'street_network');
    const shown = (await page.locator(`#priority-list li[data-merchant-id="${p.id}"] .dist`).innerText()).trim();
    const expected = p.walking_m === null ? 'no way on the streets' : `${Math.round(p.walking_m)} m`;
    assert.equal(shown, expected, `${p.name}: walking_m ${p.walking_m}, straight ${p.distance_m}`);
  }

  // The breakdown of a reached merchant names the walk and the model; its distance factor is the walk.
  const reached = want.features.find((f) => f.properties.walking_m !== null).properties;
  await page.locator(`#priority-list li[data-merchant-id="${reached.id}"]`).click();
  await eventually(async () => {
    const line = page.locator('#merchant-detail .walking');
    assert.equal(await line.getAttribute('data-distance'), 'street_network');
    assert.equal(await line.innerText(), `Walking distance：${Math.round(reached.walking_m)} m（street network）`);
    const raw = (await page.locator('#score-breakdown tr[data-factor="distance"] .raw').innerText()).trim();
    const factor = reached.factors.find((x) => x.code === 'distance');
    assert.match(raw, / m$/);
    assert.ok(Math.abs(Number(raw.replace(/ m$/, '')) - factor.raw) <= 0.5, `breakdown shows ${raw}, the walk is ${factor.raw} m`);
    assert.ok(Math.abs(factor.raw - reached.walking_m) <= 0.1, `the distance factor ${factor.raw} is the walk ${reached.walking_m}`);
  });

  // A merchant the streets do not reach (if the ranking holds one) says so, not "0 m".
  const cut = want.features.find((f) => f.properties.walking_m === null);
  if (cut) {
    await page.locator(`#priority-list li[data-merchant-id="${cut.properties.id}"]`).click();
    await eventually(async () => {
      assert.match(await page.locator('#merchant-detail .walking').innerText(), /no way on the streets/);
      const raw = (await page.locator('#score-breakdown tr[data-factor="distance"] .raw').innerText()).trim();
      assert.equal(raw, 'no way on the streets');
    });
  }
  assertNoIssues(issues);
});
