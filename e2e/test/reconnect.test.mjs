// State on (re)connect and gap detection with the official socket.io-client (issue 15, items
// 1 and 2): a driver whose connection drops while it holds an offer finds the offer in
// `hello.state` (less time left) and accepts it; a passenger that missed events notices the gap
// in `seq` and `trip:sync` answers the current trip.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';

import { drainEvents, emitWithAck, expectEvent } from '../lib/server.mjs';
import { expectOk, suiteServer } from '../lib/suite.mjs';

const LONG_MS = 10_000;
const PICKUP = { latitude: 23.1367, longitude: -82.3594 };
const TRIP = {
  pickup: { ...PICKUP, address: 'Parque Central' },
  dropoff: { latitude: 23.133, longitude: -82.383 },
  paymentMethod: 'cash',
};

/** `expectOk` with the longer wait of this file (LONG_MS). */
const ok = (socket, event, payload) => expectOk(socket, event, payload, LONG_MS);

describe('reconnect: hello.state, seq and trip:sync', () => {
  const server = suiteServer();

  test('a driver that reconnects finds its open offer in hello.state with less time, and accepts it', async () => {
    const { socket: driver, login: driverLogin } = await server.connected('driver1@rodando.local', '/drivers');
    const { socket: passenger } = await server.connected('passenger1@rodando.local', '/passengers');
    await ok(driver, 'driver:status:update', { availabilityStatus: 'AVAILABLE' });
    await ok(driver, 'driver:location:ping', { latitude: PICKUP.latitude + 0.005, longitude: PICKUP.longitude });

    const trip = await ok(passenger, 'trip:request', TRIP);
    const offered = await expectEvent(driver, 'trip:assignment:offered', LONG_MS);
    assert.equal(offered.tripId, trip.id);
    assert.equal(offered.ttlSec, 20);
    assert.equal(typeof offered.seq, 'number');

    // The connection drops; the app reconnects a second later with the same session.
    driver.close();
    await sleep(1_100);
    const again = await server.connect('/drivers', driverLogin.accessToken, { helloTimeoutMs: LONG_MS });
    const { state } = again.hello;
    assert.equal(state.availability.driverId, driverLogin.user.id);
    assert.equal(state.activeTrip, null);
    assert.equal(state.offers.length, 1, JSON.stringify(state));
    const [offer] = state.offers;
    assert.ok(offer.ttlSec < offered.ttlSec && offer.ttlSec > 0, `ttlSec ${offered.ttlSec} then ${offer.ttlSec}`);
    assert.deepEqual({ ...offer, ttlSec: offered.ttlSec }, offered, 'the very offer, as it was sent');

    const accepted = await ok(again, 'driver:offer:accept', { assignmentId: offer.assignmentId });
    assert.equal(accepted.status, 'arriving');
    const assigned = await expectEvent(passenger, 'trip:driver_assigned', LONG_MS);
    assert.equal(assigned.driverId, driverLogin.user.id);
    assert.equal(assigned.seq, offered.seq + 2, 'accepted, then driver_assigned');

    await ok(passenger, 'trip:cancel', { tripId: trip.id });
  });

  test('a passenger that missed events sees the gap in seq and trip:sync gives the current trip', async () => {
    const { socket: driver, login: driverLogin } = await server.connected('driver2@rodando.local', '/drivers');
    const { socket: phone, login: passengerLogin } = await server.connected('passenger2@rodando.local', '/passengers');
    await ok(driver, 'driver:status:update', { availabilityStatus: 'AVAILABLE' });
    await ok(driver, 'driver:location:ping', { latitude: PICKUP.latitude + 0.004, longitude: PICKUP.longitude });

    const trip = await ok(phone, 'trip:request', TRIP);
    const offered = await expectEvent(driver, 'trip:assignment:offered', LONG_MS);
    await ok(driver, 'driver:offer:accept', { assignmentId: offered.assignmentId });
    const arriving = await expectEvent(phone, 'trip:arriving_started', LONG_MS);

    // The client loop of docs/protocol.md: per trip, the highest seq applied.
    const held = new Map();
    for (const { event, args } of drainEvents(phone)) {
      if (event.startsWith('trip:') && args[0]?.seq !== undefined) held.set(args[0].tripId, args[0].seq);
    }
    held.set(trip.id, Math.max(held.get(trip.id) ?? 0, arriving.seq));

    // The phone is away while the driver arrives and starts the ride.
    phone.close();
    const auth = { authorization: `Bearer ${driverLogin.accessToken}` };
    for (const step of ['arrived', 'start']) {
      const { status, body } = await server.post(`/api/trips/${trip.id}/${step}`, undefined, auth);
      assert.equal(status, 200, `${step}: ${JSON.stringify(body)}`);
    }
    const back = await server.connect('/passengers', passengerLogin.accessToken, { helloTimeoutMs: LONG_MS });
    const { status, body } = await server.post(`/api/trips/${trip.id}/complete`, undefined, auth);
    assert.equal(status, 200, JSON.stringify(body));

    const completed = await expectEvent(back, 'trip:completed', LONG_MS);
    const last = held.get(trip.id);
    assert.ok(completed.seq > last + 1, `a gap: held ${last}, got ${completed.seq}`);
    assert.equal(completed.seq, last + 3, 'driver_arrived_pickup and started were missed');

    const synced = await ok(back, 'trip:sync', { tripId: trip.id });
    assert.equal(synced.seq, completed.seq);
    assert.equal(synced.trip.id, trip.id);
    assert.equal(synced.trip.status, 'completed');
    assert.ok(synced.trip.arrivedPickupAt && synced.trip.startedAt, JSON.stringify(synced.trip));

    // Nobody else may sync it.
    const { socket: stranger } = await server.connected('passenger1@rodando.local', '/passengers');
    const refused = await emitWithAck(stranger, 'trip:sync', { tripId: trip.id }, LONG_MS);
    assert.equal(refused.ok, false);
    assert.equal(refused.error.code, 'not_found', JSON.stringify(refused));
  });
});
