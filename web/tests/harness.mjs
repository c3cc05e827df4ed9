// Browser-test harness for the map app: starts `ecomap serve --demo` on a free loopback port,
// launches one headless Chromium per test file, and gives each test a fresh page that records
// console errors, page errors and failed requests, and leaves a screenshot in
// <repo>/target/browser-artifacts/<test name>.png (failed tests included).
//
// Every data endpoint needs a signed-in user: app.open() signs the page in first (as admin
// unless told otherwise, through POST /api/login from the page's own request context, so the
// browser holds the session cookie) and app.api() sends a session cookie of the user it is asked
// to act as (one login per user and file).
//
// Usage in a test file:
//   const app = useApp();                       // registers before/after hooks for the file
//   test('name', async (t) => {
//     const { page, issues } = await app.open(t, '/?lang=en');   // waits for the app to be ready
//     const zgq = await app.open(t, '/', { login: 'zgq' });      // signed in as another user
//     const mine = await app.api('/api/merchants?limit=1', 'zgq');
//     ...
//     assertNoIssues(issues);
//   });

import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before } from 'node:test';
import { fileURLToPath } from 'node:url';

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const ARTIFACTS = path.join(REPO, 'target', 'browser-artifacts');

/** How long a page may take to set `body[data-ready=true]`. */
export const READY_TIMEOUT_MS = 20_000;
const SERVER_TIMEOUT_MS = 60_000;
const DESKTOP = { width: 1280, height: 800 };

/**
 * The logins `ecomap serve --demo` creates (ecomap::demo::DEMO_USERS on the Rust side): the one
 * place the browser tests spell them out.
 */
export const DEMO_USERS = {
  admin: { password: 'ecomap-admin-demo', role: 'admin', org: null },
  zgq: { password: 'ecomap-branch-demo', role: 'branch', org: 'SB01' },
  szq: { password: 'ecomap-branch-demo', role: 'branch', org: 'SB02' },
  out01: { password: 'ecomap-staff-demo', role: 'staff', org: 'OUT01' },
};

/** {username, password} of a demo login, or a clear error for an unknown one. */
export function credentials(username) {
  const u = DEMO_USERS[username];
  if (!u) throw new Error(`no demo login '${username}' (have: ${Object.keys(DEMO_USERS).join(', ')})`);
  return { username, password: u.password };
}

const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** The ecomap binary: $ECOMAP_BIN, else the debug build. Throws with a how-to if missing. */
export function findBinary() {
  const bin = process.env.ECOMAP_BIN || path.join(REPO, 'target', 'debug', 'ecomap');
  if (!existsSync(bin)) {
    throw new Error(
      `ecomap binary not found at ${bin}: run \`cargo build\` in ${REPO} first ` +
        '(or set ECOMAP_BIN to the binary to test)',
    );
  }
  return bin;
}

/** A loopback port that was free a moment ago (bind to port 0, read it, close). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/**
 * Starts `ecomap --db <tmp>/demo.sqlite serve --demo --bind 127.0.0.1:<port>` and waits for
 * /api/health. Returns { baseUrl, health, stderr(), stop() }. `setup`: ecomap commands (argument
 * lists) run on the same database first, e.g. an OpenStreetMap import (then `--demo` only adds
 * the demo logins, since the database already has merchants).
 */
export async function startServer({ setup = [] } = {}) {
  const bin = findBinary();
  const dir = await mkdtemp(path.join(os.tmpdir(), 'ecomap-browser-'));
  for (const cmd of setup) {
    const full = ['--db', path.join(dir, 'demo.sqlite'), ...cmd];
    const r = spawnSync(bin, full, { cwd: REPO, encoding: 'utf8', env: { ...process.env, RUST_LOG: 'warn' } });
    if (r.status !== 0) {
      await rm(dir, { recursive: true, force: true });
      throw new Error(`setup failed: ${bin} ${full.join(' ')}\n--- stderr ---\n${r.stderr}\n--- stdout ---\n${r.stdout}`);
    }
  }
  const port = await freePort();
  const baseUrl = `http://127.0.0.1:${port}`;
  const args = ['--db', path.join(dir, 'demo.sqlite'), 'serve', '--demo', '--bind', `127.0.0.1:${port}`];
  const child = spawn(bin, args, {
    cwd: REPO,
    env: { ...process.env, ECOMAP_WEB_DIR: path.join(REPO, 'web'), RUST_LOG: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => { out += d; });
  child.stderr.on('data', (d) => { err += d; });
  let exited = null;
  const exit = new Promise((resolve) => child.on('exit', (code, signal) => {
    exited = { code, signal };
    resolve(exited);
  }));
  const killOnExit = () => child.kill('SIGKILL');
  process.on('exit', killOnExit);

  async function stop() {
    process.off('exit', killOnExit);
    if (!exited) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exit;
      clearTimeout(timer);
    }
    await rm(dir, { recursive: true, force: true });
  }

  const deadline = Date.now() + SERVER_TIMEOUT_MS;
  let health = null;
  let lastError = null;
  while (Date.now() < deadline) {
    if (exited) break;
    try {
      const r = await fetch(`${baseUrl}/api/health`);
      if (r.ok) {
        health = await r.json();
        break;
      }
      lastError = new Error(`/api/health answered ${r.status}`);
    } catch (e) {
      lastError = e;
    }
    await sleep(100);
  }
  if (!health) {
    await stop();
    const why = exited
      ? `exited early (code ${exited.code}, signal ${exited.signal})`
      : `did not answer /api/health within ${SERVER_TIMEOUT_MS / 1000} s (last: ${lastError?.message})`;
    throw new Error(
      `ecomap server ${why}\ncommand: ${bin} ${args.join(' ')}\n--- stderr ---\n${err}\n--- stdout ---\n${out}`,
    );
  }
  return { baseUrl, health, stderr: () => err, stop };
}

/** Headless Chromium ($CHROMIUM, default /usr/bin/chromium) through playwright-core. */
export async function launchBrowser() {
  const executablePath = process.env.CHROMIUM || '/usr/bin/chromium';
  if (!existsSync(executablePath)) {
    throw new Error(
      `Chromium not found at ${executablePath}: apt-get install -y chromium fonts-noto-cjk ` +
        '(or set CHROMIUM to a Chromium binary)',
    );
  }
  let chromium;
  try {
    ({ chromium } = await import('playwright-core'));
  } catch (e) {
    throw new Error(`playwright-core is missing: run \`npm ci --prefix web\` (${e.message})`);
  }
  return chromium.launch({ executablePath, args: CHROMIUM_ARGS });
}

/**
 * Signs `username` in with Node's fetch and returns the `name=value` of its session cookie.
 */
export async function loginCookie(baseUrl, username) {
  const r = await fetch(`${baseUrl}/api/login`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(credentials(username)),
  });
  const body = await r.json().catch(() => null);
  assert.equal(r.status, 200, `POST /api/login as ${username} answered ${r.status}: ${JSON.stringify(body)}`);
  const cookie = r.headers.getSetCookie().map((c) => c.split(';')[0]).find((c) => c.startsWith('ecomap_session='));
  assert.ok(cookie, `POST /api/login as ${username} set no ecomap_session cookie`);
  return cookie;
}

/**
 * Registers file-level before/after hooks that start the server and the browser, and returns
 * an object to use inside tests:
 *   app.baseUrl, app.health (GET /api/health as admin, so with counts),
 *   app.api(path, as = 'admin') (GET JSON from the server as that demo user; as = null: not
 *   signed in), app.open(t, path, options) -> { page, context, issues, requests }.
 */
export function useApp(serverOptions = {}) {
  const pagesPerTest = new WeakMap();
  const cookies = new Map();
  const app = {
    server: null,
    browser: null,
    get baseUrl() { return this.server.baseUrl; },
    get health() { return this.server.health; },
    /** The session cookie of demo user `username` (one login per user, reused). */
    async cookie(username) {
      if (!cookies.has(username)) cookies.set(username, loginCookie(this.baseUrl, username));
      return cookies.get(username);
    },
    async api(p, as = 'admin') {
      const headers = as ? { cookie: await this.cookie(as) } : {};
      const r = await fetch(this.baseUrl + p, { headers });
      const body = await r.json();
      assert.ok(r.ok, `GET ${p} as ${as ?? 'nobody'} answered ${r.status}: ${JSON.stringify(body)}`);
      return body;
    },
    /** POST `body` as JSON as that demo user (with the session's CSRF token); the JSON answer. */
    async post(p, body, as = 'admin') {
      const cookie = await this.cookie(as);
      const session = await (await fetch(`${this.baseUrl}/api/session`, { headers: { cookie } })).json();
      const r = await fetch(this.baseUrl + p, {
        method: 'POST',
        headers: { cookie, 'Content-Type': 'application/json', 'X-CSRF-Token': session.csrf_token },
        body: JSON.stringify(body),
      });
      const answer = await r.json();
      assert.ok(r.ok, `POST ${p} as ${as} answered ${r.status}: ${JSON.stringify(answer)}`);
      return answer;
    },
    /**
     * A fresh context and page for test `t`, at `urlPath`. Options:
     *   login ('admin' (default) | 'zgq' | 'szq' | 'out01' | null: who the page is signed in as;
     *   null leaves it signed out, at the login form),
     *   viewport ({width, height}), contextOptions (extra newContext options),
     *   tolerateHosts (hosts like '127.0.0.1:9' whose failed requests and errors are expected),
     *   waitReady (default: true when signed in: wait for body[data-ready=true] and check
     *   window.ecomap).
     * `requests` lists every request the page made, as 'METHOD /path?query' (same origin) or the
     * full URL.
     */
    async open(t, urlPath = '/', options = {}) {
      const { login = 'admin', viewport = DESKTOP, contextOptions = {}, tolerateHosts = [] } = options;
      const waitReady = options.waitReady ?? login !== null;
      const context = await this.browser.newContext({ viewport, deviceScaleFactor: 1, ...contextOptions });
      await reportCspViolations(context);
      const page = await context.newPage();
      const issues = watchPage(page, tolerateHosts);
      const requests = [];
      page.on('request', (r) => {
        const u = r.url();
        requests.push(`${r.method()} ${u.startsWith(this.baseUrl) ? u.slice(this.baseUrl.length) : u}`);
      });
      // A test's first page is <test name>.png, a second one <test name>-2.png, and so on.
      const n = (pagesPerTest.get(t) || 0) + 1;
      pagesPerTest.set(t, n);
      t.after(async () => {
        await mkdir(ARTIFACTS, { recursive: true });
        const file = path.join(ARTIFACTS, `${artifactName(t.name)}${n > 1 ? `-${n}` : ''}.png`);
        await page.screenshot({ path: file, timeout: 10_000 }).catch((e) => {
          console.error(`screenshot ${file} failed: ${e.message}`);
        });
        await context.close().catch(() => {});
      });
      if (login) {
        // page.request shares the context's cookies: the page starts signed in.
        const r = await page.request.post(`${this.baseUrl}/api/login`, { data: credentials(login) });
        assert.equal(r.status(), 200, `POST /api/login as ${login} answered ${r.status()}: ${await r.text()}`);
      }
      await page.goto(this.baseUrl + urlPath);
      if (waitReady) await waitForApp(page, issues);
      return { page, context, issues, requests };
    },
  };
  before(async () => {
    app.server = await startServer(serverOptions);
    // /api/health tells counts only to a signed-in user.
    app.server.health = await app.api('/api/health');
    app.browser = await launchBrowser();
  });
  after(async () => {
    await app.browser?.close().catch(() => {});
    if (app.server) {
      const problems = app.server.stderr().split('\n')
        .filter((l) => /ERROR|panicked/.test(l)).map((l) => l.slice(0, 500));
      await app.server.stop();
      if (problems.length) console.error(`--- ecomap server errors ---\n${problems.join('\n')}`);
    }
  });
  return app;
}

/** Test names become file names: letters, digits, '_', '-', '.'. */
export function artifactName(name) {
  return name.replace(/[^\p{L}\p{N}_.-]+/gu, '_').slice(0, 150);
}

function urlsIn(text) {
  return String(text).match(/\bhttps?:\/\/[^\s"'<>)]+/g) || [];
}

function hostOf(url) {
  try {
    return new URL(url).host;
  } catch {
    return null;
  }
}

/**
 * Makes every Content-Security-Policy violation in `context`'s pages a console error (which
 * watchPage records). Chromium already logs most of them ("Refused to load ...", "Refused to
 * execute inline script ..."); the securitypolicyviolation event catches the rest (report-only
 * cases, violations it only reports as an event).
 */
export async function reportCspViolations(context) {
  await context.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) => {
      console.error(`CSP violation: ${e.violatedDirective} blocked ${e.blockedURI || '(inline)'}` +
        ` at ${e.sourceFile || '?'}:${e.lineNumber}`);
    });
  });
}

/**
 * Records problems on `page`: console errors, uncaught page errors, responses with status
 * >= 400 and requests that failed on the network. Anything whose URL (or, for console
 * messages, any URL it mentions or its source location) is on a tolerated host is skipped.
 */
export function watchPage(page, tolerateHosts = []) {
  const tolerated = new Set(tolerateHosts);
  const isTolerated = (urls) => urls.some((u) => tolerated.has(hostOf(u)));
  const issues = { consoleErrors: [], pageErrors: [], failedResponses: [], failedRequests: [] };
  page.on('console', (msg) => {
    if (msg.type() !== 'error') return;
    const loc = msg.location();
    const urls = [...urlsIn(msg.text()), ...(loc?.url ? [loc.url] : [])];
    if (isTolerated(urls)) return;
    issues.consoleErrors.push(`${msg.text()}${loc?.url ? ` (${loc.url}:${loc.lineNumber})` : ''}`);
  });
  page.on('pageerror', (e) => {
    if (isTolerated(urlsIn(`${e.message}\n${e.stack || ''}`))) return;
    issues.pageErrors.push(e.stack || e.message);
  });
  page.on('response', (r) => {
    if (r.status() >= 400 && !isTolerated([r.url()])) {
      issues.failedResponses.push(`${r.status()} ${r.request().method()} ${r.url()}`);
    }
  });
  page.on('requestfailed', (r) => {
    const why = r.failure()?.errorText || 'failed';
    // Requests the page itself cancelled (a superseded fetch, a tile that scrolled away) are fine.
    if (why.includes('ERR_ABORTED') || isTolerated([r.url()])) return;
    issues.failedRequests.push(`${why} ${r.method()} ${r.url()}`);
  });
  return issues;
}

/** Asserts that the page logged no console error, threw nothing and had no failed request. */
export function assertNoIssues(issues, what = 'the page') {
  const lines = [];
  for (const [k, v] of Object.entries(issues)) for (const line of v) lines.push(`${k}: ${line}`);
  assert.deepEqual(lines, [], `${what} had problems:\n${lines.join('\n')}`);
}

/**
 * Waits for `document.body.dataset.ready === 'true'`, then checks the `window.ecomap` contract
 * (map, crs, counts, selectOutlet) and waits for the map to stop moving.
 */
export async function waitForApp(page, issues) {
  try {
    await page.waitForFunction(() => document.body.dataset.ready === 'true', null, {
      timeout: READY_TIMEOUT_MS,
    });
  } catch (e) {
    const state = await page
      .evaluate(() => ({ ready: document.body.dataset.ready ?? null, title: document.title }))
      .catch(() => null);
    throw new Error(
      `the app did not set body[data-ready=true] within ${READY_TIMEOUT_MS / 1000} s ` +
        `(state: ${JSON.stringify(state)}; problems so far: ${JSON.stringify(issues)})`,
      { cause: e },
    );
  }
  const shape = await page.evaluate(() => {
    const e = window.ecomap;
    if (!e) return null;
    return {
      map: !!(e.map && typeof e.map.getSource === 'function'),
      crs: typeof e.crs,
      counts: e.counts && typeof e.counts === 'object' ? Object.keys(e.counts).sort() : null,
      selectOutlet: typeof e.selectOutlet,
    };
  });
  assert.ok(shape, 'window.ecomap is missing once body[data-ready=true]');
  assert.deepEqual(
    shape,
    { map: true, crs: 'string', counts: ['areas', 'communities', 'merchants', 'outlets'], selectOutlet: 'function' },
    'window.ecomap = { map, crs, counts: {outlets, merchants, communities, areas}, selectOutlet }',
  );
  await waitForMapIdle(page);
}

/** Waits until the map is not moving and has drawn everything it has (or `timeout` passes). */
export async function waitForMapIdle(page, timeout = 15_000) {
  await page.waitForFunction(
    () => {
      const m = window.ecomap && window.ecomap.map;
      return !!m && !m.isMoving() && m.loaded();
    },
    null,
    { timeout, polling: 100 },
  );
  // One more frame pair so that queryRenderedFeatures sees the last render.
  await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
}

/**
 * Re-runs `check` (an async function that asserts) until it passes or `timeout` ms have
 * passed; then rethrows its last assertion error, so the failure shows real values.
 */
export async function eventually(check, timeout = 10_000, interval = 100) {
  const deadline = Date.now() + timeout;
  for (;;) {
    try {
      return await check();
    } catch (e) {
      if (Date.now() >= deadline) throw e;
    }
    await sleep(interval);
  }
}

export function sleep(ms) {
  return new Promise((r) => setTimeout(r, ms));
}

/** Great-circle distance in metres between [lon, lat] points. */
export function distanceM([lon1, lat1], [lon2, lat2]) {
  const rad = Math.PI / 180;
  const dLat = (lat2 - lat1) * rad;
  const dLon = (lon2 - lon1) * rad;
  const a = Math.sin(dLat / 2) ** 2 + Math.cos(lat1 * rad) * Math.cos(lat2 * rad) * Math.sin(dLon / 2) ** 2;
  return 2 * 6_371_008.8 * Math.asin(Math.sqrt(a));
}

/** The GeoJSON data of a map source, as the page holds it (MapLibre 5 getData or serialize). */
export function sourceData(page, id) {
  return page.evaluate(async (id) => {
    const src = window.ecomap.map.getSource(id);
    if (!src) return null;
    if (typeof src.getData === 'function') return await src.getData();
    return src.serialize().data;
  }, id);
}

/**
 * Clicks the map canvas at [lon, lat] (in the page's coordinate system). With `center`, the
 * map first jumps there (keeping its zoom, or `zoom`) so the point is clear of overlays.
 */
export async function clickMapAt(page, lonLat, { center = true, zoom } = {}) {
  if (center) {
    await page.evaluate(([c, z]) => {
      const m = window.ecomap.map;
      m.jumpTo({ center: c, zoom: z ?? Math.max(m.getZoom(), 15) });
    }, [lonLat, zoom ?? null]);
    await waitForMapIdle(page);
  }
  const px = await page.evaluate((c) => {
    const p = window.ecomap.map.project(c);
    return { x: p.x, y: p.y };
  }, lonLat);
  const box = await page.locator('#map canvas').first().boundingBox();
  assert.ok(box, '#map canvas is not on the page');
  await page.mouse.click(box.x + px.x, box.y + px.y);
}

/**
 * The features of vector source `id` in the tiles the page holds (MapLibre's querySourceFeatures
 * over source layer `sourceLayer`, default the source's id), as {id, properties, coordinates}.
 * A feature may come more than once (once per tile that holds it).
 */
export function tileFeatures(page, id, sourceLayer = id) {
  return page.evaluate(([id, sourceLayer]) => window.ecomap.map.querySourceFeatures(id, { sourceLayer })
    .map((f) => ({ id: f.id, properties: { ...f.properties }, coordinates: f.geometry.coordinates })), [id, sourceLayer]);
}

/** The features of `layers` drawn on screen now, as {layer, properties, coordinates}. */
export function renderedFeatures(page, layers) {
  return page.evaluate((layers) => window.ecomap.map.queryRenderedFeatures({ layers })
    .map((f) => ({ layer: f.layer.id, properties: { ...f.properties }, coordinates: f.geometry.coordinates })), layers);
}

/** Web Mercator tile {z, x, y} holding [lon, lat] at zoom z. */
export function tileOf([lon, lat], z) {
  const n = 2 ** z;
  const r = (lat * Math.PI) / 180;
  return {
    z,
    x: Math.min(n - 1, Math.max(0, Math.floor(((lon + 180) / 360) * n))),
    y: Math.min(n - 1, Math.max(0, Math.floor(((1 - Math.log(Math.tan(r) + 1 / Math.cos(r)) / Math.PI) / 2) * n))),
  };
}

/** The tiles of zoom z that cover the box [[west, south], [east, north]]. */
export function tilesCovering([[w, s], [e, n]], z) {
  const a = tileOf([w, n], z);
  const b = tileOf([e, s], z);
  const out = [];
  for (let x = a.x; x <= b.x; x++) for (let y = a.y; y <= b.y; y++) out.push({ z, x, y });
  return out;
}

/** Jumps the page's map to `center` at `zoom` and waits until it has drawn everything. */
export async function jumpTo(page, center, zoom) {
  await page.evaluate(([c, z]) => window.ecomap.map.jumpTo({ center: c, zoom: z }), [center, zoom]);
  await waitForMapIdle(page);
}
