// The map app loads the demo: layers, counts, legend, category filter and language.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import {
  assertNoIssues, distanceM, eventually, jumpTo, renderedFeatures, sourceData, tileFeatures, useApp, waitForMapIdle,
} from './harness.mjs';

const app = useApp();
const LAYERS = ['outlets-ours', 'outlets-competitors', 'merchants', 'communities', 'areas', 'areas-outline'];
const SOURCES = ['outlets', 'merchants', 'communities', 'areas'];
/** Sources the page loads whole, as GeoJSON (merchants come as vector tiles). */
const GEOJSON_SOURCES = ['outlets', 'communities', 'areas'];
/** The zoom from which the merchant tiles hold single merchants rather than clusters. */
const DETAIL_ZOOM = 14;
const LONG = { timeout: 60_000 };

/** Every feature of an API collection (pages through `limit`/`offset`). */
async function all(pathAndQuery) {
  const sep = pathAndQuery.includes('?') ? '&' : '?';
  const first = await app.api(`${pathAndQuery}${sep}limit=2000`);
  const features = [...first.features];
  while (features.length < first.total) {
    const next = await app.api(`${pathAndQuery}${sep}limit=2000&offset=${features.length}`);
    assert.ok(next.features.length > 0, `paging ${pathAndQuery} stopped early`);
    features.push(...next.features);
  }
  return { total: first.total, features };
}

/** Fits the map to every outlet, so that both outlet layers have something on screen. */
async function fitToOutlets(page) {
  await page.evaluate(async () => {
    const m = window.ecomap.map;
    const src = m.getSource('outlets');
    const data = typeof src.getData === 'function' ? await src.getData() : src.serialize().data;
    const b = new maplibregl.LngLatBounds();
    for (const f of data.features) b.extend(f.geometry.coordinates);
    m.fitBounds(b, { padding: 80, animate: false });
  });
  await waitForMapIdle(page);
}

/** {category: [ids]} of the merchants drawn on screen now. */
function renderedMerchants(page) {
  return page.evaluate(() => {
    const by = {};
    for (const f of window.ecomap.map.queryRenderedFeatures({ layers: ['merchants'] })) {
      const c = f.properties.category;
      (by[c] ||= new Set()).add(f.properties.id);
    }
    return Object.fromEntries(Object.entries(by).map(([c, ids]) => [c, [...ids].sort()]));
  });
}

test('loads_with_no_console_errors_and_all_layers', LONG, async (t) => {
  const { page, issues } = await app.open(t, '/');
  const counts = app.health.counts;
  const outlets = await app.api('/api/outlets');
  const communities = await all('/api/communities');
  const areas = await app.api('/api/areas');

  // The documented demo shape: 10 outlets, 6 ours and 4 competitors, 3 areas with the food street.
  assert.equal(outlets.total, 10);
  assert.equal(outlets.features.filter((f) => f.properties.is_ours).length, 6);
  assert.equal(areas.total, 3);
  assert.ok(areas.features.some((f) => f.properties.name === '张公桥好吃街'), 'the demo has 张公桥好吃街');

  const state = await page.evaluate((ids) => {
    const m = window.ecomap.map;
    return {
      crs: window.ecomap.crs,
      counts: { ...window.ecomap.counts },
      sources: Object.fromEntries(ids.sources.map((s) => [s, m.getSource(s)?.type ?? null])),
      layers: Object.fromEntries(ids.layers.map((l) => [l, m.getLayer(l)
        ? (m.getLayoutProperty(l, 'visibility') ?? 'visible') : null])),
      bounds: m.getBounds().toArray(),
    };
  }, { sources: SOURCES, layers: LAYERS });

  assert.equal(state.crs, 'wgs84', 'without a base map the app asks for WGS-84');
  assert.deepEqual(state.sources, { ...Object.fromEntries(SOURCES.map((s) => [s, 'geojson'])), merchants: 'vector' },
    'merchants come as vector tiles, the rest as GeoJSON');
  assert.deepEqual(state.layers, Object.fromEntries(LAYERS.map((l) => [l, 'visible'])));

  const data = {};
  for (const s of GEOJSON_SOURCES) data[s] = await sourceData(page, s);
  for (const s of GEOJSON_SOURCES) {
    assert.equal(state.counts[s], data[s].features.length, `ecomap.counts.${s} = features in source '${s}'`);
  }
  assert.equal(state.counts.outlets, counts.outlets);
  assert.equal(state.counts.communities, counts.communities);
  assert.equal(state.counts.areas, counts.areas);
  assert.equal(state.counts.merchants, counts.merchants, 'ecomap.counts.merchants is the API total');
  const ids = (fc) => fc.features.map((f) => f.properties.id).sort();
  assert.deepEqual(ids(data.outlets), ids(outlets));
  assert.deepEqual(ids(data.communities), ids(communities));
  assert.deepEqual(ids(data.areas), ids(areas));

  // The first view shows the merchants, as clusters or points.
  const first = await renderedFeatures(page, ['merchants', 'merchant-clusters']);
  assert.ok(first.length > 0, 'the first view shows merchants');

  // Close up, merchants are single points: each one the page has is the API's, at the API's
  // position (to the tiles' precision), and every merchant in view is there.
  const merchants = await all('/api/merchants?crs=wgs84');
  assert.equal(merchants.total, counts.merchants);
  const byId = new Map(merchants.features.map((f) => [f.properties.id, f]));
  const outlet = outlets.features.find((f) => f.properties.is_ours);
  await jumpTo(page, outlet.geometry.coordinates, DETAIL_ZOOM + 1.5);
  const loaded = await tileFeatures(page, 'merchants');
  assert.ok(loaded.length > 0, 'the merchant tiles hold merchants');
  for (const f of loaded) {
    assert.equal(f.properties.cluster, 0, `at zoom ${DETAIL_ZOOM + 1.5} every feature is a single merchant`);
    const api = byId.get(f.properties.id);
    assert.ok(api, `merchant ${f.properties.id} in the page is not in the API`);
    const d = distanceM(f.coordinates, api.geometry.coordinates);
    assert.ok(d < 1, `merchant ${f.properties.id} is ${d.toFixed(2)} m from its API position`);
    assert.equal(f.properties.status, api.properties.status, `merchant ${f.properties.id} status`);
    assert.equal(f.properties.category, api.properties.category, `merchant ${f.properties.id} category`);
  }
  const [[w, s], [e, n]] = await page.evaluate(() => window.ecomap.map.getBounds().toArray());
  const inView = merchants.features
    .filter(({ geometry: { coordinates: [x, y] } }) => x > w && x < e && y > s && y < n)
    .map((f) => f.properties.id);
  const have = new Set(loaded.map((f) => f.properties.id));
  assert.ok(inView.length > 0, 'merchants in the close-up view');
  assert.deepEqual(inView.filter((id) => !have.has(id)), [], 'merchants in view that the page lacks');

  // Both outlet layers draw, each with its own outlets.
  await fitToOutlets(page);
  const drawn = await page.evaluate(() => {
    const q = (layer) => [...new Set(window.ecomap.map.queryRenderedFeatures({ layers: [layer] })
      .map((f) => f.properties.id))].sort();
    return { ours: q('outlets-ours'), competitors: q('outlets-competitors') };
  });
  const expectIds = (ours) => outlets.features.filter((f) => f.properties.is_ours === ours)
    .map((f) => f.properties.id).sort();
  assert.deepEqual(drawn, { ours: expectIds(true), competitors: expectIds(false) });

  assertNoIssues(issues);
});

test('legend_checkboxes_toggle_layers', LONG, async (t) => {
  const { page, issues } = await app.open(t, '/');
  const boxes = await page.$$eval('#legend input[data-layer]', (els) => els.map((e) => e.dataset.layer));
  for (const l of ['outlets-ours', 'outlets-competitors', 'merchants', 'communities', 'areas']) {
    assert.ok(boxes.includes(l), `#legend has a checkbox for layer ${l} (has: ${boxes.join(', ')})`);
  }
  const visibility = (l) => page.evaluate((l) => window.ecomap.map.getLayoutProperty(l, 'visibility') ?? 'visible', l);
  for (const l of boxes) {
    const box = page.locator(`#legend input[data-layer="${l}"]`);
    assert.equal(await box.isChecked(), true, `${l} starts checked`);
    await box.uncheck();
    await eventually(async () => assert.equal(await visibility(l), 'none', `${l} hidden after unchecking`));
    await box.check();
    await eventually(async () => assert.equal(await visibility(l), 'visible', `${l} shown after checking`));
  }
  assertNoIssues(issues);
});

test('category_filter_limits_merchants', LONG, async (t) => {
  const { page, issues } = await app.open(t, '/');
  // Single merchants (with their categories) are drawn from zoom 14: look close up.
  const outlet = (await app.api('/api/outlets')).features.find((f) => f.properties.is_ours);
  await jumpTo(page, outlet.geometry.coordinates, DETAIL_ZOOM + 1.5);
  const categories = (await app.api('/api/categories')).categories.map((c) => c.code);
  const options = await page.$$eval('#category-filter option', (els) => els.map((e) => e.value));
  assert.ok(options.includes(''), "#category-filter has an 'all' option with value ''");
  const codes = options.filter((v) => v !== '');
  assert.ok(codes.length > 1, 'several categories to choose from');
  for (const c of codes) assert.ok(categories.includes(c), `option ${c} is a category code of /api/categories`);

  const before = await renderedMerchants(page);
  assert.ok(Object.keys(before).length > 1, 'merchants of several categories on screen before filtering');
  // The category with the most merchants on screen that is also in the select.
  const pick = codes.filter((c) => before[c]).sort((a, b) => before[b].length - before[a].length)[0];
  assert.ok(pick, 'a category in the select has merchants on screen');

  await page.selectOption('#category-filter', pick);
  await eventually(async () => assert.notEqual(
    await page.evaluate(() => window.ecomap.map.getFilter('merchants') ?? null), null, 'merchants layer filter'));
  await waitForMapIdle(page);
  await eventually(async () => assert.deepEqual(await renderedMerchants(page), { [pick]: before[pick] }));

  // Further out, clusters (which have no category) give way to a hint to zoom in.
  await jumpTo(page, outlet.geometry.coordinates, DETAIL_ZOOM - 1.5);
  await eventually(async () => {
    assert.equal((await renderedFeatures(page, ['merchant-clusters'])).length, 0, 'no clusters while filtering');
    assert.match(await page.locator('#status-line').innerText(), /14/, 'the status line says to zoom to 14');
  });
  await page.selectOption('#category-filter', '');
  await waitForMapIdle(page);
  await eventually(async () => assert.ok((await renderedFeatures(page, ['merchant-clusters'])).length > 0,
    'the clusters are back without a filter'));
  await jumpTo(page, outlet.geometry.coordinates, DETAIL_ZOOM + 1.5);
  await eventually(async () => assert.deepEqual(await renderedMerchants(page), before));
  assertNoIssues(issues);
});

test('english_switch_changes_labels', LONG, async (t) => {
  const { page, issues } = await app.open(t, '/');
  const labels = () => page.evaluate(() => ({
    lang: document.documentElement.lang,
    h1: document.querySelector('header h1')?.textContent.trim(),
  }));
  assert.deepEqual(await labels(), { lang: 'zh-CN', h1: '生态圈地图' });
  const legendZh = await page.locator('#legend').innerText();
  await page.click('#lang');
  await eventually(async () => assert.deepEqual(await labels(), { lang: 'en', h1: 'Ecosystem map' }));
  const legendEn = await page.locator('#legend').innerText();
  assert.notEqual(legendEn, legendZh, 'the legend is translated too');
  assert.doesNotMatch(legendEn, /[\u4e00-\u9fff]/, 'no Chinese left in the English legend');
  assertNoIssues(issues);
});

test('lang_en_in_the_url_starts_in_english', LONG, async (t) => {
  const { page, issues } = await app.open(t, '/?lang=en');
  assert.equal(await page.evaluate(() => document.documentElement.lang), 'en');
  assert.equal((await page.locator('header h1').innerText()).trim(), 'Ecosystem map');
  assertNoIssues(issues);
});
