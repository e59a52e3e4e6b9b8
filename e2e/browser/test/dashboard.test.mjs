// The operations dashboard in a real browser (Debian's chromium via playwright-core) against a
// real server and the city simulator with 20 drivers: an admin signs in with the keyboard, the
// Leaflet map shows a marker per simulated driver with OpenStreetMap's attribution, and, the
// tiles being unreachable here, the latitude/longitude grid; the counts match the simulator's, a
// driver's marker moves after its ping (its arrow turned to its heading when the update carries
// one), a requested trip appears and changes status, its driver en route carries an ETA label
// that moves, a dropped connection shows as a reconnect,
// and a screenshot is saved to target/dashboard.png for review. Tiles from a configured
// DASHBOARD_TILE_URL (a tile server of the test's own) load and are allowed by the page's policy.
// No request leaves this machine: the page's requests elsewhere are aborted as offline.

import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { createServer } from 'node:http';
import { resolve } from 'node:path';
import { deflateSync } from 'node:zlib';
import { test } from 'node:test';
import { io } from 'socket.io-client';

import { keepLocal, launch } from '../lib/browser.mjs';
import { ROOT, Server, Simulator, cleanups, freePort } from '../lib/processes.mjs';

const SIM_DRIVERS = 20;
/** The simulator uses driver1..20; the test drives driver21 itself. */
const OWN_DRIVER = 'driver21@rodando.local';
/** Near the middle of the simulated city (Havana), so any framing of the fleet holds it. */
const HERE = { latitude: 23.105, longitude: -82.375 };
const NORTH_EAST = { latitude: 23.11, longitude: -82.37 };
/** The default tiles (OpenStreetMap's), as the page must request them. */
const OSM_TILE = /^https:\/\/tile\.openstreetmap\.org\/\d+\/\d+\/\d+\.png$/;
const WAIT = 15_000;

/** The dashboard's driver counts as displayed. */
async function displayedCounts(page) {
  return page.evaluate(() => {
    const n = (id) => Number(document.getElementById(id).dataset.count);
    return {
      AVAILABLE: n('count-AVAILABLE'),
      BUSY: n('count-BUSY'),
      ON_TRIP: n('count-ON_TRIP'),
      OFFLINE: n('count-OFFLINE'),
      online: n('count-online'),
    };
  });
}

/** Polls until the displayed counts equal `expected()` (re-read each time); the last pair on failure. */
async function countsBecome(page, expected, what) {
  const deadline = Date.now() + WAIT;
  let shown;
  let wanted;
  while (Date.now() < deadline) {
    shown = await displayedCounts(page);
    wanted = expected();
    if (Object.entries(wanted).every(([k, v]) => shown[k] === v)) return shown;
    await new Promise((ok) => setTimeout(ok, 200));
  }
  assert.fail(`${what}: the dashboard shows ${JSON.stringify(shown)}, expected ${JSON.stringify(wanted)}`);
}

/** What the simulator says about its drivers, in the dashboard's terms (it has no BUSY drivers). */
function simulatorCounts(sim, extra = {}) {
  const p = sim.latest;
  return {
    online: p.driversOnline + (extra.online ?? 0),
    AVAILABLE: p.driversAvailable,
    ON_TRIP: p.driversOnTrip,
    BUSY: extra.BUSY ?? 0,
  };
}

/** The centre of a driver's marker on the screen. */
async function markerCentre(page, selector) {
  return page.$eval(selector, (el) => {
    const r = el.getBoundingClientRect();
    return { x: r.x + r.width / 2, y: r.y + r.height / 2 };
  });
}

function connected(socket) {
  return new Promise((ok, fail) => {
    const timer = setTimeout(() => fail(new Error('no hello within 5 s')), 5000);
    socket.once('hello', (hello) => {
      clearTimeout(timer);
      ok(hello);
    });
    socket.once('connect_error', (e) => {
      clearTimeout(timer);
      fail(e);
    });
  });
}

async function ack(socket, event, payload) {
  const reply = await socket.timeout(5000).emitWithAck(event, payload);
  assert.equal(reply.ok, true, `${event}: ${JSON.stringify(reply)}`);
  return reply.data;
}

test('the dashboard shows the simulated city live', { timeout: 90_000 }, async (t) => {
  const defer = cleanups(t);
  // driver1..3 are demo users; 18 more make driver21.
  const server = await Server.start({ SEED_DEMO_DRIVERS: '18' });
  defer(() => server.stop());
  const sim = Simulator.start(server.url, [
    '--drivers', String(SIM_DRIVERS),
    '--passengers', '0',
    '--duration', '1h',
    '--speed', '5',
    '--accept', '1',
    '--reject', '0',
    '--think', '10s',
    '--seed', '11',
  ]);
  defer(() => sim.stop());
  await sim.until((p) => p.driversOnline === SIM_DRIVERS, 30_000, `${SIM_DRIVERS} drivers online`);

  const browser = await launch();
  defer(() => browser.close());
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  const { refused, isRefusal } = await keepLocal(page, [server.url]);
  const problems = [];
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error' && !isRefusal(m)) problems.push(`console error: ${m.text()}`);
  });
  // What the server tells admins of our driver's fixes (does the update carry a heading?).
  const admin = await server.login('admin@rodando.local', 'admin_panel');
  const watcher = io(`${server.url}/admin`, { auth: { token: admin.accessToken }, transports: ['websocket'], reconnection: false });
  defer(() => watcher.close());
  await connected(watcher);
  const updates = [];
  watcher.on('driver:location:update', (u) => updates.push(u));

  // Sign in with the keyboard only.
  await page.goto(`${server.url}/dashboard`);
  assert.equal(await page.evaluate(() => document.activeElement?.id), 'email', 'the e-mail field has focus');
  await page.keyboard.type('admin@rodando.local');
  await page.keyboard.press('Tab');
  await page.keyboard.type('rodando123');
  await page.keyboard.press('Enter');
  await page.waitForSelector('#connection[data-state="live"]', { timeout: WAIT });
  assert.equal(await page.textContent('#who-name'), 'Ada Admin');
  // The socket upgrades to WebSocket: the page's CSP lets it through.
  await page.waitForFunction(() => document.getElementById('connection-detail').textContent.includes('websocket'), null, { timeout: WAIT });

  // A Leaflet map with OpenStreetMap's tiles and attribution. They cannot load here (no
  // network), so the page says so and the grid under them is what shows.
  assert.equal(await page.locator('#map.leaflet-container .leaflet-tile-pane').count(), 1, 'a Leaflet map');
  assert.equal(await page.evaluate(() => typeof globalThis.L?.version), 'string');
  assert.match(await page.textContent('#map .leaflet-control-attribution'), /© OpenStreetMap contributors/);
  await page.waitForSelector('#map[data-tiles="failed"]', { timeout: WAIT });
  assert.ok(refused.some((url) => OSM_TILE.test(url)), `tiles asked of OpenStreetMap: ${refused.slice(0, 3)}`);
  assert.ok(refused.every((url) => OSM_TILE.test(url)), `nothing else asked elsewhere: ${refused.filter((u) => !OSM_TILE.test(u))}`);
  assert.ok(await page.isVisible('#tiles-hint'), 'the page says the tiles cannot load');
  assert.equal(await page.locator('#map .leaflet-tile-loaded').count(), 0);
  assert.ok((await page.locator('#map .leaflet-grid-pane .grid-line').count()) >= 4, 'grid lines drawn');
  assert.ok(await page.isVisible('#map .leaflet-grid-pane > svg'), 'the grid is visible');
  assert.ok(await page.isVisible('#map .leaflet-grid-pane .grid-label >> nth=0'), 'the grid is labelled');
  assert.match(await page.textContent('#map .leaflet-grid-pane'), /23\.\d+°/);

  // First paint and live counts match the simulator's: a marker per simulated driver.
  await countsBecome(page, () => simulatorCounts(sim), 'fleet counts');
  assert.equal(await page.locator('#map .leaflet-marker-pane .driver-mark[data-driver-id]').count(), SIM_DRIVERS);

  // A driver of our own: its dot appears where it pings, and moves when it pings again.
  const driverLogin = await server.login(OWN_DRIVER, 'driver_app');
  const driver = io(`${server.url}/drivers`, { auth: { token: driverLogin.accessToken }, transports: ['websocket'], reconnection: false });
  defer(() => driver.close());
  await connected(driver);
  await ack(driver, 'driver:status:update', { availabilityStatus: 'BUSY' });
  await ack(driver, 'driver:location:ping', HERE);
  const dot = `#map .driver-mark[data-driver-id="${driverLogin.user.id}"]`;
  await page.waitForSelector(`${dot}[data-status="BUSY"][data-lat="${HERE.latitude}"]`, { timeout: WAIT });
  const before = await markerCentre(page, dot);
  await ack(driver, 'driver:location:ping', { ...NORTH_EAST, heading: 45 });
  await page.waitForSelector(`${dot}[data-lat="${NORTH_EAST.latitude}"][data-lon="${NORTH_EAST.longitude}"]`, { timeout: WAIT });
  const after = await markerCentre(page, dot);
  assert.ok(after.x > before.x + 1 && after.y < before.y - 1, `moved north-east on the map: ${JSON.stringify({ before, after })}`);
  // The arrow follows the heading when the server's update carries one, and is absent otherwise.
  const update = updates.findLast((u) => u.driverId === driverLogin.user.id && u.lastLocation?.coordinates?.[1] === NORTH_EAST.latitude);
  assert.ok(update, 'the admin socket heard the fix');
  const arrow = await page.$eval(dot, (el) => ({
    heading: el.dataset.heading ?? null,
    transform: el.querySelector('.arrow').style.transform,
    shown: getComputedStyle(el.querySelector('.arrow')).display !== 'none',
  }));
  if (typeof update.heading === 'number') {
    assert.deepEqual(arrow, { heading: String(update.heading), transform: `rotate(${update.heading}deg)`, shown: true });
  } else {
    assert.deepEqual(arrow, { heading: null, transform: '', shown: false }, 'no heading in the update, no arrow');
  }
  await countsBecome(page, () => simulatorCounts(sim, { online: 1, BUSY: 1 }), 'counts with our busy driver');

  // A passenger's trip appears, is offered to a simulated driver who accepts it, and moves on.
  const passenger = await server.login('passenger1@rodando.local', 'passenger_app');
  const { status, body: trip } = await server.post(
    '/api/trips',
    { pickup: { ...HERE, address: 'Browser test pickup' }, dropoff: { latitude: 23.12, longitude: -82.36 }, paymentMethod: 'cash' },
    passenger.accessToken,
  );
  assert.equal(status, 201, JSON.stringify(trip));
  defer(() => server.post(`/api/trips/${trip.id}/cancel`, { reason: 'browser test over' }, passenger.accessToken));
  const row = `#trip-rows tr[data-trip-id="${trip.id}"]`;
  await page.waitForSelector(row, { timeout: WAIT });
  const firstStatus = await page.getAttribute(row, 'data-status');
  assert.ok(['pending', 'assigning'].includes(firstStatus), `first shown as ${firstStatus}`);
  await page.waitForSelector(`${row}:is([data-status="arriving"], [data-status="in_progress"], [data-status="completed"])`, { timeout: 30_000 });
  assert.match(await page.textContent(`${row} td:nth-child(3)`), /^(?!—$)\S/, 'the assigned driver is shown');
  await sim.until((p) => p.driversOnTrip === 1, WAIT, 'a simulated driver on the trip');
  await countsBecome(page, () => simulatorCounts(sim, { online: 1, BUSY: 1 }), 'counts with a driver on a trip');

  // The en-route driver on the map: an "ETA n min" label at its position, moving as it pings
  // (trip:driver_en_route, at most one a second), with a line to where it heads.
  const eta = `#map .eta-label[data-trip-id="${trip.id}"]`;
  await page.waitForSelector(eta, { timeout: WAIT });
  assert.match(await page.textContent(eta), /^ETA \d+ min$/);
  assert.ok((await page.locator('#map path.en-route-line').count()) >= 1, 'a line to the pickup or dropoff');
  const firstFix = await page.$eval(eta, (el) => `${el.dataset.lat},${el.dataset.lon}`);
  await page.waitForFunction(
    ([sel, was]) => {
      const el = document.querySelector(sel);
      return !el || `${el.dataset.lat},${el.dataset.lon}` !== was;
    },
    [eta, firstFix],
    { timeout: WAIT },
  );

  // The trip list is keyboard-usable: Enter on a row shows its pickup and dropoff on the map.
  await page.focus(row);
  await page.keyboard.press('Enter');
  await page.waitForSelector(`${row}[aria-selected="true"]`, { timeout: WAIT });
  assert.equal(await page.locator('#map .trip-mark').count(), 2);

  const shots = resolve(ROOT, 'target');
  mkdirSync(shots, { recursive: true });
  await page.screenshot({ path: resolve(shots, 'dashboard.png') });
  if (process.env.DASHBOARD_SCREENSHOT) await page.screenshot({ path: resolve(process.env.DASHBOARD_SCREENSHOT) });

  // A dropped network shows as reconnecting, then live again with one reconnect counted.
  assert.equal(await page.getAttribute('#connection', 'data-reconnects'), '0');
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Network.enable');
  await cdp.send('Network.emulateNetworkConditions', { offline: true, latency: 0, downloadThroughput: -1, uploadThroughput: -1 });
  await page.waitForSelector('#connection:is([data-state="reconnecting"], [data-state="disconnected"])', { timeout: 60_000 });
  await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: -1 });
  await page.waitForSelector('#connection[data-state="live"][data-reconnects="1"]', { timeout: WAIT });
  assert.match(await page.textContent('#connection-detail'), /1 reconnect/);
  await countsBecome(page, () => simulatorCounts(sim, { online: 1, BUSY: 1 }), 'counts after the reconnect');

  assert.deepEqual(problems, []);
});

test('the dashboard and the simulator outlive short-lived access tokens', { timeout: 90_000 }, async (t) => {
  const defer = cleanups(t);
  // Every access token lives 15 s: both clients must refresh (REST) and hand the new token to
  // their live sockets (`auth:refresh`), or the server disconnects them (PROTOCOL §3).
  const server = await Server.start({ JWT_ACCESS_TTL: '15s' });
  defer(() => server.stop());
  const sim = Simulator.start(server.url, ['--drivers', '3', '--passengers', '0', '--duration', '1h', '--speed', '5', '--seed', '5']);
  defer(() => sim.stop());
  await sim.until((p) => p.driversOnline === 3, 30_000, '3 drivers online');

  const browser = await launch();
  defer(() => browser.close());
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  await keepLocal(page, [server.url]);
  await page.goto(`${server.url}/dashboard`);
  await page.fill('#email', 'admin@rodando.local');
  await page.fill('#password', 'rodando123');
  await page.press('#password', 'Enter');
  await page.waitForSelector('#connection[data-state="live"]', { timeout: WAIT });

  // Well past two token lifetimes.
  await new Promise((ok) => setTimeout(ok, 35_000));
  assert.equal(await page.getAttribute('#connection', 'data-state'), 'live');
  assert.equal(await page.getAttribute('#connection', 'data-reconnects'), '0', 'the dashboard kept its socket');
  assert.equal(sim.latest.errors, 0, sim.output);
  assert.equal(sim.latest.driversOnline, 3);
  await countsBecome(page, () => simulatorCounts(sim), 'fleet counts after the tokens rotated');

  const exit = await sim.stop('SIGTERM');
  assert.equal(exit.code, 0, `the simulator wound down cleanly:\n${sim.output}`);
  assert.match(sim.report, /errors {5}0\n/);
});

/** A 256×256 PNG of one colour (a tile of the test's own tile server). */
function png(rgb) {
  const crcTable = Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  const crc = (buf) => {
    let c = 0xffffffff;
    for (const b of buf) c = crcTable[(c ^ b) & 0xff] ^ (c >>> 8);
    return (c ^ 0xffffffff) >>> 0;
  };
  const chunk = (type, data) => {
    const head = Buffer.alloc(8);
    head.writeUInt32BE(data.length, 0);
    head.write(type, 4, 'latin1');
    const tail = Buffer.alloc(4);
    tail.writeUInt32BE(crc(Buffer.concat([head.subarray(4), data])), 0);
    return Buffer.concat([head, data, tail]);
  };
  const size = 256;
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(size, 0);
  ihdr.writeUInt32BE(size, 4);
  ihdr.set([8, 2, 0, 0, 0], 8); // 8-bit RGB
  const row = Buffer.concat([Buffer.from([0]), Buffer.alloc(size * 3).fill(Buffer.from(rgb))]);
  const idat = deflateSync(Buffer.concat(Array.from({ length: size }, () => row)));
  return Buffer.concat([Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]), chunk('IHDR', ihdr), chunk('IDAT', idat), chunk('IEND', Buffer.alloc(0))]);
}

test('tiles come from DASHBOARD_TILE_URL, whose host alone the page may load images from', { timeout: 60_000 }, async (t) => {
  const defer = cleanups(t);
  // A refused value stops the server at start, with one line naming the variable.
  await assert.rejects(Server.start({ DASHBOARD_TILE_URL: 'tiles.example.com/{z}/{x}/{y}.png' }), (e) => {
    assert.match(e.message, /invalid DASHBOARD_TILE_URL: must be a tile URL template/);
    return true;
  });

  const tile = png([0xe8, 0xe4, 0xd8]);
  const requests = [];
  const tileServer = createServer((req, res) => {
    requests.push({ url: req.url, referer: req.headers.referer ?? null });
    if (!/^\/tiles\/\d+\/\d+\/\d+\.png$/.test(req.url)) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'image/png', 'content-length': tile.length }).end(tile);
  });
  const tilePort = await freePort();
  await new Promise((ok) => tileServer.listen(tilePort, '127.0.0.1', ok));
  defer(() => new Promise((ok) => tileServer.close(ok)));
  const tileOrigin = `http://127.0.0.1:${tilePort}`;

  const server = await Server.start({ DASHBOARD_TILE_URL: `${tileOrigin}/tiles/{z}/{x}/{y}.png` });
  defer(() => server.stop());
  const policy = (await fetch(`${server.url}/dashboard`)).headers.get('content-security-policy');
  assert.match(policy, new RegExp(`; img-src 'self' data: ${tileOrigin}; `));

  const browser = await launch();
  defer(() => browser.close());
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  const { refused } = await keepLocal(page, [server.url, tileOrigin]);
  const problems = [];
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console error: ${m.text()}`);
  });
  await page.goto(`${server.url}/dashboard`);
  await page.fill('#email', 'admin@rodando.local');
  await page.fill('#password', 'rodando123');
  await page.press('#password', 'Enter');
  await page.waitForSelector('#connection[data-state="live"]', { timeout: WAIT });

  await page.waitForSelector('#map[data-tiles="loaded"]', { timeout: WAIT });
  assert.ok((await page.locator('#map .leaflet-tile-loaded').count()) > 0, 'tiles shown');
  assert.equal(await page.isVisible('#tiles-hint'), false, 'no fallback notice');
  assert.match(await page.textContent('#map .leaflet-control-attribution'), /© OpenStreetMap contributors/);
  assert.ok(requests.length > 0 && requests.every((r) => /^\/tiles\/\d+\/\d+\/\d+\.png$/.test(r.url)), JSON.stringify(requests.slice(0, 3)));
  // The page sends no referrer, its tiles the origin only (tile servers ask for one).
  assert.deepEqual([...new Set(requests.map((r) => r.referer))], [`${server.url}/`]);
  assert.deepEqual(refused, []);
  assert.deepEqual(problems, []);
});
