// Outlets, their nearby merchants, search and shareable URLs.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import {
  assertNoIssues, clickMapAt, distanceM, eventually, sourceData, useApp, waitForMapIdle,
} from './harness.mjs';

const app = useApp();
const LONG = { timeout: 60_000 };
/** The panel lists at most this many nearby merchants. */
const LIST_MAX = 200;

async function ourOutlets() {
  const outlets = await app.api('/api/outlets');
  const ours = outlets.features.filter((f) => f.properties.is_ours);
  assert.ok(ours.length >= 3, 'the demo has several outlets of ours');
  return ours;
}

/** What the API says the panel should list for `id` within `radius` m. */
async function expectedNearby(id, radius) {
  const near = await app.api(`/api/outlets/${encodeURIComponent(id)}/nearby?radius_m=${radius}&limit=${LIST_MAX}`);
  return { total: near.total, ids: near.features.slice(0, Math.min(near.total, LIST_MAX)).map((f) => f.properties.id) };
}

function panelState(page) {
  return page.evaluate(() => {
    const p = document.getElementById('panel');
    if (!p) return null;
    const r = p.getBoundingClientRect();
    return {
      hidden: p.hidden || getComputedStyle(p).display === 'none' || r.width === 0 || r.height === 0,
      outletId: p.dataset.outletId ?? null,
      title: p.querySelector('h2')?.textContent.trim() ?? null,
    };
  });
}

async function expectPanelFor(page, outlet) {
  const { id, name } = outlet.properties;
  await eventually(async () => {
    const s = await panelState(page);
    assert.ok(s, 'the page has #panel');
    assert.equal(s.hidden, false, `#panel is shown for ${id}`);
    assert.equal(s.outletId, id, '#panel[data-outlet-id]');
    assert.ok(s.title && s.title.includes(name), `#panel h2 "${s.title}" shows the outlet's name "${name}"`);
  });
}

function nearbyIds(page) {
  return page.$$eval('#nearby-list li[data-merchant-id]', (els) => els.map((e) => e.dataset.merchantId));
}

async function expectNearbyList(page, outletId, radius) {
  const want = await expectedNearby(outletId, radius);
  await eventually(async () => {
    assert.deepEqual(await nearbyIds(page), want.ids, `#nearby-list for ${outletId} within ${radius} m`);
    const total = await page.locator('#nearby-total').innerText();
    assert.ok(total.includes(String(want.total)), `#nearby-total "${total}" contains ${want.total}`);
  });
  return want;
}

/** The page's map center, once it has stopped moving, as [lon, lat]. */
async function center(page) {
  await waitForMapIdle(page);
  return page.evaluate(() => window.ecomap.map.getCenter().toArray());
}

test('clicking_an_outlet_opens_its_nearby_list', LONG, async (t) => {
  const { page, issues } = await app.open(t, '/');
  const outlet = (await ourOutlets())[0];
  const inPage = (await sourceData(page, 'outlets')).features.find((f) => f.properties.id === outlet.properties.id);
  assert.ok(inPage, `outlet ${outlet.properties.id} is in the 'outlets' source`);

  await clickMapAt(page, inPage.geometry.coordinates);
  await expectPanelFor(page, outlet);
  const radius = page.locator('#radius');
  assert.equal(await radius.inputValue(), '500', '#radius defaults to 500 m');
  assert.deepEqual(await radius.locator('option').evaluateAll((els) => els.map((e) => e.value)), ['300', '500', '1000']);
  await expectNearbyList(page, outlet.properties.id, 500);
  assertNoIssues(issues);
});

test('changing_the_radius_reloads_the_nearby_list', LONG, async (t) => {
  const { page, issues } = await app.open(t, '/');
  const [first, second] = (await ourOutlets()).slice(1, 3);
  await page.evaluate((id) => window.ecomap.selectOutlet(id), first.properties.id);
  await expectPanelFor(page, first);
  await expectNearbyList(page, first.properties.id, 500);
  for (const radius of [1000, 300, 500]) {
    await page.selectOption('#radius', String(radius));
    await expectNearbyList(page, first.properties.id, radius);
  }
  // Another outlet: its own list, for whatever radius the select shows.
  await page.selectOption('#radius', '1000');
  await expectNearbyList(page, first.properties.id, 1000);
  await page.evaluate((id) => window.ecomap.selectOutlet(id), second.properties.id);
  await expectPanelFor(page, second);
  await expectNearbyList(page, second.properties.id, Number(await page.locator('#radius').inputValue()));
  assertNoIssues(issues);
});

test('clicking_a_nearby_merchant_shows_it_and_centers_the_map', LONG, async (t) => {
  const { page, issues } = await app.open(t, '/');
  const outlet = (await ourOutlets())[1];
  await page.evaluate((id) => window.ecomap.selectOutlet(id), outlet.properties.id);
  await expectPanelFor(page, outlet);
  const { ids } = await expectNearbyList(page, outlet.properties.id, 500);
  assert.ok(ids.length >= 2, 'the outlet has merchants nearby');
  const id = ids[ids.length - 1]; // the farthest one, so that the map has to move
  const crs = await page.evaluate(() => window.ecomap.crs);
  const merchant = await app.api(`/api/merchants/${id}?crs=${crs}`);

  await page.locator(`#nearby-list li[data-merchant-id="${id}"]`).click();
  await eventually(async () => {
    assert.equal(await page.locator('#merchant-detail').isVisible(), true, '#merchant-detail is shown');
    const text = await page.locator('#merchant-detail').innerText();
    assert.ok(text.includes(merchant.properties.name), `#merchant-detail "${text}" names ${merchant.properties.name}`);
  });
  await eventually(async () => {
    const d = distanceM(await center(page), merchant.geometry.coordinates);
    assert.ok(d <= 5, `map center is ${d.toFixed(1)} m from merchant ${id}`);
  }, 15_000);
  assertNoIssues(issues);
});

test('search_finds_a_merchant_by_name', LONG, async (t) => {
  const { page, issues } = await app.open(t, '/');
  // A merchant whose name is no other merchant's and no part of another name.
  const merchants = (await app.api('/api/merchants?limit=2000')).features;
  const names = merchants.map((f) => f.properties.name);
  const merchant = merchants.find((f) => {
    const n = f.properties.name;
    return n.length >= 3 && names.filter((m) => m.includes(n)).length === 1;
  });
  assert.ok(merchant, 'a merchant with a distinctive name');
  const { id, name } = merchant.properties;

  await page.locator('#search').fill(name);
  await page.locator('#search').press('Enter');
  const hit = page.locator(`#search-results li[data-kind="merchant"][data-id="${id}"]`);
  await eventually(async () => assert.equal(await hit.count(), 1, `#search-results lists merchant ${id} (${name})`));
  await hit.click();
  await eventually(async () => {
    assert.equal(await page.locator('#merchant-detail').isVisible(), true, '#merchant-detail is shown');
    const text = await page.locator('#merchant-detail').innerText();
    assert.ok(text.includes(name), `#merchant-detail "${text}" names ${name}`);
  });
  assertNoIssues(issues);
});

test('search_finds_an_outlet_and_opens_its_panel', LONG, async (t) => {
  const { page, issues } = await app.open(t, '/');
  const outlet = (await ourOutlets())[2];
  await page.locator('#search').fill(outlet.properties.name);
  await page.locator('#search').press('Enter');
  const hit = page.locator(`#search-results li[data-kind="outlet"][data-id="${outlet.properties.id}"]`);
  await eventually(async () => assert.equal(await hit.count(), 1, `#search-results lists outlet ${outlet.properties.id}`));
  await hit.click();
  await expectPanelFor(page, outlet);
  await expectNearbyList(page, outlet.properties.id, 500);
  assertNoIssues(issues);
});

test('url_restores_the_shared_view', LONG, async (t) => {
  const first = await app.open(t, '/');
  const outlet = (await ourOutlets())[2];
  const id = outlet.properties.id;
  await first.page.evaluate((id) => window.ecomap.selectOutlet(id), id);
  await expectPanelFor(first.page, outlet);

  // Once the map has stopped, the URL holds the outlet and MapLibre's #zoom/lat/lon hash.
  let view;
  await eventually(async () => {
    const [lon, lat] = await center(first.page);
    const zoom = await first.page.evaluate(() => window.ecomap.map.getZoom());
    const href = await first.page.evaluate(() => location.href);
    const url = new URL(href);
    assert.equal(url.searchParams.get('outlet'), id, `${href} has outlet=${id}`);
    const m = url.hash.match(/^#([\d.]+)\/(-?[\d.]+)\/(-?[\d.]+)/);
    assert.ok(m, `${href} has a #zoom/lat/lon hash`);
    assert.ok(Math.abs(Number(m[1]) - zoom) <= 0.01, `hash zoom ${m[1]} vs map ${zoom}`);
    assert.ok(Math.abs(Number(m[2]) - lat) <= 1e-4 && Math.abs(Number(m[3]) - lon) <= 1e-4,
      `hash ${url.hash} vs map center ${lat},${lon}`);
    view = { href, lon, lat, zoom };
  }, 10_000, 250);
  assertNoIssues(first.issues, 'the first page');

  const u = new URL(view.href);
  const second = await app.open(t, u.pathname + u.search + u.hash);
  await expectPanelFor(second.page, outlet);
  await eventually(async () => {
    const [lon, lat] = await center(second.page);
    const zoom = await second.page.evaluate(() => window.ecomap.map.getZoom());
    assert.ok(Math.abs(lon - view.lon) <= 1e-4 && Math.abs(lat - view.lat) <= 1e-4,
      `restored center ${lon},${lat} vs shared ${view.lon},${view.lat}`);
    assert.ok(Math.abs(zoom - view.zoom) <= 0.01, `restored zoom ${zoom} vs shared ${view.zoom}`);
  }, 10_000, 250);
  assertNoIssues(second.issues, 'the restored page');
});
