// Driver availability through real sockets (PROTOCOL §5, §6, §7): acks, who receives the
// broadcasts, validation, unknown events, the admin snapshot, and logout reaching live sockets.
// Garbage of every shape for every event, binary attachments and floods: hostile-*.test.mjs and
// floods.test.mjs.
// Every test gets a fresh server, so no driver state leaks from one test to the next.

import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, test } from 'node:test';

import {
  drainEvents,
  emitWithAck,
  expectDisconnect,
  expectEvent,
  expectNoEvent,
  QUIET_MS,
  recorded,
  startServer,
} from '../lib/server.mjs';
import { expectOk } from '../lib/suite.mjs';

const SNAPSHOT_FIELDS = [
  'availabilityReason',
  'availabilityStatus',
  'currentTripId',
  'currentVehicleId',
  'driverId',
  'isAvailableForTrips',
  'isOnline',
  'lastLocation',
  'lastLocationTimestamp',
  'lastOnlineTimestamp',
  'lastPresenceTimestamp',
  'updatedAt',
];
const RFC3339_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;

function assertSnapshotShape(snapshot) {
  assert.deepEqual(Object.keys(snapshot).sort(), SNAPSHOT_FIELDS, 'snapshot fields');
}

/**
 * A shared server (SERVER_URL) keeps driver state between tests: put every demo driver back to
 * OFFLINE with no trip, before anyone who could hear it connects.
 */
async function resetDrivers(server) {
  for (const email of ['driver1@rodando.local', 'driver2@rodando.local', 'driver3@rodando.local']) {
    const { socket, login } = await server.connected(email, '/drivers');
    await emitWithAck(socket, 'driver:trip:set', { tripId: null });
    const reply = await emitWithAck(socket, 'driver:status:update', { availabilityStatus: 'OFFLINE' });
    assert.equal(reply?.ok, true, `reset of ${email}: ${JSON.stringify(reply)}`);
    socket.close();
    await server.logout(login.accessToken);
  }
}

/** A server and a fleet: driver1 (the actor), and who must (admin) or must not hear it. */
async function fleet(env) {
  const server = await startServer(env ? { env } : undefined);
  if (server.external) await resetDrivers(server);
  const driver = await server.connected('driver1@rodando.local', '/drivers');
  const otherDriver = await server.connected('driver2@rodando.local', '/drivers');
  const passenger = await server.connected('passenger1@rodando.local', '/passengers');
  const admin = await server.connected('admin@rodando.local', '/admin');
  return {
    server,
    driver: driver.socket,
    driverLogin: driver.login,
    driverId: driver.login.user.id,
    otherDriver: otherDriver.socket,
    passenger: passenger.socket,
    admin: admin.socket,
  };
}

/** Nobody but the driver and the admins heard anything at all. */
async function bystandersHeardNothing(f) {
  for (const [who, socket] of [
    ['driver2', f.otherDriver],
    ['passenger1', f.passenger],
  ]) {
    await expectNoEvent(socket, 'driver:availability:update', QUIET_MS);
    assert.deepEqual(recorded(socket), [], `${who} received something`);
  }
}

describe('driver availability', () => {
  let f;
  beforeEach(async () => {
    f = await fleet();
  });
  afterEach(async () => {
    await f?.server.close();
    f = null;
  });

  test('going AVAILABLE is acked and broadcast once to the driver and the admins only', async () => {
    const data = await expectOk(f.driver, 'driver:status:update', { availabilityStatus: 'AVAILABLE' });
    assertSnapshotShape(data);
    assert.equal(data.driverId, f.driverId);
    assert.equal(data.availabilityStatus, 'AVAILABLE');
    assert.equal(data.isOnline, true);
    assert.equal(data.isAvailableForTrips, true);
    assert.equal(data.availabilityReason, null);
    assert.equal(data.currentTripId, null);
    assert.match(data.updatedAt, RFC3339_UTC);
    assert.match(data.lastOnlineTimestamp, RFC3339_UTC);

    assert.deepEqual(await expectEvent(f.admin, 'driver:availability:update'), data, 'admin gets the ack snapshot');
    assert.deepEqual(await expectEvent(f.driver, 'driver:availability:update'), data, 'driver gets the ack snapshot');
    // Exactly once each.
    await expectNoEvent(f.admin, 'driver:availability:update');
    await expectNoEvent(f.driver, 'driver:availability:update');
    await bystandersHeardNothing(f);
  });

  test('the same status twice is acked but not broadcast again', async () => {
    await expectOk(f.driver, 'driver:status:update', { availabilityStatus: 'BUSY' });
    await expectEvent(f.admin, 'driver:availability:update');
    const again = await expectOk(f.driver, 'driver:status:update', { availabilityStatus: 'BUSY' });
    assert.equal(again.availabilityStatus, 'BUSY');
    assert.equal(again.availabilityReason, 'UNAVAILABLE');
    await expectNoEvent(f.admin, 'driver:availability:update');
  });

  test('a location ping reaches the admins as GeoJSON [longitude, latitude]', async () => {
    const data = await expectOk(f.driver, 'driver:location:ping', { latitude: 23.1136, longitude: -82.3666 });
    const point = { type: 'Point', coordinates: [-82.3666, 23.1136] };
    assert.deepEqual(data.lastLocation, point);
    assert.match(data.lastLocationTimestamp, RFC3339_UTC);

    const update = await expectEvent(f.admin, 'driver:location:update');
    assert.deepEqual(Object.keys(update).sort(), ['driverId', 'lastLocation', 'lastLocationTimestamp']);
    assert.equal(update.driverId, f.driverId);
    assert.deepEqual(update.lastLocation, point);
    assert.equal(update.lastLocationTimestamp, data.lastLocationTimestamp);
    assert.deepEqual(await expectEvent(f.driver, 'driver:location:update'), update, 'the driver sees its own fix');
    // A ping does not change online/available, so no availability broadcast.
    await expectNoEvent(f.admin, 'driver:availability:update');
    await bystandersHeardNothing(f);
  });

  test('setting and clearing a trip is broadcast as driver:trip:update', async () => {
    await expectOk(f.driver, 'driver:status:update', { availabilityStatus: 'AVAILABLE' });
    await expectEvent(f.admin, 'driver:availability:update');
    drainEvents(f.driver);

    const tripId = '6f9619ff-8b86-4011-b42d-00c04fc964ff';
    const set = await expectOk(f.driver, 'driver:trip:set', { tripId });
    assert.equal(set.currentTripId, tripId);
    assert.equal(set.availabilityStatus, 'BUSY');
    assert.equal(set.availabilityReason, 'ON_TRIP');
    assert.equal(set.isAvailableForTrips, false);
    const update = await expectEvent(f.admin, 'driver:trip:update');
    assert.deepEqual(update, {
      driverId: f.driverId,
      currentTripId: tripId,
      availabilityReason: 'ON_TRIP',
      isAvailableForTrips: false,
    });
    assert.deepEqual(await expectEvent(f.driver, 'driver:trip:update'), update);

    // AVAILABLE while on a trip is a conflict.
    const refused = await emitWithAck(f.driver, 'driver:status:update', { availabilityStatus: 'AVAILABLE' });
    assert.equal(refused.ok, false);
    assert.equal(refused.error.code, 'conflict');
    assert.equal(refused.error.details?.reason, 'on_trip');
    const conflict = await expectEvent(f.driver, 'exception');
    assert.equal(conflict.code, 'conflict');

    const cleared = await expectOk(f.driver, 'driver:trip:set', { tripId: null });
    assert.equal(cleared.currentTripId, null);
    assert.equal(cleared.availabilityStatus, 'AVAILABLE', 'back to AVAILABLE as it is online');
    const clearedUpdate = await expectEvent(f.admin, 'driver:trip:update');
    assert.deepEqual(clearedUpdate, {
      driverId: f.driverId,
      currentTripId: null,
      availabilityReason: null,
      isAvailableForTrips: true,
    });
    assert.deepEqual(await expectEvent(f.driver, 'driver:trip:update'), clearedUpdate);
    await bystandersHeardNothing(f);
  });

  test('invalid payloads get a validation_failed ack and an exception, and the socket still works', async () => {
    const cases = [
      ['driver:location:ping', { latitude: 91, longitude: 0.5 }],
      ['driver:location:ping', { latitude: -90.0001, longitude: 0.5 }],
      ['driver:location:ping', { latitude: 10, longitude: -180.01 }],
      ['driver:location:ping', { latitude: 10, longitude: Number.MAX_VALUE }],
      ['driver:location:ping', { latitude: '23.1', longitude: '-82.3' }],
      ['driver:location:ping', { latitude: 'NaN', longitude: 'Infinity' }],
      ['driver:location:ping', { latitude: NaN, longitude: 1 }], // JSON.stringify → null
      ['driver:location:ping', { latitude: true, longitude: false }],
      ['driver:location:ping', { latitude: 0, longitude: 0 }],
      ['driver:location:ping', { longitude: -82.3 }],
      ['driver:location:ping', {}],
      ['driver:location:ping', null],
      ['driver:location:ping', [23.1, -82.3]],
      ['driver:location:ping', 'here'],
      ['driver:location:ping', 42],
      ['driver:location:ping', { latitude: { deg: 23 }, longitude: [1] }],
      ['driver:status:update', { availabilityStatus: 'SLEEPING' }],
      ['driver:status:update', { availabilityStatus: 'available' }],
      ['driver:status:update', { availabilityStatus: 1 }],
      ['driver:status:update', {}],
      ['driver:status:update', null],
      ['driver:status:update', ['AVAILABLE']],
      ['driver:trip:set', { tripId: 'trip-42' }],
      ['driver:trip:set', { tripId: 42 }],
      ['driver:trip:set', {}],
      ['driver:trip:set', null],
      ['driver:trip:set', []],
    ];
    for (const [event, payload] of cases) {
      const what = `${event} ${JSON.stringify(payload)}`;
      const reply = await emitWithAck(f.driver, event, payload);
      assert.equal(reply?.ok, false, `${what} → ${JSON.stringify(reply)}`);
      assert.equal(reply.error?.code, 'validation_failed', `${what} → ${JSON.stringify(reply)}`);
      assert.equal(typeof reply.error.message, 'string', what);
      const exception = await expectEvent(f.driver, 'exception');
      assert.equal(exception.status, 'error', what);
      assert.equal(exception.event, event, what);
      assert.equal(exception.code, 'validation_failed', what);
      assert.equal(typeof exception.message, 'string', what);
      assert.equal(f.driver.connected, true, `still connected after ${what}`);
    }
    // The socket is still served and nothing was broadcast by the invalid events.
    assert.deepEqual(recorded(f.driver), []);
    await expectNoEvent(f.admin, 'driver:availability:update', 0);
    await expectNoEvent(f.admin, 'driver:location:update', 0);
    const data = await expectOk(f.driver, 'driver:location:ping', { latitude: 23.1, longitude: -82.3 });
    assert.deepEqual(data.lastLocation.coordinates, [-82.3, 23.1]);
    assert.equal((await expectOk(f.driver, 'driver:status:update', { availabilityStatus: 'AVAILABLE' })).isOnline, true);
    await bystandersHeardNothing(f);
  });

  test('unknown events get an unknown_event exception', async () => {
    for (const [socket, event] of [
      [f.driver, 'driver:teleport'],
      [f.passenger, 'driver:status:update'],
      [f.admin, 'driver:location:ping'],
    ]) {
      const reply = await emitWithAck(socket, event, {});
      assert.equal(reply?.ok, false, `${event}: ${JSON.stringify(reply)}`);
      assert.equal(reply.error?.code, 'unknown_event', `${event}: ${JSON.stringify(reply)}`);
      const exception = await expectEvent(socket, 'exception');
      assert.equal(exception.status, 'error');
      assert.equal(exception.code, 'unknown_event');
      assert.equal(exception.event, event);
      assert.equal(socket.connected, true);
    }
    // Without an ack the exception event still tells the client.
    f.driver.emit('driver:moonwalk', { x: 1 });
    const exception = await expectEvent(f.driver, 'exception');
    assert.equal(exception.code, 'unknown_event');
    assert.equal(exception.event, 'driver:moonwalk');
  });

  test('admin:drivers:snapshot lists the online driver', async () => {
    const empty = await expectOk(f.admin, 'admin:drivers:snapshot', {});
    assert.deepEqual(empty.drivers, [], 'nobody is online yet');
    const data = await expectOk(f.driver, 'driver:status:update', { availabilityStatus: 'AVAILABLE' });
    await expectOk(f.otherDriver, 'driver:status:update', { availabilityStatus: 'OFFLINE' });
    const snapshot = await expectOk(f.admin, 'admin:drivers:snapshot', {});
    assert.equal(snapshot.drivers.length, 1, JSON.stringify(snapshot));
    assertSnapshotShape(snapshot.drivers[0]);
    assert.equal(snapshot.drivers[0].driverId, f.driverId);
    assert.deepEqual(snapshot.drivers[0], data);
  });

  test('logout sends auth:session_revoked to the session sockets and disconnects them', async () => {
    // A second socket of the same session, and another session of the same driver.
    const tablet = await f.server.connect('/drivers', f.driverLogin.accessToken);
    const otherSession = (await f.server.connected('driver1@rodando.local', '/drivers')).socket;

    assert.equal(await f.server.logout(f.driverLogin.accessToken), 204);
    for (const socket of [f.driver, tablet]) {
      const revoked = await expectEvent(socket, 'auth:session_revoked');
      assert.deepEqual(revoked, { sessionId: f.driverLogin.sessionId, reason: 'logout' });
      assert.equal(await expectDisconnect(socket), 'io server disconnect');
      assert.equal(socket.connected, false);
    }
    await expectNoEvent(otherSession, 'auth:session_revoked');
    assert.equal(otherSession.connected, true);
    await expectOk(otherSession, 'driver:status:update', { availabilityStatus: 'BUSY' });
  });
});
