// The printable area survey (/survey.html?area=…): what a branch team takes to a meeting.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { assertNoIssues, useApp } from './harness.mjs';

const app = useApp();
const LONG = { timeout: 60_000 };

test('food_street_survey_page_shows_the_apis_survey', LONG, async (t) => {
  const areas = await app.api('/api/areas', 'zgq');
  const street = areas.features.find((f) => f.properties.kind === 'food_street');
  assert.ok(street, 'zgq sees the food street');
  const want = await app.api(`/api/areas/${street.id}/survey`, 'zgq');
  const { page, issues } = await app.open(t, `/survey.html?area=${street.id}`, { login: 'zgq', waitReady: false });
  await page.waitForSelector('body[data-ready=true]', { state: 'attached', timeout: 20_000 });
  assert.match(await page.textContent('#survey-title'), /张公桥好吃街/);
  assert.equal(Number(await page.textContent('#kpi-merchants')), want.merchants);
  assert.equal(Number((await page.textContent('#kpi-households')).replace(/,/g, '')), want.households_in_reach);
  // The mix in the API's order, the first row the most common category (dining, 餐饮美食).
  const codes = await page.$$eval('#mix tr[data-code]', (rows) => rows.map((r) => r.dataset.code));
  assert.deepEqual(codes, want.mix.map((r) => r.code));
  assert.match(await page.textContent('#mix tr[data-code] td'), /餐饮/);
  const prospects = await page.$$eval('#prospects tr[data-id]', (rows) => rows.map((r) => r.dataset.id));
  assert.deepEqual(prospects, want.top_prospects.map((p) => p.id));
  assert.ok(prospects.length > 0);
  assert.equal(await page.$$eval('#outlets tr', (r) => r.length - 1), want.competitor_outlets.length + want.our_outlets.length);
  // It prints on A4 without the button.
  await page.emulateMedia({ media: 'print' });
  assert.equal(await page.isVisible('#print'), false);
  assertNoIssues(issues);
});

test('survey_page_asks_to_sign_in_and_hides_other_branches_areas', LONG, async (t) => {
  const { page } = await app.open(t, '/survey.html?area=A01', { login: null, waitReady: false });
  await page.waitForFunction(() => document.getElementById('survey').textContent.includes('登录'));
  // szq (市中区支行) does not see an area owned by 张公桥支行: the page says not found.
  const mine = await app.api('/api/areas', 'zgq');
  const theirs = await app.api('/api/areas', 'szq');
  const hidden = mine.features.find((f) => !theirs.features.some((g) => g.id === f.id));
  assert.ok(hidden, 'an area only zgq sees');
  const other = await app.open(t, `/survey.html?area=${hidden.id}`, { login: 'szq', waitReady: false });
  await other.page.waitForSelector('body[data-ready=error]', { state: 'attached', timeout: 20_000 });
  assert.match(await other.page.textContent('#survey'), /not found/);
});
