// Signing in and out, what each role sees, masked contacts, and the content security policy.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import {
  DEMO_USERS, assertNoIssues, eventually, jumpTo, sourceData, tileFeatures, useApp, waitForApp,
} from './harness.mjs';

const app = useApp();
const LONG = { timeout: 60_000 };
/** A masked phone has a run of four asterisks ("138****5678"). */
const MASKED = /\*{4}/;

const visible = (page, sel) => page.locator(sel).isVisible();

/**
 * The problems a wrong password leaves, taken out of `issues`: exactly one 401 response from
 * POST /api/login and the one console error Chromium logs for it. Everything else stays.
 */
function takeBadPasswordIssues(issues) {
  const failed = issues.failedResponses.filter((l) => /^401 POST .*\/api\/login$/.test(l));
  const logged = issues.consoleErrors.filter((l) => /status of 401/.test(l) && l.includes('/api/login'));
  assert.equal(failed.length, 1, `one 401 from POST /api/login (got ${JSON.stringify(issues.failedResponses)})`);
  assert.ok(logged.length <= 1, `at most one console error for it (got ${JSON.stringify(issues.consoleErrors)})`);
  issues.failedResponses = issues.failedResponses.filter((l) => !failed.includes(l));
  issues.consoleErrors = issues.consoleErrors.filter((l) => !logged.includes(l));
}

test('login_form_signs_in_and_logout_returns_to_it', LONG, async (t) => {
  const { page, issues, requests } = await app.open(t, '/', { login: null });
  await eventually(async () => assert.equal(await visible(page, '#login'), true, '#login is shown'));
  assert.equal(await page.evaluate(() => document.body.dataset.auth), 'required', 'body[data-auth=required]');
  for (const sel of ['#login-username', '#login-password', '#login-submit']) {
    assert.equal(await visible(page, sel), true, `${sel} is shown`);
  }
  assert.equal(await visible(page, '#login-error'), false, 'no error before trying');
  assert.equal(await visible(page, '#user'), false, 'no user badge before signing in');
  assert.equal(await visible(page, '#logout'), false, 'no logout button before signing in');
  // Give a page that would fetch data anyway the chance to do it.
  await page.waitForLoadState('networkidle');
  const api = requests.filter((r) => r.includes('/api/'));
  assert.deepEqual(api.filter((r) => !/^GET \/api\/session(\?|$)/.test(r)), [],
    `nothing but /api/session is requested before signing in (requests: ${api.join(', ')})`);
  assert.ok(!requests.some((r) => r.includes('/api/merchants')), 'no /api/merchants request');
  assert.equal(await page.evaluate(() => document.body.dataset.ready ?? null), null, 'not ready while signed out');

  // A wrong password: the server's 401, shown on the form.
  const { username, password } = { username: 'admin', password: DEMO_USERS.admin.password };
  await page.fill('#login-username', username);
  await page.fill('#login-password', `${password}-wrong`);
  await page.click('#login-submit');
  await eventually(async () => {
    assert.equal(await visible(page, '#login-error'), true, '#login-error is shown');
    assert.ok((await page.locator('#login-error').innerText()).trim().length > 0, '#login-error says something');
  });
  assert.equal(await visible(page, '#login'), true, 'the form stays after a wrong password');
  takeBadPasswordIssues(issues);

  // The right one: the map loads, the badge names the user.
  await page.fill('#login-password', password);
  await page.click('#login-submit');
  await waitForApp(page, issues);
  const me = (await page.request.get(`${app.baseUrl}/api/session`).then((r) => r.json())).user;
  assert.equal(me.username, 'admin');
  assert.equal(await visible(page, '#login'), false, '#login is gone once signed in');
  assert.equal(await page.evaluate(() => document.body.dataset.auth ?? null), null, 'body[data-auth] is cleared');
  assert.equal(await visible(page, '#user'), true, '#user is shown');
  const badge = await page.locator('#user').innerText();
  assert.ok(badge.includes(me.display_name), `#user "${badge}" shows ${me.display_name}`);
  assert.ok(badge.includes(me.role_zh), `#user "${badge}" shows ${me.role_zh}`);
  const counts = await page.evaluate(() => window.ecomap.counts);
  assert.equal(counts.merchants, (await app.api('/api/merchants?limit=1')).total);

  // English: the role in English.
  await page.click('#lang');
  await eventually(async () => assert.doesNotMatch(await page.locator('#user .role').innerText(), /[\u4e00-\u9fff]/,
    'the role is in English'));

  // Sign out: back at the form, and the session is gone on the server too.
  await Promise.all([page.waitForEvent('load'), page.click('#logout')]);
  await eventually(async () => assert.equal(await visible(page, '#login'), true, '#login is back after #logout'));
  assert.equal(await page.evaluate(() => document.body.dataset.auth), 'required');
  const after = await page.request.get(`${app.baseUrl}/api/session`).then((r) => r.json());
  assert.equal(after.user, null, 'GET /api/session after logout: nobody');
  assert.ok(requests.includes('POST /api/logout'), 'the page posted /api/logout');
  assertNoIssues(issues);
});

test('each_role_sees_its_own_world', { timeout: 120_000 }, async (t) => {
  const seen = {};
  for (const user of ['admin', 'zgq', 'out01']) {
    const { page, issues } = await app.open(t, '/', { login: user });
    const mine = (await app.api('/api/merchants?limit=2000', user)).features;
    const total = mine.length;
    const counts = await page.evaluate(() => ({ ...window.ecomap.counts }));
    assert.equal(counts.merchants, total, `${user}: ecomap.counts.merchants = the API's total for ${user}`);
    // Close up (single merchants, zoom 14) over the middle of the user's merchants: the tiles hold
    // only the user's merchants, and every one of them in view.
    const mid = (i) => mine.map((f) => f.geometry.coordinates[i]).sort((a, b) => a - b)[Math.floor(total / 2)];
    await jumpTo(page, [mid(0), mid(1)], 14);
    const byId = new Map(mine.map((f) => [f.properties.id, f]));
    const loaded = [...new Map((await tileFeatures(page, 'merchants')).map((f) => [f.properties.id, f])).values()];
    assert.ok(loaded.length > 0 && loaded.every((f) => f.properties.cluster === 0), `${user}: single merchants at zoom 14`);
    assert.deepEqual(loaded.filter((f) => !byId.has(f.properties.id)).map((f) => f.properties.id), [],
      `${user}: merchants in the page that are not the user's`);
    const [[w, so], [e, n]] = await page.evaluate(() => window.ecomap.map.getBounds().toArray());
    const have = new Set(loaded.map((f) => f.properties.id));
    const inView = mine.filter(({ geometry: { coordinates: [x, y] } }) => x > w && x < e && y > so && y < n);
    assert.ok(inView.length > 0, `${user}: merchants in view`);
    assert.deepEqual(inView.filter((f) => !have.has(f.properties.id)).map((f) => f.properties.id), [],
      `${user}: merchants of the user in view that the page lacks`);
    const merchants = loaded.map((f) => byId.get(f.properties.id));
    const outlets = await app.api('/api/outlets', user);
    assert.deepEqual((await sourceData(page, 'outlets')).features.map((f) => f.properties.id).sort(),
      outlets.features.map((f) => f.properties.id).sort(), `${user}: the outlets source is the user's outlets`);
    assert.ok(outlets.features.some((f) => !f.properties.is_ours), `${user}: competitor outlets are shown too`);
    seen[user] = { total, owners: new Set(merchants.map((f) => f.properties.owner_org_id)) };
    assertNoIssues(issues, `the page of ${user}`);
  }
  assert.ok(seen.admin.total > seen.zgq.total && seen.zgq.total > seen.out01.total,
    `admin ${seen.admin.total} > zgq ${seen.zgq.total} > out01 ${seen.out01.total} merchants`);
  assert.ok(seen.out01.total > 0, 'out01 has merchants');

  // zgq: SB01 and its outlets (the outlets of ours zgq can see are exactly SB01's).
  const sb01 = (await app.api('/api/outlets?ours=true', 'zgq')).features.map((f) => f.properties.id);
  assert.ok(sb01.length > 0, 'SB01 has outlets');
  const allowed = new Set([DEMO_USERS.zgq.org, ...sb01]);
  assert.deepEqual([...seen.zgq.owners].filter((o) => !allowed.has(o)), [],
    `zgq's merchants belong to ${[...allowed].join(', ')}`);
  assert.deepEqual([...seen.out01.owners], [DEMO_USERS.out01.org], "out01's merchants all belong to OUT01");
  assert.ok([...seen.admin.owners].some((o) => !allowed.has(o)), 'admin sees merchants beyond SB01');
});

/** The id and masked contact of a merchant `user` can see that has a contact. */
async function merchantWithContact(user) {
  const { features } = await app.api('/api/merchants?limit=2000', user);
  const f = features.find((m) => MASKED.test(m.properties.contact_phone ?? ''));
  assert.ok(f, `${user} sees a merchant with a (masked) contact`);
  const { id, contact_name: name, contact_phone: phone } = f.properties;
  assert.ok(name && name.includes('*'), `merchant ${id}'s contact name "${name}" is masked`);
  return { id, name, phone };
}

test('contacts_are_masked_until_unmasked', LONG, async (t) => {
  const admin = await app.open(t, '/');
  const m = await merchantWithContact('admin');
  await admin.page.evaluate((id) => window.ecomap.selectMerchant(id, { fly: false }), m.id);
  const detail = admin.page.locator('#merchant-detail');
  await eventually(async () => {
    const text = await detail.innerText();
    assert.ok(text.includes(m.phone), `#merchant-detail "${text}" shows the masked phone ${m.phone}`);
    assert.ok(text.includes(m.name), `#merchant-detail shows the masked name ${m.name}`);
    assert.ok(/联系电话/.test(text) && /联系人/.test(text), 'with the 联系人 / 联系电话 rows');
  });
  const button = admin.page.locator('#unmask');
  assert.equal(await button.isVisible(), true, 'admin (can_unmask) gets #unmask');
  assert.match(await detail.innerText(), /查看将被记录/, 'the audit note is shown');
  await button.click();
  const full = await app.api(`/api/merchants/${m.id}/contact`);
  assert.match(full.contact_phone, /^\d{11}$/, 'the API gives the full phone');
  await eventually(async () => {
    const phone = (await detail.locator('tr[data-field="contact_phone"] td:last-child').innerText()).trim();
    assert.match(phone, /^\d{11}$/, `the phone "${phone}" is 11 digits, no *`);
    assert.equal(phone, full.contact_phone);
    const name = (await detail.locator('tr[data-field="contact_name"] td:last-child').innerText()).trim();
    assert.equal(name, full.contact_name);
  });
  assert.ok(!(await detail.innerText()).includes(m.phone), 'the masked phone is gone');
  assertNoIssues(admin.issues, "admin's page");

  // zgq may not unmask: the masked contact, and no button.
  const zgq = await app.open(t, '/', { login: 'zgq' });
  const z = await merchantWithContact('zgq');
  await zgq.page.evaluate((id) => window.ecomap.selectMerchant(id, { fly: false }), z.id);
  await eventually(async () => {
    const text = await zgq.page.locator('#merchant-detail').innerText();
    assert.ok(text.includes(z.phone), `zgq's #merchant-detail "${text}" shows the masked phone ${z.phone}`);
  });
  assert.equal(await zgq.page.locator('#unmask').count(), 0, 'no #unmask for zgq');
  assertNoIssues(zgq.issues, "zgq's page");
});

test('no_csp_violations_on_load', LONG, async (t) => {
  const { page, issues } = await app.open(t, '/');
  const csp = (await page.request.get(`${app.baseUrl}/`)).headers()['content-security-policy'] ?? '';
  assert.match(csp, /script-src 'self'/, `the page is served with a CSP (${csp})`);
  // Use the app a little: select an outlet and a merchant, switch language.
  const outlet = (await app.api('/api/outlets?ours=true')).features[0].properties.id;
  await page.evaluate((id) => window.ecomap.selectOutlet(id), outlet);
  await eventually(async () => assert.ok(await page.locator('#nearby-list li').count() > 0));
  await page.locator('#nearby-list li').first().click();
  await page.click('#lang');
  await page.waitForLoadState('networkidle');
  assertNoIssues(issues);

  // And a violation would be caught: an inline script is refused and logged.
  await page.evaluate(() => {
    const s = document.createElement('script');
    s.textContent = 'window.__inline = 1;';
    document.head.appendChild(s);
  });
  await eventually(async () => assert.ok(issues.consoleErrors.some((l) => /Refused to|CSP violation/.test(l)),
    `an inline script shows up as a console error (${JSON.stringify(issues.consoleErrors)})`));
  assert.equal(await page.evaluate(() => window.__inline ?? null), null, 'the inline script did not run');
});

test('a_session_ending_while_tiles_load_shows_the_login_form', LONG, async (t) => {
  const { page, issues, requests } = await app.open(t, '/');
  // Signed out behind the map's back (another tab, or the session ran out).
  const { csrf_token: token } = await page.request.get(`${app.baseUrl}/api/session`).then((r) => r.json());
  const out = await page.request.post(`${app.baseUrl}/api/logout`, { headers: { 'X-CSRF-Token': token } });
  assert.equal(out.status(), 200, 'POST /api/logout');
  // Moving the map fetches merchant tiles, which now answer 401.
  const at = requests.length;
  const outlet = (await app.api('/api/outlets?ours=true')).features[0];
  await page.evaluate((c) => window.ecomap.map.jumpTo({ center: c, zoom: 16.5 }), outlet.geometry.coordinates);
  await eventually(async () => {
    assert.equal(await page.locator('#login').isVisible(), true, '#login is shown again');
    assert.match(await page.locator('#login-error').innerText(), /登录已过期/);
  });
  assert.ok(requests.slice(at).some((r) => /^GET \/tiles\/merchants\/\d+\/\d+\/\d+\.mvt$/.test(r)), 'tiles were asked for');
  // The tiles' 401s (and Chromium's console lines for them) are this test's expected problems.
  const isTile401 = (l) => /401/.test(l) && l.includes('/tiles/');
  assert.ok(issues.failedResponses.some(isTile401), `a 401 from /tiles (got ${JSON.stringify(issues.failedResponses)})`);
  issues.failedResponses = issues.failedResponses.filter((l) => !isTile401(l));
  issues.consoleErrors = issues.consoleErrors.filter((l) => !isTile401(l));
  assertNoIssues(issues);
});
