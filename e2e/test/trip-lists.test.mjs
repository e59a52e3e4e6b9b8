// Trip lists with the official socket.io-client and fetch (issue 15, item 4): GET /api/trips
// shows a passenger its own trips and an admin every trip, newest first, page by page with the
// opaque cursor, and names the bad parameter in a 400; admin:trips:snapshot answers the trips in
// flight only and, with {watch: true}, their later events reach the admin socket.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { emitWithAck, expectEvent } from '../lib/server.mjs';
import { expectOk, suiteServer } from '../lib/suite.mjs';

const PICKUP = { latitude: 23.1367, longitude: -82.3594 };
const DROPOFF = { latitude: 23.133, longitude: -82.383 };
const TRIP_FIELDS = [
  'acceptedAt',
  'arrivedPickupAt',
  'cancelledAt',
  'completedAt',
  'currency',
  'driverId',
  'dropoff',
  'fareEstimate',
  'fareTotal',
  'id',
  'passengerId',
  'paymentMethod',
  'pickup',
  'requestedAt',
  'startedAt',
  'status',
];

const bearer = (login) => ({ authorization: `Bearer ${login.accessToken}` });

describe('trip lists', () => {
  const server = suiteServer();

  /** A trip of `login` requested with no driver around: over at once (no_drivers_found). */
  async function finishedTrip(login) {
    const { status, body } = await server.post('/api/trips', { pickup: PICKUP, dropoff: DROPOFF }, bearer(login));
    assert.equal(status, 201, JSON.stringify(body));
    assert.equal(body.status, 'no_drivers_found');
    return body.id;
  }

  async function list(login, query = '') {
    const { status, body } = await server.get(`/api/trips${query}`, bearer(login));
    assert.equal(status, 200, `GET /api/trips${query}: ${JSON.stringify(body)}`);
    return body;
  }

  test('GET /api/trips: a passenger its own trips, an admin all, newest first, page by page', async () => {
    const p1 = await server.login('passenger1@rodando.local');
    const p2 = await server.login('passenger2@rodando.local');
    const admin = await server.login('admin@rodando.local');
    const mine = [];
    for (let i = 0; i < 3; i++) mine.unshift(await finishedTrip(p1));
    const theirs = await finishedTrip(p2);

    // The passenger pages through its own trips with the cursor.
    const first = await list(p1, '?limit=2');
    assert.deepEqual(Object.keys(first).sort(), ['items', 'nextCursor']);
    assert.deepEqual(first.items.map((t) => t.id), mine.slice(0, 2));
    assert.deepEqual(Object.keys(first.items[0]).filter((k) => k !== 'seq').sort(), TRIP_FIELDS, 'the REST trip shape');
    assert.match(first.nextCursor, /^[A-Za-z0-9_-]+$/, 'an opaque base64url cursor');
    const second = await list(p1, `?limit=2&cursor=${first.nextCursor}`);
    assert.deepEqual(second.items.map((t) => t.id), mine.slice(2));
    assert.equal(second.nextCursor, null, 'the last page');
    for (const t of [...first.items, ...second.items]) assert.equal(t.passengerId, p1.user.id);

    // Another passenger's trip never appears; an admin sees them all, newest request first.
    assert.ok(!(await list(p1, '?status=all&limit=100')).items.some((t) => t.id === theirs));
    assert.deepEqual((await list(p2)).items.map((t) => t.id), [theirs]);
    const all = await list(admin, '?status=finished');
    assert.deepEqual(all.items.map((t) => t.id).slice(0, 4), [theirs, ...mine]);
    const times = all.items.map((t) => Date.parse(t.requestedAt));
    assert.deepEqual(times, [...times].sort((a, b) => b - a));
    assert.deepEqual((await list(admin, '?status=active')).items, []);

    // Bad parameters: 400 validation_failed naming each.
    for (const [query, fields] of [
      ['?status=open', ['status']],
      ['?limit=101', ['limit']],
      ['?limit=0', ['limit']],
      ['?cursor=bm90LWEtY3Vyc29y', ['cursor']],
      ['?status=x&limit=y&cursor=z', ['status', 'limit', 'cursor']],
    ]) {
      const { status, body } = await server.get(`/api/trips${query}`, bearer(admin));
      assert.equal(status, 400, query);
      assert.equal(body.error.code, 'validation_failed', query);
      assert.deepEqual(body.error.details.fields.map((f) => f.field), fields, `${query}: ${JSON.stringify(body)}`);
    }
    assert.equal((await server.get('/api/trips')).status, 401);
  });

  test('admin:trips:snapshot answers the trips in flight and, watching, their later events', async () => {
    // A driver nearby: the passenger's trip is offered to it and stays in flight.
    const { socket: driver } = await server.connected('driver1@rodando.local', '/drivers');
    await expectOk(driver, 'driver:status:update', { availabilityStatus: 'AVAILABLE' });
    await expectOk(driver, 'driver:location:ping', { latitude: PICKUP.latitude + 0.003, longitude: PICKUP.longitude });
    const p1 = await server.login('passenger1@rodando.local');
    const { status, body: trip } = await server.post('/api/trips', { pickup: PICKUP, dropoff: DROPOFF }, bearer(p1));
    assert.equal(status, 201, JSON.stringify(trip));
    await expectEvent(driver, 'trip:assignment:offered');

    const { socket: admin, login: adminLogin } = await server.connected('admin@rodando.local', '/admin');
    const snapshot = await expectOk(admin, 'admin:trips:snapshot', { watch: true });
    assert.deepEqual(Object.keys(snapshot).sort(), ['trips', 'truncated']);
    assert.equal(snapshot.truncated, false);
    assert.deepEqual(snapshot.trips.map((t) => t.id), [trip.id], 'only the trip in flight');
    assert.equal(snapshot.trips[0].status, 'assigning');
    // The same trips as GET /api/trips?status=active reports.
    assert.deepEqual((await list(adminLogin, '?status=active')).items, snapshot.trips);

    // Watching: the cancel reaches the admin socket; then nothing is in flight.
    const cancelled = await server.post(`/api/trips/${trip.id}/cancel`, { reason: 'e2e over' }, bearer(p1));
    assert.equal(cancelled.status, 200, JSON.stringify(cancelled.body));
    assert.equal((await expectEvent(admin, 'trip:cancelled')).tripId, trip.id);
    assert.deepEqual((await expectOk(admin, 'admin:trips:snapshot', {})).trips, []);

    // A bad payload names the field.
    const refused = await emitWithAck(admin, 'admin:trips:snapshot', { watch: 'yes' });
    assert.equal(refused.ok, false);
    assert.equal(refused.error.code, 'validation_failed');
    assert.equal(refused.error.details.fields[0].field, 'watch');
  });
});
