// The phone layout: the outlet panel is a bottom sheet, the header fits, nothing overflows sideways.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { assertNoIssues, eventually, useApp } from './harness.mjs';

const app = useApp();
const PHONE = { width: 390, height: 844 };

test('phone_layout_uses_a_bottom_sheet', { timeout: 60_000 }, async (t) => {
  const { page, issues } = await app.open(t, '/', {
    viewport: PHONE,
    contextOptions: { isMobile: true, hasTouch: true },
  });
  const outlet = (await app.api('/api/outlets')).features.find((f) => f.properties.is_ours);
  await page.evaluate((id) => window.ecomap.selectOutlet(id), outlet.properties.id);

  // The sheet may slide in: check its final place.
  await eventually(async () => {
    const panel = page.locator('#panel');
    assert.equal(await panel.isVisible(), true, '#panel is shown');
    assert.equal(await panel.getAttribute('data-outlet-id'), outlet.properties.id);
    const box = await panel.boundingBox();
    assert.ok(Math.abs(box.y + box.height - PHONE.height) <= 2,
      `#panel bottom ${box.y + box.height} at the viewport bottom ${PHONE.height}`);
    assert.ok(box.width >= 380, `#panel width ${box.width} >= 380`);
    assert.ok(box.y > 300, `#panel top ${box.y} > 300 (the map stays visible above it)`);
  });

  // The header keeps search, language and sign-out (and the user's role) on screen.
  for (const sel of ['#search', '#lang', '#logout', '#user']) {
    const el = page.locator(sel);
    assert.equal(await el.isVisible(), true, `${sel} is visible`);
    const b = await el.boundingBox();
    assert.ok(b.x >= 0 && b.x + b.width <= PHONE.width && b.y >= 0 && b.y + b.height <= PHONE.height,
      `${sel} lies inside the viewport: ${JSON.stringify(b)}`);
  }
  const header = await page.evaluate(() => {
    const h = document.querySelector('header');
    return { scroll: h.scrollWidth, client: h.clientWidth };
  });
  assert.ok(header.scroll <= header.client, `the header does not overflow: ${JSON.stringify(header)}`);
  const scrollWidth = await page.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(scrollWidth <= PHONE.width, `document scrollWidth ${scrollWidth} <= ${PHONE.width}`);
  assertNoIssues(issues);
});
