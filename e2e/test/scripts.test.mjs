// The four ws:test:* scripts in assert mode (issue 8, item 1): each scenario against a fresh
// server, the driver and admin scripts side by side, and each npm script as a person runs it
// (`npm run … -- --url`), exit status and printed lines included.

import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, test } from 'node:test';

import { assertOkAck, trip as tripShape } from '../lib/payloads.mjs';
import { emitWithAck, expectEvent } from '../lib/server.mjs';
import { skipUnlessSpawned, suiteServer } from '../lib/suite.mjs';
import { Tracer } from '../lib/trace.mjs';
import { runAdmin } from '../scripts/da-admin.mjs';
import { runDriver } from '../scripts/da-driver.mjs';
import { runPassenger, PASSENGER_DEFAULTS } from '../scripts/trip-passenger.mjs';
import { EXPECTED_SEQUENCES, runTripFlow } from '../scripts/trip-flow.mjs';

const E2E_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const run = promisify(execFile);
const PACKAGE = JSON.parse(readFileSync(resolve(E2E_DIR, 'package.json'), 'utf8'));

/** A tracer whose lines are kept for the assertions (and shown when E2E_VERBOSE is set). */
function keptTracer() {
  const lines = [];
  const tracer = new Tracer((line) => {
    lines.push(line);
    if (process.env.E2E_VERBOSE) console.log(line);
  });
  return { tracer, lines };
}

/** Lines printed for received `event` by `who`. */
const printedEvents = (lines, who, event) => lines.filter((l) => l.includes(` ${who} ← ${event} `));

describe('ws:test:da:driver beside ws:test:da:admin', () => {
  const server = suiteServer(undefined, { each: true });

  test('the admin hears every broadcast of the driver, and both print all of it', async () => {
    const { tracer, lines } = keptTracer();
    const stop = new AbortController();
    let ready;
    const adminReady = new Promise((ok) => {
      ready = ok;
    });
    const adminRun = runAdmin({ server, tracer, signal: stop.signal, onReady: ready });
    await adminReady;
    const driver = await runDriver({ server, tracer, pings: 3, intervalMs: 100, durationMs: 0 });
    // Location updates reach admins coalesced over 500 ms: the last one may trail.
    const lastFix = driver.received.filter((e) => e.event === 'driver:location:update').at(-1).payload.lastLocationTimestamp;
    for (let waited = 0; waited < 3000; waited += 50) {
      if (lines.some((l) => l.includes(' admin ← driver:location:update ') && l.includes(lastFix))) break;
      await new Promise((ok) => setTimeout(ok, 50));
    }
    stop.abort();
    const admin = await adminRun;

    if (!server.external) assert.deepEqual(admin.snapshot.drivers, [], 'nobody was online before the driver');
    const acked = driver.acks.map((a) => `${a.event} ${a.data.availabilityStatus}`);
    assert.deepEqual(acked, [
      'driver:status:update AVAILABLE',
      'driver:location:ping AVAILABLE',
      'driver:location:ping AVAILABLE',
      'driver:location:ping AVAILABLE',
      'driver:trip:set BUSY',
      'driver:location:ping BUSY',
      'driver:trip:set AVAILABLE',
      'driver:status:update OFFLINE',
    ]);

    const about = (list, event) => list.filter((e) => e.event === event && e.payload.driverId === driver.driverId).map((e) => e.payload);
    const own = (event) => about(driver.received, event);
    const heard = (event) => about(admin.received, event);
    // Availability and trip broadcasts: the admin hears exactly what the driver's room hears.
    assert.equal(own('driver:availability:update').length, 2, 'AVAILABLE and OFFLINE');
    assert.deepEqual(heard('driver:availability:update'), own('driver:availability:update'));
    assert.deepEqual(
      heard('driver:trip:update').map((u) => u.currentTripId),
      [driver.tripId, null],
      'the trip set, then cleared',
    );
    assert.deepEqual(heard('driver:trip:update'), own('driver:trip:update'));
    // Positions: every ping reaches the driver; the admins may get fewer, never a stale last one.
    const ownFixes = own('driver:location:update');
    const adminFixes = heard('driver:location:update');
    assert.equal(ownFixes.length, 4);
    assert.ok(adminFixes.length >= 1 && adminFixes.length <= 4, `${adminFixes.length} fixes reached the admin`);
    for (const fix of adminFixes) assert.ok(ownFixes.some((f) => JSON.stringify(f) === JSON.stringify(fix)), 'each fix the admin got was sent');
    assert.deepEqual(adminFixes.at(-1), ownFixes.at(-1), 'the admin ends with the latest position');
    // Nothing else about the driver reached the admin.
    assert.deepEqual(
      admin.received.filter((e) => !['driver:availability:update', 'driver:trip:update', 'driver:location:update'].includes(e.event)),
      [],
    );

    // Printed: every ack of the driver, every event of both.
    assert.equal(lines.filter((l) => / driver3 ⇐ ack /.test(l)).length, driver.acks.length + 1, 'each ack (and the OFFLINE reset) printed');
    for (const { event } of driver.received) assert.ok(printedEvents(lines, 'driver3', event).length > 0, `driver3 printed ${event}`);
    for (const { event } of admin.received) {
      const expected = admin.received.filter((e) => e.event === event).length;
      assert.equal(printedEvents(lines, 'admin', event).length, expected, `admin printed each ${event}`);
    }
    assert.ok(lines.every((l) => /^\d\d:\d\d:\d\d\.\d{3} /.test(l)), 'every line starts with its time');
  });
});

// Who gets the offer depends on every available driver near the pickup: a fresh server only.
describe('ws:test:trip:passenger', { skip: process.env.SERVER_URL ? 'needs a fresh spawned server (SERVER_URL is set)' : false }, () => {
  const server = suiteServer(undefined, { each: true });

  test('with nobody available the trip ends at once as no_drivers_found', async () => {
    const { tracer, lines } = keptTracer();
    const result = await runPassenger({ server, tracer, durationMs: 5000 });
    assert.equal(result.trip.status, 'no_drivers_found');
    assert.deepEqual(result.events.map((e) => e.event), ['trip:requested', 'trip:no_drivers_found']);
    assert.equal(result.events[1].payload.reason, 'no_drivers_available');
    assert.equal(result.cancelled, null, 'nothing to cancel');
    assert.equal(printedEvents(lines, 'passenger2', 'trip:no_drivers_found').length, 1);
  });

  test('a driver accepts and drives: the passenger hears the whole trip, then stops by itself', async () => {
    const { tracer } = keptTracer();
    const { socket: driver, login: driverLogin } = await server.connected('driver1@rodando.local', '/drivers');
    assertOkAck(await emitWithAck(driver, 'driver:status:update', { availabilityStatus: 'AVAILABLE' }), 'AVAILABLE');
    const near = { latitude: PASSENGER_DEFAULTS.pickup.latitude + 0.003, longitude: PASSENGER_DEFAULTS.pickup.longitude };
    assertOkAck(await emitWithAck(driver, 'driver:location:ping', near), 'ping');

    const drive = async (trip) => {
      const offer = await expectEvent(driver, 'trip:assignment:offered');
      assert.equal(offer.tripId, trip.id);
      assertOkAck(await emitWithAck(driver, 'driver:offer:accept', { assignmentId: offer.assignmentId }), 'accept', tripShape);
      for (const step of ['arrived', 'start', 'complete']) {
        const { status, body } = await server.post(`/api/trips/${trip.id}/${step}`, undefined, {
          authorization: `Bearer ${driverLogin.accessToken}`,
        });
        assert.equal(status, 200, `${step}: ${JSON.stringify(body)}`);
      }
    };
    let driving;
    const result = await runPassenger({
      server,
      tracer,
      durationMs: 10_000,
      onRequested: (trip) => {
        driving = drive(trip);
      },
    });
    await driving;
    assert.deepEqual(result.events.map((e) => e.event), EXPECTED_SEQUENCES.passenger.filter((e) => e !== 'trip:assignment:rejected'));
    assert.equal(result.events.at(-1).payload.driverId, driverLogin.user.id);
    assert.equal(result.cancelled, null, 'the trip ended by itself');
  });

  test('stopped while a driver considers the offer, it cancels the trip and the driver is told', async () => {
    const { tracer } = keptTracer();
    const { socket: driver } = await server.connected('driver1@rodando.local', '/drivers');
    assertOkAck(await emitWithAck(driver, 'driver:status:update', { availabilityStatus: 'AVAILABLE' }), 'AVAILABLE');
    const near = { latitude: PASSENGER_DEFAULTS.pickup.latitude + 0.003, longitude: PASSENGER_DEFAULTS.pickup.longitude };
    assertOkAck(await emitWithAck(driver, 'driver:location:ping', near), 'ping');
    const stop = new AbortController();
    const result = await runPassenger({
      server,
      tracer,
      signal: stop.signal,
      onRequested: () => {
        expectEvent(driver, 'trip:assignment:offered').then(() => stop.abort());
      },
    });
    assert.deepEqual(result.events.map((e) => e.event), ['trip:requested', 'trip:assigning_started', 'trip:cancelled']);
    assert.equal(result.cancelled.data.status, 'cancelled');
    assert.equal(result.events.at(-1).payload.cancelledBy, 'passenger');
    const withdrawn = await expectEvent(driver, 'trip:cancelled');
    assert.equal(withdrawn.tripId, result.trip.id, 'the offered driver learns the offer is gone');
  });
});

describe('ws:test:trip:flow', () => {
  const server = suiteServer();

  test('request → reject → accept → arrived → started → completed, every party hearing exactly its part', async () => {
    const { tracer, lines } = keptTracer();
    const result = await runTripFlow({ server, tracer, strict: !server.external });
    assert.equal(result.completed.status, 'completed');
    const ours = (e) => e.event.startsWith('trip:') && e.payload?.tripId === result.tripId;
    for (const [role, expected] of Object.entries(EXPECTED_SEQUENCES)) {
      assert.deepEqual(result.parties[role].received.filter(ours).map((e) => e.event), expected, role);
    }
    const tripLines = lines.filter((l) => / ← trip:/.test(l) && l.includes(result.tripId));
    const expectedCount = Object.values(EXPECTED_SEQUENCES).reduce((n, s) => n + s.length, 0);
    assert.equal(tripLines.length, expectedCount, 'every trip event of every party was printed');
  });
});

describe('the npm scripts, run by hand', () => {
  const server = suiteServer();

  /**
   * What `npm run <script> -- --url … …args` runs: the command of package.json, without npm's
   * own second of start-up. Returns the child process.
   */
  const npmRun = (script, ...args) => {
    const command = PACKAGE.scripts[script];
    assert.ok(command, `package.json has no script ${script}`);
    const [bin, ...words] = command.split(' ');
    assert.equal(bin, 'node', `${script} runs node`);
    return spawn(process.execPath, [...words, '--url', server.url, ...args], {
      cwd: E2E_DIR,
      env: { ...process.env, SERVER_URL: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  };

  /** Resolves `{code, stdout, stderr}` when `child` exits (killed after 60 s). */
  const finished = (child) =>
    new Promise((ok) => {
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d) => {
        stdout += d;
      });
      child.stderr.on('data', (d) => {
        stderr += d;
      });
      const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
      child.on('close', (code, signal) => {
        clearTimeout(timer);
        ok({ code, signal, stdout, stderr });
      });
    });

  test('each of the four runs against a server given by --url, prints what it sees, and exits 0', async (t) => {
    if (skipUnlessSpawned(t, server, 'SERVER_URL is set: run the scripts by hand against it instead')) return;
    // As people run them: the admin first, until Ctrl-C; the others side by side (the passenger
    // asks for a pickup where no driver is).
    const adminChild = npmRun('ws:test:da:admin');
    const admin = finished(adminChild);
    await new Promise((ok, fail) => {
      const timer = setTimeout(() => fail(new Error('the admin script never started listening')), 20_000);
      adminChild.stdout.on('data', (d) => {
        if (String(d).includes('listening for broadcasts')) {
          clearTimeout(timer);
          ok();
        }
      });
    });
    const [driver, passenger, flow] = await Promise.all([
      finished(npmRun('ws:test:da:driver', '--assert', '--interval', '0.05')),
      finished(npmRun('ws:test:trip:passenger', '--assert', '--pickup', '20.0217,-75.8294', '--dropoff', '20.0300,-75.8200')),
      finished(npmRun('ws:test:trip:flow')),
    ]);
    await new Promise((ok) => setTimeout(ok, 700)); // the last coalesced position to the admin
    adminChild.kill('SIGINT');
    const watched = await admin;
    for (const [name, r] of Object.entries({ driver, passenger, flow, admin: watched })) {
      assert.equal(r.code, 0, `${name} exit status; stderr: ${r.stderr}`);
    }
    assert.match(driver.stdout, / driver3 ← hello /);
    assert.match(driver.stdout, / driver3 ⇐ ack driver:trip:set \{"ok":true,"data":\{/);
    assert.match(driver.stdout, /ws:test:da:driver · done/);
    assert.match(watched.stdout, / admin ⇐ ack admin:drivers:snapshot \{"ok":true,"data":\{"drivers":\[/);
    for (const event of ['driver:availability:update', 'driver:location:update', 'driver:trip:update', 'trip:requested']) {
      assert.match(watched.stdout, new RegExp(` admin ← ${event} `), `the admin printed ${event}`);
    }
    assert.match(watched.stdout, /Ctrl-C: stopping/);
    assert.match(watched.stdout, /ws:test:da:admin · done/);
    assert.match(passenger.stdout, / passenger2 ← trip:no_drivers_found /);
    assert.match(passenger.stdout, /ws:test:trip:passenger · done/);
    assert.match(flow.stdout, / driver2 ← trip:completed /);
    assert.match(flow.stdout, /every party heard exactly its events/);
  });

  test('a bad option exits 2 and an unreachable server exits 1, each with one clear line', async () => {
    const bad = await run('node', ['scripts/da-driver.mjs', '--pings', 'many'], { cwd: E2E_DIR }).catch((e) => e);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--pings must be a positive integer/);
    const down = await run('node', ['scripts/trip-flow.mjs', '--url', 'http://127.0.0.1:9'], { cwd: E2E_DIR }).catch((e) => e);
    assert.equal(down.code, 1);
    assert.match(down.stderr, /is the server running at http:\/\/127\.0\.0\.1:9\?/);
  });
});
