// The outlet panel's priorities tab: the API's ranking of merchants to win, each score's
// breakdown, the 'priorities' map layer, and the scoring-weights editor (branch users only).
//
// One server per file: the tests run in order and `changing_weights_reorders_the_list_without_a_reload`
// puts SB01's weights back to the defaults (as a new version) before it ends.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { assertNoIssues, eventually, sourceData, useApp } from './harness.mjs';

const app = useApp();
const LONG = { timeout: 90_000 };
const OUTLET = 'OUT01';
/** The priorities list shows this many merchants. */
const LIMIT = 50;
const PHONE = { width: 390, height: 844 };

/** What the API ranks for OUTLET within `radius` m, as user `as`. */
function expectedPriorities(radius, as = 'zgq') {
  return app.api(`/api/outlets/${OUTLET}/priorities?radius_m=${radius}&limit=${LIMIT}`, as);
}

function listIds(page) {
  return page.$$eval('#priority-list li[data-merchant-id]', (els) => els.map((e) => e.dataset.merchantId));
}

/** Opens OUTLET's panel as `login` and switches to the priorities tab; returns the page and the API's list. */
async function openPriorities(t, login = 'zgq', options = {}) {
  const opened = await app.open(t, '/', { login, ...options });
  const { page } = opened;
  await page.evaluate((id) => window.ecomap.selectOutlet(id), OUTLET);
  await eventually(async () => assert.equal(await page.locator('#panel').getAttribute('data-outlet-id'), OUTLET));
  await page.locator('#tab-priorities').click();
  const radius = await page.locator('#radius').inputValue();
  const want = await expectedPriorities(radius, login);
  assert.ok(want.features.length >= 3, `the API ranks several merchants around ${OUTLET} within ${radius} m`);
  await eventually(async () => assert.deepEqual(await listIds(page), want.features.map((f) => f.properties.id),
    `#priority-list is the API's ranking within ${radius} m`));
  return { ...opened, radius, want };
}

/** The displayed breakdown: factor codes, their contributions and the total, as numbers. */
function breakdown(page) {
  return page.evaluate(() => {
    const table = document.getElementById('score-breakdown');
    if (!table) return null;
    const rows = [...table.querySelectorAll('tr[data-factor]')].map((tr) => ({
      code: tr.dataset.factor,
      name: tr.cells[0].textContent.trim(),
      contribution: Number(tr.querySelector('.contribution').textContent),
    }));
    return { rows, total: Number(table.querySelector('tr[data-total] .contribution').textContent) };
  });
}

/** Takes the one expected 400 of a rejected PUT (and Chromium's console line for it) out of `issues`. */
function expectRejectedPut(issues) {
  const failed = issues.failedResponses.filter((l) => /^400 PUT .*\/api\/scoring\/weights\?org=/.test(l));
  const logged = issues.consoleErrors.filter((l) => /status of 400/.test(l) && l.includes('/api/scoring/weights'));
  assert.equal(failed.length, 1, `one 400 from PUT /api/scoring/weights (got ${JSON.stringify(issues.failedResponses)})`);
  assert.ok(logged.length <= 1, `at most one console error for it (got ${JSON.stringify(issues.consoleErrors)})`);
  issues.failedResponses = issues.failedResponses.filter((l) => !failed.includes(l));
  issues.consoleErrors = issues.consoleErrors.filter((l) => !logged.includes(l));
}

test('priorities_tab_lists_the_apis_ranking_with_breakdowns', LONG, async (t) => {
  const { page, issues, want } = await openPriorities(t);
  assert.equal(await page.locator('#nearby-list').isVisible(), false, 'the nearby list is hidden on the priorities tab');

  // Each row: rank, name, score with 2 decimals, distance.
  const first = want.features[0].properties;
  const row = page.locator(`#priority-list li[data-merchant-id="${first.id}"]`);
  const text = await row.innerText();
  assert.ok(text.includes(first.name), `row "${text}" names ${first.name}`);
  assert.equal((await row.locator('.rank').innerText()).trim(), String(first.rank));
  assert.equal((await row.locator('.score').innerText()).trim(), first.score.toFixed(2));
  assert.ok(text.includes(`${Math.round(first.distance_m)} m`), `row "${text}" shows ${Math.round(first.distance_m)} m`);

  // The map sizes the ranked merchants by score.
  await eventually(async () => {
    const order = await page.evaluate(() => window.ecomap.map.getStyle().layers.map((l) => l.id));
    assert.ok(order.includes('priorities'), "layer 'priorities' exists");
    assert.ok(order.indexOf('priorities') < order.indexOf('outlets-ours'), `'priorities' is drawn under the outlets: ${order}`);
    const data = await sourceData(page, 'priorities');
    assert.equal(data.features.length, want.features.length, "source 'priorities' holds the API's features");
  });

  await row.click();
  await eventually(async () => {
    const b = await breakdown(page);
    assert.ok(b, '#score-breakdown is shown');
    assert.deepEqual(b.rows.map((r) => r.code), first.factors.map((f) => f.code), 'one row per factor, in order');
    assert.equal(b.rows.length, 8, '8 factors');
    const sum = b.rows.reduce((s, r) => s + r.contribution, 0);
    assert.ok(Math.abs(sum - b.total) <= 0.01, `contributions add up to ${sum}, total shows ${b.total}`);
    assert.ok(Math.abs(b.total - first.score) <= 0.001, `total ${b.total} is the score ${first.score}`);
    assert.equal(b.rows[0].name, first.factors[0].zh, 'factor names in Chinese');
  });
  const footfall = await page.locator('#merchant-detail .footfall-source').innerText();
  assert.ok(footfall.includes(first.footfall_source === 'observed' ? '实测' : '估算'),
    `"${footfall}" says the footfall is ${first.footfall_source}`);
  assert.ok(await page.locator(`#priority-list li.selected[data-merchant-id="${first.id}"]`).count() === 1, 'the row is selected');

  // English on request, breakdown included.
  await page.locator('#lang').click();
  await eventually(async () => {
    assert.equal(await page.locator('#tab-priorities').innerText(), 'Priorities');
    const b = await breakdown(page);
    assert.equal(b.rows[0].name, first.factors[0].en, 'factor names in English');
    const f = await page.locator('#merchant-detail .footfall-source').innerText();
    assert.ok(f.includes(first.footfall_source), `"${f}" says ${first.footfall_source}`);
  });

  // Back to the nearby list: the priority circles go.
  await page.locator('#tab-nearby').click();
  await eventually(async () => {
    assert.equal(await page.locator('#nearby-list').isVisible(), true, '#nearby-list is shown again');
    assert.equal((await sourceData(page, 'priorities')).features.length, 0, "source 'priorities' is cleared");
    assert.equal(await page.locator('#score-breakdown').count(), 0, 'no breakdown outside the priorities tab');
  });
  // Closing the panel clears it too.
  await page.locator('#tab-priorities').click();
  await eventually(async () => assert.equal((await sourceData(page, 'priorities')).features.length, want.features.length));
  await page.locator('#panel .close').click();
  await eventually(async () => assert.equal((await sourceData(page, 'priorities')).features.length, 0,
    "closing the panel clears source 'priorities'"));
  assertNoIssues(issues);
});

test('changing_weights_reorders_the_list_without_a_reload', LONG, async (t) => {
  const { page, issues, radius, want } = await openPriorities(t);
  await page.evaluate(() => { window.__notReloaded = 'still here'; });
  const sourceBefore = await page.locator('#weights-source').innerText();

  await page.locator('#weights-edit').click();
  const form = page.locator('#weights-form');
  await eventually(async () => assert.equal(await form.isVisible(), true, '#weights-form opens'));
  const codes = await form.locator('input[name]').evaluateAll((els) => els.map((e) => e.name));
  assert.deepEqual([...codes].sort(), Object.keys(want.weights.weights).sort(), 'one input per weight');
  for (const code of codes) {
    const input = form.locator(`input[name="${code}"]`);
    assert.equal(await input.getAttribute('step'), '0.05');
    assert.equal(Number(await input.inputValue()), want.weights.weights[code], `${code} starts at the weight in force`);
    await input.fill(code === 'distance' ? '1' : '0');
  }
  await page.locator('#weights-save').click();

  let after;
  await eventually(async () => {
    after = await expectedPriorities(radius);
    assert.equal(after.weights.source, 'SB01', 'the API now applies SB01\'s weights');
    assert.deepEqual(await listIds(page), after.features.map((f) => f.properties.id), '#priority-list is the new ranking');
    const source = await page.locator('#weights-source').innerText();
    assert.ok(source.includes('SB01') && source.includes(`第${after.weights.version}版`),
      `"${source}" names SB01 and version ${after.weights.version}`);
  });
  assert.notDeepEqual(after.features.map((f) => f.properties.id), want.features.map((f) => f.properties.id),
    'the ranking changed');
  const apiDist = after.features.map((f) => f.properties.distance_m);
  assert.ok(apiDist.every((d, i) => i === 0 || d >= apiDist[i - 1]), `by distance alone: ${apiDist.join(', ')}`);
  const shown = await page.$$eval('#priority-list li .dist', (els) => els.map((e) => parseInt(e.textContent, 10)));
  assert.ok(shown.every((d, i) => i === 0 || d >= shown[i - 1]), `the list is nearest first: ${shown.join(', ')}`);
  assert.equal(await page.evaluate(() => window.__notReloaded), 'still here', 'the page was not reloaded');
  assert.notEqual(await page.locator('#weights-source').innerText(), sourceBefore);
  assert.equal(await page.locator('#weights-form').isVisible(), false, 'the form closes once saved');

  // Back to the defaults (a new version with the default values), through the reset button.
  const defaults = (await app.api('/api/scoring/weights?org=SB01', 'zgq')).defaults;
  await page.locator('#weights-edit').click();
  await page.locator('#weights-reset').click();
  for (const [code, v] of Object.entries(defaults)) {
    assert.equal(Number(await form.locator(`input[name="${code}"]`).inputValue()), v, `reset puts ${code} back to ${v}`);
  }
  await page.locator('#weights-save').click();
  await eventually(async () => {
    const back = await expectedPriorities(radius);
    assert.deepEqual(back.weights.weights, defaults, 'SB01 is back to the default weights');
    assert.equal(back.weights.version, after.weights.version + 1);
    assert.deepEqual(await listIds(page), want.features.map((f) => f.properties.id), 'the first ranking again');
  });
  assert.equal(await page.evaluate(() => window.__notReloaded), 'still here', 'the page was not reloaded');
  assertNoIssues(issues);
});

test('staff_cannot_edit_weights', LONG, async (t) => {
  const { page, issues, want } = await openPriorities(t, 'out01');
  await page.locator(`#priority-list li[data-merchant-id="${want.features[0].properties.id}"]`).click();
  await eventually(async () => assert.equal((await breakdown(page))?.rows.length, 8, 'staff see the breakdown'));
  await eventually(async () => assert.ok((await page.locator('#weights-source').innerText()).length > 0, 'the weights in force are named'));
  assert.equal(await page.locator('#weights-edit').count(), 0, 'no #weights-edit for staff');
  assert.equal(await page.locator('#weights-form').isVisible(), false);
  assertNoIssues(issues);
});

test('bad_weights_show_the_servers_error', LONG, async (t) => {
  const { page, issues } = await openPriorities(t);
  const before = await listIds(page);
  const sourceBefore = await page.locator('#weights-source').innerText();
  await page.locator('#weights-edit').click();
  // Past the input's max: only the server says no.
  await page.evaluate(() => { document.querySelector('#weights-form input[name="footfall"]').value = '5'; });
  await page.locator('#weights-save').click();
  const error = page.locator('#weights-error');
  await eventually(async () => {
    assert.equal(await error.isVisible(), true, '#weights-error is shown');
    const text = await error.innerText();
    assert.ok(text.includes('footfall'), `"${text}" is the server's message about footfall`);
  });
  assert.equal(await page.locator('#weights-form').isVisible(), true, 'the form stays open');
  assert.deepEqual(await listIds(page), before, 'the list is unchanged');
  assert.equal(await page.locator('#weights-source').innerText(), sourceBefore, 'the weights in force are unchanged');
  expectRejectedPut(issues);
  assertNoIssues(issues);
});

test('priorities_fit_the_phone_sheet', LONG, async (t) => {
  const { page, issues } = await openPriorities(t, 'zgq', {
    viewport: PHONE, contextOptions: { isMobile: true, hasTouch: true },
  });
  await page.locator('#weights-edit').click();
  await eventually(async () => assert.equal(await page.locator('#weights-form').isVisible(), true));
  const box = await page.locator('#panel').boundingBox();
  assert.ok(Math.abs(box.y + box.height - PHONE.height) <= 2 && box.y > 300, `#panel is a bottom sheet: ${JSON.stringify(box)}`);
  const panel = await page.evaluate(() => {
    const p = document.getElementById('panel');
    return { scroll: p.scrollWidth, client: p.clientWidth };
  });
  assert.ok(panel.scroll <= panel.client, `nothing in the sheet overflows sideways: ${JSON.stringify(panel)}`);
  for (const sel of ['#weights-save', '#priority-list li:first-child']) {
    const b = await page.locator(sel).boundingBox();
    assert.ok(b && b.x >= 0 && b.x + b.width <= PHONE.width, `${sel} fits the width: ${JSON.stringify(b)}`);
  }
  const scrollWidth = await page.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(scrollWidth <= PHONE.width, `document scrollWidth ${scrollWidth} <= ${PHONE.width}`);
  assertNoIssues(issues);
});
