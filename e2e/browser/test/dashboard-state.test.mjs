// The dashboard's pure modules (crates/dashboard/static/*.js) under Node: how the fleet, the trip
// list, the map's framing and grid and the session behave, without a browser or a server; and
// the vendored libraries are byte for byte those of their pinned npm packages.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';

import { Fleet, headingOf, pointOf, statusOf } from '../../../crates/dashboard/static/fleet.js';
import { Trips, advances } from '../../../crates/dashboard/static/trips.js';
import { Bounds, HAVANA, MIN_SPAN_DEG, gridLines } from '../../../crates/dashboard/static/projection.js';
import { ApiError, Session, explain } from '../../../crates/dashboard/static/session.js';

const D1 = '0190a1b2-0000-7000-8000-000000000001';
const D2 = '0190a1b2-0000-7000-8000-000000000002';
const T1 = '0190a1b2-0000-7000-8000-0000000000a1';

function snapshot(driverId, fields = {}) {
  return {
    driverId,
    isOnline: true,
    isAvailableForTrips: true,
    availabilityStatus: 'AVAILABLE',
    availabilityReason: null,
    lastLocation: { type: 'Point', coordinates: [-82.36, 23.11] },
    lastLocationTimestamp: '2026-01-01T10:00:00Z',
    currentTripId: null,
    updatedAt: '2026-01-01T10:00:00Z',
    ...fields,
  };
}

describe('fleet', () => {
  it('derives the four displayed statuses from availability snapshots', () => {
    assert.equal(statusOf({ isOnline: false, isAvailableForTrips: false }), 'OFFLINE');
    assert.equal(statusOf({ isOnline: true, isAvailableForTrips: true }), 'AVAILABLE');
    assert.equal(statusOf({ isOnline: true, isAvailableForTrips: false, currentTripId: T1 }), 'ON_TRIP');
    assert.equal(statusOf({ isOnline: true, isAvailableForTrips: false, availabilityReason: 'ON_TRIP' }), 'ON_TRIP');
    assert.equal(statusOf({ isOnline: true, isAvailableForTrips: false, availabilityReason: 'UNAVAILABLE' }), 'BUSY');
  });

  it('reads GeoJSON points as longitude, latitude and refuses garbage', () => {
    assert.deepEqual(pointOf({ type: 'Point', coordinates: [-82.36, 23.11] }), { lat: 23.11, lon: -82.36 });
    for (const bad of [null, {}, { type: 'Point' }, { type: 'Point', coordinates: [1] }, { type: 'Line', coordinates: [1, 2] }, { type: 'Point', coordinates: ['a', 2] }]) {
      assert.equal(pointOf(bad), null, JSON.stringify(bad));
    }
  });

  it('counts per status and follows availability, location and trip updates', () => {
    const fleet = new Fleet();
    fleet.replaceAll([snapshot(D1), snapshot(D2, { isAvailableForTrips: false, availabilityReason: 'UNAVAILABLE' })]);
    assert.deepEqual(fleet.counts(), { AVAILABLE: 1, BUSY: 1, ON_TRIP: 0, OFFLINE: 0 });
    assert.deepEqual(new Set(fleet.takeChanged()), new Set([D1, D2]));

    assert.equal(fleet.location({ driverId: D1, lastLocation: { type: 'Point', coordinates: [-82.35, 23.12] }, lastLocationTimestamp: '2026-01-01T10:00:05Z' }), true);
    assert.deepEqual(fleet.drivers.get(D1).position, { lat: 23.12, lon: -82.35 });
    // An older fix arriving late does not move the driver back.
    assert.equal(fleet.location({ driverId: D1, lastLocation: { type: 'Point', coordinates: [-82.0, 23.0] }, lastLocationTimestamp: '2026-01-01T10:00:01Z' }), false);
    assert.deepEqual(fleet.drivers.get(D1).position, { lat: 23.12, lon: -82.35 });

    fleet.trip({ driverId: D1, currentTripId: T1, availabilityReason: 'ON_TRIP', isAvailableForTrips: false });
    assert.deepEqual(fleet.counts(), { AVAILABLE: 0, BUSY: 1, ON_TRIP: 1, OFFLINE: 0 });

    fleet.availability(snapshot(D2, { isOnline: false, isAvailableForTrips: false, availabilityReason: 'OFFLINE', updatedAt: '2026-01-01T10:01:00Z' }));
    assert.deepEqual(fleet.counts(), { AVAILABLE: 0, BUSY: 0, ON_TRIP: 1, OFFLINE: 1 });
    // A stale snapshot (older updatedAt) does not bring it back online.
    assert.equal(fleet.availability(snapshot(D2, { updatedAt: '2026-01-01T10:00:30Z' })), false);
    assert.equal(fleet.drivers.get(D2).status, 'OFFLINE');
  });

  it('keeps the heading of the fix that carried one, and only that fix', () => {
    assert.equal(headingOf(90), 90);
    assert.equal(headingOf(360), 0);
    for (const bad of [undefined, null, -1, 361, NaN, '90']) assert.equal(headingOf(bad), null, String(bad));
    const fleet = new Fleet();
    const at = (s) => `2026-01-01T10:00:${s}Z`;
    fleet.location({ driverId: D1, lastLocation: { type: 'Point', coordinates: [-82.36, 23.11] }, lastLocationTimestamp: at('01'), heading: 45 });
    assert.equal(fleet.drivers.get(D1).heading, 45);
    // A new heading alone, at the same place, is a change.
    assert.equal(fleet.location({ driverId: D1, lastLocation: { type: 'Point', coordinates: [-82.36, 23.11] }, lastLocationTimestamp: at('02'), heading: 90 }), true);
    assert.equal(fleet.drivers.get(D1).heading, 90);
    // A snapshot that says nothing of headings keeps it while the driver has not moved…
    fleet.availability(snapshot(D1, { lastLocationTimestamp: at('02'), isAvailableForTrips: false, availabilityReason: 'UNAVAILABLE' }));
    assert.equal(fleet.drivers.get(D1).heading, 90);
    // …and a fix elsewhere without one clears it.
    fleet.location({ driverId: D1, lastLocation: { type: 'Point', coordinates: [-82.35, 23.12] }, lastLocationTimestamp: at('03') });
    assert.equal(fleet.drivers.get(D1).heading, null);
  });

  it('marks drivers missing from a fresh snapshot as offline (they left while disconnected)', () => {
    const fleet = new Fleet();
    fleet.replaceAll([snapshot(D1), snapshot(D2)]);
    fleet.replaceAll([snapshot(D2, { updatedAt: '2026-01-01T10:05:00Z' })]);
    assert.equal(fleet.drivers.get(D1).status, 'OFFLINE');
    assert.equal(fleet.drivers.get(D2).status, 'AVAILABLE');
    fleet.replaceAll(undefined);
    assert.deepEqual(fleet.counts(), { AVAILABLE: 0, BUSY: 0, ON_TRIP: 0, OFFLINE: 2 });
  });
});

describe('trips', () => {
  it('only ever moves a trip forward, and never out of a final status', () => {
    assert.equal(advances(null, 'assigning'), true);
    assert.equal(advances('assigning', 'arriving'), true);
    assert.equal(advances('arriving', 'assigning'), false);
    assert.equal(advances('arriving', 'cancelled'), true);
    assert.equal(advances('completed', 'cancelled'), false);
    assert.equal(advances('assigning', 'bogus'), false);
  });

  it('follows a trip from its announcement to completion, whatever the arrival order', () => {
    const trips = new Trips();
    trips.apply('trip:requested', { tripId: T1, passengerId: 'p', pickup: { latitude: 23.1, longitude: -82.4 }, dropoff: { latitude: 23.12, longitude: -82.38 }, requestedAt: '2026-01-01T10:00:00Z', fareEstimate: 7.5, currency: 'CUP', status: 'assigning' });
    assert.equal(trips.trips.get(T1).status, 'assigning');
    trips.apply('trip:assignment:rejected', { tripId: T1, driverId: D2 });
    assert.equal(trips.trips.get(T1).offersDeclined, 1);
    assert.equal(trips.trips.get(T1).driverId, null, 'a driver who declined is not the trip driver');
    trips.apply('trip:driver_assigned', { tripId: T1, driverId: D1, driver: { id: D1, name: 'Dania Driver' }, currentStatus: 'accepted' });
    trips.apply('trip:arriving_started', { tripId: T1, driverId: D1, etaSec: 60 });
    // The watch ack, answered late with an older view of the trip, does not undo it.
    trips.merge({ id: T1, status: 'assigning', driverId: null, fareTotal: null });
    assert.equal(trips.trips.get(T1).status, 'arriving');
    assert.equal(trips.trips.get(T1).driverName, 'Dania Driver');
    trips.apply('trip:started', { tripId: T1, driverId: D1 });
    trips.apply('trip:completed', { tripId: T1, driverId: D1, fareTotal: 8.25, currency: 'CUP' });
    const t = trips.trips.get(T1);
    assert.equal(t.status, 'completed');
    assert.equal(t.fareTotal, 8.25);
    assert.deepEqual(trips.counts().completed, 1);
    assert.equal(trips.apply('driver:location:update', { tripId: T1 }), null);
    assert.equal(trips.apply('trip:started', {}), null);
  });

  it('keeps at most its limit, dropping finished trips first, newest listed first', () => {
    const trips = new Trips({ limit: 3 });
    const id = (n) => `trip-${n}`;
    trips.apply('trip:requested', { tripId: id(1), status: 'assigning' });
    trips.apply('trip:requested', { tripId: id(2), status: 'assigning' });
    trips.apply('trip:no_drivers_found', { tripId: id(2) });
    trips.apply('trip:requested', { tripId: id(3), status: 'assigning' });
    trips.apply('trip:requested', { tripId: id(4), status: 'assigning' });
    assert.deepEqual(trips.list().map((t) => t.id), [id(4), id(3), id(1)]);
    assert.deepEqual(trips.takeDropped(), [id(2)]);
    trips.apply('trip:requested', { tripId: id(5), status: 'assigning' });
    assert.deepEqual(trips.list().map((t) => t.id), [id(5), id(4), id(3)]);
    assert.deepEqual(trips.takeDropped(), [id(1)]);
    assert.deepEqual(trips.takeDropped(), []);
  });
});

describe('map framing and grid', () => {
  it('draws the grid at a round step, at most the lines asked for, on whole multiples', () => {
    const g = gridLines(HAVANA);
    assert.equal(g.step, 0.02);
    assert.equal(g.digits, 2);
    assert.deepEqual(g.lats, [23.06, 23.08, 23.1, 23.12, 23.14, 23.16]);
    assert.equal(g.lons[0], -82.44);
    assert.equal(g.lons.at(-1), -82.3);
    const wide = gridLines({ south: -60, west: -170, north: 70, east: 170 });
    assert.equal(wide.step, 20);
    assert.equal(wide.digits, 0);
    const city = gridLines({ south: 23.1, west: -82.4, north: 23.14, east: -82.36 }, 36);
    assert.equal(city.step, 0.005);
    assert.equal(city.digits, 3);
  });

  it('frames points with a margin, grows only outward, and has a minimum span', () => {
    const b = Bounds.around([{ lat: 23.1, lon: -82.4 }, { lat: 23.14, lon: -82.34 }]);
    assert.ok(b.south < 23.1 && b.north > 23.14 && b.west < -82.4 && b.east > -82.34);
    assert.equal(b.extend(23.12, -82.37), false, 'inside: unchanged');
    assert.equal(b.extend(23.2, -82.37), true);
    assert.ok(b.north > 23.2);
    const one = Bounds.around([{ lat: 23.1, lon: -82.4 }]);
    assert.ok(one.north - one.south >= MIN_SPAN_DEG - 1e-12 && one.east - one.west >= MIN_SPAN_DEG - 1e-12);
    assert.deepEqual({ ...Bounds.around([]) }, { ...HAVANA });
  });
});

describe('session', () => {
  function fakeFetch(answers) {
    const calls = [];
    const fetchImpl = async (url, init) => {
      calls.push({ url, init, body: init.body ? JSON.parse(init.body) : undefined });
      const { status, body } = answers.shift();
      return { ok: status < 300, status, statusText: String(status), text: async () => (body === undefined ? '' : JSON.stringify(body)) };
    };
    return { calls, fetchImpl };
  }
  const login = (access, expiresInMs = 15 * 60_000) => ({
    accessToken: access,
    refreshToken: `r-${access}`,
    sessionId: 's1',
    accessTokenExpiresAt: new Date(Date.now() + expiresInMs).toISOString(),
    user: { id: 'u1', userType: 'admin', name: 'Ada Admin' },
  });

  it('logs in as an admin web session, refreshes with rotation, logs out with the bearer', async () => {
    const { calls, fetchImpl } = fakeFetch([{ status: 200, body: login('a1') }, { status: 200, body: login('a2') }, { status: 204 }]);
    const session = await Session.login('admin@rodando.local', 'pw', { base: 'http://x', fetchImpl });
    assert.deepEqual(calls[0].body, { email: 'admin@rodando.local', password: 'pw', appAudience: 'admin_panel', sessionType: 'web' });
    assert.equal(calls[0].url, 'http://x/api/auth/login');
    assert.equal(session.user.name, 'Ada Admin');
    const delay = session.refreshDelay();
    assert.ok(delay > 13 * 60_000 && delay <= 14 * 60_000, String(delay));
    await session.refresh();
    assert.deepEqual(calls[1].body, { refreshToken: 'r-a1' });
    assert.equal(session.accessToken, 'a2');
    await session.logout();
    assert.equal(calls[2].init.headers.authorization, 'Bearer a2');
    assert.equal(calls[2].init.body, undefined);
  });

  it('turns refusals into codes and sentences', async () => {
    const { fetchImpl } = fakeFetch([{ status: 401, body: { error: { code: 'invalid_credentials', message: 'no' } } }]);
    await assert.rejects(Session.login('a@b.c', 'x', { fetchImpl }), (e) => e instanceof ApiError && e.code === 'invalid_credentials' && e.status === 401);
    const failing = async () => {
      throw new TypeError('fetch failed');
    };
    await assert.rejects(Session.login('a@b.c', 'x', { fetchImpl: failing }), (e) => e.code === 'network');
    assert.equal(explain({ code: 'invalid_credentials' }), 'Wrong e-mail or password.');
    assert.equal(explain({ code: 'audience_mismatch' }), 'This account is not an operator account.');
    assert.match(explain({ code: 'weird' }), /weird/);
    assert.equal(new Session(login('a', 30_000), { fetchImpl }).refreshDelay(), 5_000, 'never sooner than 5 s');
  });
});

describe('vendored Leaflet', () => {
  it('is byte for byte the dist files and licence of the pinned npm package', () => {
    const installed = new URL('../node_modules/leaflet/', import.meta.url);
    const pinned = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')).devDependencies.leaflet;
    const pkg = JSON.parse(readFileSync(new URL('package.json', installed), 'utf8'));
    assert.equal(pkg.version, pinned, 'node_modules holds the pinned leaflet (run npm ci)');
    for (const [fromPackage, vendoredAs] of [
      ['dist/leaflet.js', 'leaflet.js'],
      ['dist/leaflet.css', 'leaflet.css'],
      ['LICENSE', 'leaflet.LICENSE'],
    ]) {
      const fromNpm = readFileSync(new URL(fromPackage, installed));
      const vendored = readFileSync(new URL(`../../../crates/dashboard/static/vendor/${vendoredAs}`, import.meta.url));
      assert.ok(fromNpm.equals(vendored), `crates/dashboard/static/vendor/${vendoredAs} differs from leaflet@${pinned}/${fromPackage}`);
    }
  });
});

describe('vendored socket.io-client', () => {
  it('is byte for byte the browser bundle of the pinned npm package', () => {
    const installed = new URL('../node_modules/socket.io-client/', import.meta.url);
    const pkg = JSON.parse(readFileSync(new URL('package.json', installed), 'utf8'));
    assert.equal(pkg.version, '4.8.1');
    const fromNpm = readFileSync(new URL('dist/socket.io.min.js', installed));
    const vendored = readFileSync(new URL('../../../crates/dashboard/static/vendor/socket.io.min.js', import.meta.url));
    assert.ok(fromNpm.equals(vendored), 'crates/dashboard/static/vendor/socket.io.min.js differs from socket.io-client@4.8.1');
  });
});
