// Live tracking with the official socket.io-client (issue 15, item 3): while a trip is
// `arriving`, the driver's pings reach the passenger as `trip:driver_en_route` with the distance
// to the pickup and an ETA, at most one per second; another passenger hears none; after
// `trip:started` the phase is `to_dropoff`; nothing comes after `trip:completed`.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { drainEvents, expectEvent, expectNoEvent } from '../lib/server.mjs';
import { expectOk, suiteServer } from '../lib/suite.mjs';

const PICKUP = { latitude: 23.1367, longitude: -82.3594 };
const DROPOFF = { latitude: 23.133, longitude: -82.383 };
const EN_ROUTE = 'trip:driver_en_route';
const EN_ROUTE_FIELDS = ['at', 'distanceM', 'driverId', 'driverPosition', 'etaSec', 'phase', 'tripId'];
const sleep = (ms) => new Promise((ok) => setTimeout(ok, ms));

/** Great-circle metres (mean Earth radius, as the server's haversine). */
function haversineM(a, b) {
  const rad = Math.PI / 180;
  const dLat = (b.latitude - a.latitude) * rad;
  const dLon = (b.longitude - a.longitude) * rad;
  const h =
    Math.sin(dLat / 2) ** 2 + Math.cos(a.latitude * rad) * Math.cos(b.latitude * rad) * Math.sin(dLon / 2) ** 2;
  return 2 * 6_371_008.8 * Math.asin(Math.min(1, Math.sqrt(h)));
}

/** `trip:driver_en_route` payloads received and not consumed yet, in order. */
function enRoutes(socket) {
  return drainEvents(socket)
    .filter((e) => e.event === EN_ROUTE)
    .map((e) => e.args[0]);
}

describe('trip:driver_en_route', () => {
  const server = suiteServer();

  test('the passenger sees its driver come closer with distanceM and etaSec, then ride to the dropoff', async () => {
    const { socket: driver, login: driverLogin } = await server.connected('driver1@rodando.local', '/drivers');
    const { socket: passenger } = await server.connected('passenger1@rodando.local', '/passengers');
    const { socket: otherPassenger } = await server.connected('passenger2@rodando.local', '/passengers');
    await expectOk(driver, 'driver:status:update', { availabilityStatus: 'AVAILABLE' });
    const start = { latitude: PICKUP.latitude + 0.005, longitude: PICKUP.longitude };
    await expectOk(driver, 'driver:location:ping', start);

    const trip = await expectOk(passenger, 'trip:request', {
      pickup: { ...PICKUP, address: 'Parque Central' },
      dropoff: DROPOFF,
      paymentMethod: 'cash',
    });
    const offer = await expectEvent(driver, 'trip:assignment:offered');
    assert.equal(offer.tripId, trip.id);
    const accepted = await expectOk(driver, 'driver:offer:accept', { assignmentId: offer.assignmentId });
    assert.equal(accepted.status, 'arriving');
    await expectEvent(passenger, 'trip:arriving_started');
    drainEvents(passenger);

    // 10 pings at 5 per second, closing in on the pickup.
    let last = start;
    const began = Date.now();
    for (let i = 1; i <= 10; i += 1) {
      last = { latitude: start.latitude - i * 0.0003, longitude: start.longitude, heading: 180, speedKph: 30 };
      await expectOk(driver, 'driver:location:ping', last);
      await sleep(200);
    }
    const took = Date.now() - began;
    await sleep(1_600);

    const heard = enRoutes(passenger);
    assert.ok(heard.length >= 1, 'at least one position');
    assert.ok(heard.length <= Math.floor(took / 1000) + 2, `${heard.length} positions in ${took} ms: at most one a second`);
    for (const e of heard) {
      assert.deepEqual(Object.keys(e).sort(), EN_ROUTE_FIELDS);
      assert.equal(e.tripId, trip.id);
      assert.equal(e.driverId, driverLogin.user.id);
      assert.equal(e.phase, 'to_pickup');
      assert.ok(Number.isFinite(e.distanceM) && e.distanceM >= 0, `distanceM ${e.distanceM}`);
      assert.ok(Number.isInteger(e.etaSec) && e.etaSec >= 0, `etaSec ${e.etaSec}`);
    }
    const latest = heard.at(-1);
    assert.deepEqual(latest.driverPosition, last, 'the latest ping is the last one heard');
    assert.ok(Math.abs(latest.distanceM - haversineM(last, PICKUP)) <= 1, `distanceM ${latest.distanceM}`);
    assert.ok(Math.abs(latest.etaSec - latest.distanceM / (28 / 3.6)) <= 1, `etaSec ${latest.etaSec} at 28 km/h`);
    assert.ok(heard.at(0).distanceM > latest.distanceM, 'the driver comes closer');
    await expectNoEvent(otherPassenger, EN_ROUTE);
    await expectNoEvent(driver, EN_ROUTE);

    // Started: the position is now measured to the dropoff.
    const auth = { authorization: `Bearer ${driverLogin.accessToken}` };
    assert.equal((await server.post(`/api/trips/${trip.id}/start`, undefined, auth)).status, 200);
    await expectEvent(passenger, 'trip:started');
    await expectOk(driver, 'driver:location:ping', PICKUP);
    const riding = await expectEvent(passenger, EN_ROUTE);
    assert.equal(riding.phase, 'to_dropoff');
    assert.ok(Math.abs(riding.distanceM - haversineM(PICKUP, DROPOFF)) <= 1, `distanceM ${riding.distanceM}`);

    // Completed: later pings reach nobody.
    const done = await server.post(`/api/trips/${trip.id}/complete`, undefined, auth);
    assert.equal(done.status, 200, JSON.stringify(done.body));
    await expectEvent(passenger, 'trip:completed');
    drainEvents(passenger);
    await expectOk(driver, 'driver:location:ping', DROPOFF);
    await expectNoEvent(passenger, EN_ROUTE, 1_600);
  });
});
