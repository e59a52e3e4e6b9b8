// The dashboard opened mid-trip (issue 15, item 4): with the city simulator's trips already under
// way, an admin signs in and the trip list shows trips in flight that the server's
// GET /api/trips?status=active also reports — trips requested before the page existed, so only
// admin:trips:snapshot can have told it — with a mark at each one's pickup on the map, kept
// current by the trip events the snapshot's watch brings. Plus the pure part of in_flight.js.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { missedEndings } from '../../../crates/dashboard/static/in_flight.js';
import { keepLocal, launch } from '../lib/browser.mjs';
import { Server, Simulator, cleanups } from '../lib/processes.mjs';

const WAIT = 20_000;
const FINAL = new Set(['completed', 'cancelled', 'no_drivers_found']);

test('a reconnect re-reads the known trips the snapshot no longer lists', () => {
  const known = [
    { id: 'a', status: 'arriving' },
    { id: 'b', status: 'in_progress' },
    { id: 'c', status: 'completed' },
    { id: 'd', status: 'pending' },
  ];
  assert.deepEqual(missedEndings(known, [{ id: 'b' }, { id: 'x' }]), ['a', 'd']);
  assert.deepEqual(missedEndings([], [{ id: 'b' }]), []);
});

/** The ids of the trips the server has in flight now, as an admin lists them. */
async function serverInFlight(server, token) {
  const res = await fetch(`${server.url}/api/trips?status=active&limit=100`, { headers: { authorization: `Bearer ${token}` } });
  assert.equal(res.status, 200);
  const body = await res.json();
  return new Set(body.items.map((t) => t.id));
}

test('the dashboard opened mid-trip lists the trips in flight and marks their pickups', { timeout: 180_000 }, async (t) => {
  const defer = cleanups(t);
  // driver1..10 and passenger1..6 (3 and 2 are demo users).
  const server = await Server.start({ SEED_DEMO_DRIVERS: '7', SEED_DEMO_PASSENGERS: '4' });
  defer(() => server.stop());
  const sim = Simulator.start(server.url, [
    '--drivers', '10',
    '--passengers', '6',
    '--duration', '1h',
    '--speed', '10',
    '--trip-rate', '40',
    '--trip-km', '2-4',
    '--accept', '1',
    '--reject', '0',
    '--think', '2s',
    '--seed', '15',
    '--connect-concurrency', '2',
  ]);
  defer(() => sim.stop());
  await sim.until((p) => p.driversOnTrip >= 2, 60_000, 'two trips under way');

  // What the server has in flight before the page exists.
  const admin = await server.login('admin@rodando.local', 'admin_panel');
  const before = await serverInFlight(server, admin.accessToken);
  assert.ok(before.size >= 2, `trips in flight before the page opened: ${before.size}`);

  const browser = await launch();
  defer(() => browser.close());
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  const { isRefusal } = await keepLocal(page, [server.url]);
  const problems = [];
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error' && !isRefusal(m)) problems.push(`console error: ${m.text()}`);
  });
  await page.goto(`${server.url}/dashboard`);
  await page.fill('#email', 'admin@rodando.local');
  await page.fill('#password', 'rodando123');
  await page.press('#password', 'Enter');
  await page.waitForSelector('#connection[data-state="live"]', { timeout: WAIT });

  // Poll: a row in flight that was in flight before the page opened and still is on the server.
  const deadline = Date.now() + WAIT;
  let shown = [];
  let now = new Set();
  let match = null;
  while (Date.now() < deadline) {
    shown = await page.$$eval('#trip-rows tr[data-trip-id]', (rows) => rows.map((r) => ({ id: r.dataset.tripId, status: r.dataset.status })));
    now = await serverInFlight(server, admin.accessToken);
    match = shown.find((r) => !FINAL.has(r.status) && before.has(r.id) && now.has(r.id));
    if (match) break;
    await new Promise((ok) => setTimeout(ok, 250));
  }
  assert.ok(match, `no row in flight that the server reports: shown ${JSON.stringify(shown)}, before ${[...before]}, now ${[...now]}`);
  // Its pickup is marked on the map.
  await page.waitForSelector(`#map .inflight-mark[data-trip-id="${match.id}"]`, { timeout: WAIT });

  // The page keeps it current: when the server's trip finishes, its row follows and the mark
  // goes (the snapshot watched the trip; no trip:requested ever reached this page for it).
  const finished = await page.waitForFunction(
    (id) => {
      const row = document.querySelector(`#trip-rows tr[data-trip-id="${id}"]`);
      return row && ['completed', 'cancelled', 'no_drivers_found'].includes(row.dataset.status) ? row.dataset.status : null;
    },
    match.id,
    { timeout: 90_000, polling: 250 },
  );
  const status = await finished.jsonValue();
  const res = await fetch(`${server.url}/api/trips/${match.id}`, { headers: { authorization: `Bearer ${admin.accessToken}` } });
  assert.equal((await res.json()).status, status, 'the row ends as the server has it');
  assert.equal(await page.locator(`#map .inflight-mark[data-trip-id="${match.id}"]`).count(), 0, 'its mark is gone');

  assert.deepEqual(problems, []);
});
