#!/usr/bin/env node
// ws:test:trip:flow — one whole trip with every party in one process (PROTOCOL §8): a passenger
// requests; the nearest of two drivers gets the offer and rejects it; the second driver gets
// the next offer and accepts; it arrives, starts and completes the trip over REST. An admin
// watches the trip; another passenger and another driver are connected and must hear nothing of
// it. Every event is printed and asserted: its payload, who received it, who did not, and that
// each party heard exactly its sequence, once each.
//
//   npm run ws:test:trip:flow                       # against just run (SERVER_URL / --url)
//
// The drivers are placed north of a pickup in Trinidad (far from the other scripts' Havana
// positions), so "nearest" is deterministic even while ws:test:da:driver runs beside it.

import assert from 'node:assert/strict';

import {
  assertEventShape,
  assertOkAck,
  availabilitySnapshot,
  object,
  trip as tripShape,
  uuid,
  is,
} from '../lib/payloads.mjs';
import { awaitHello, emitWithAck, expectEvent, QUIET_MS } from '../lib/server.mjs';
import { traceSocket } from '../lib/trace.mjs';
import { isMain, parsePosition, runMain, wait, whoOf } from './cli.mjs';

export const FLOW_DEFAULTS = {
  passenger: 'passenger1@rodando.local',
  otherPassenger: 'passenger2@rodando.local',
  nearDriver: 'driver1@rodando.local',
  farDriver: 'driver2@rodando.local',
  otherDriver: 'driver3@rodando.local',
  admin: 'admin@rodando.local',
  pickup: { latitude: 21.8045, longitude: -79.9847, address: 'Plaza Mayor, Trinidad' },
  dropoff: { latitude: 21.7712, longitude: -79.9822, address: 'Casilda' },
};

/** Where the two drivers wait: this many degrees of latitude north of the pickup. */
const NEAR_DEG = 0.005; // ≈ 556 m
const FAR_DEG = 0.01; // ≈ 1112 m

/** What everyone the trip concerns hears from the accept on, in order (PROTOCOL §8). */
const FROM_ACCEPT = [
  'trip:assignment:accepted',
  'trip:driver_assigned',
  'trip:arriving_started',
  'trip:driver_arrived_pickup',
  'trip:started',
  'trip:completed',
];

/** What each party must hear of the trip, in order (PROTOCOL §8 and the rooms of §4). */
export const EXPECTED_SEQUENCES = {
  passenger: ['trip:requested', 'trip:assigning_started', 'trip:assignment:rejected', ...FROM_ACCEPT],
  // The declining driver: its offer and its own answer, nothing after.
  nearDriver: ['trip:assignment:offered', 'trip:assignment:rejected'],
  farDriver: ['trip:assignment:offered', ...FROM_ACCEPT],
  // Every admin hears of a new trip (room admin:trips); the rest after admin:trip:watch.
  admin: ['trip:requested', 'trip:assignment:rejected', ...FROM_ACCEPT],
  otherPassenger: [],
  otherDriver: [],
};

/** Great-circle distance in metres (the server's haversine, to check `distanceToPickupM`). */
export function haversineM(a, b) {
  const rad = (d) => (d * Math.PI) / 180;
  const dLat = rad(b.latitude - a.latitude);
  const dLon = rad(b.longitude - a.longitude);
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(rad(a.latitude)) * Math.cos(rad(b.latitude)) * Math.sin(dLon / 2) ** 2;
  return 2 * 6_371_000 * Math.asin(Math.sqrt(h));
}

/** Degrees to six decimals (about 0.1 m), as the server stores and echoes them. */
function round6(degrees) {
  return Math.round(degrees * 1e6) / 1e6;
}

/** Does this event concern trip `tripId`? */
function concerns(tripId, payload) {
  return payload?.tripId === tripId || payload?.id === tripId || payload?.currentTripId === tripId;
}

/**
 * Runs the whole flow. Resolves with `{tripId, parties: {role: {userId, received}}, completed}`.
 * Rejects at the first thing the protocol does not allow; a trip left unfinished by a failure is
 * cancelled by the admin before returning.
 *
 * @param {object} o
 * @param {boolean} [o.strict] a fresh server: bystanders must hear no trip event at all, and the
 *   parties no event of any other trip (by hand, other scripts may be running beside this one)
 */
export async function runTripFlow({ server, tracer, pickup = FLOW_DEFAULTS.pickup, dropoff = FLOW_DEFAULTS.dropoff, strict = false, signal }) {
  const emails = {
    passenger: FLOW_DEFAULTS.passenger,
    otherPassenger: FLOW_DEFAULTS.otherPassenger,
    nearDriver: FLOW_DEFAULTS.nearDriver,
    farDriver: FLOW_DEFAULTS.farDriver,
    otherDriver: FLOW_DEFAULTS.otherDriver,
    admin: FLOW_DEFAULTS.admin,
  };
  const namespaces = {
    passenger: '/passengers',
    otherPassenger: '/passengers',
    nearDriver: '/drivers',
    farDriver: '/drivers',
    otherDriver: '/drivers',
    admin: '/admin',
  };
  /** role → {who, login, socket, received: [{event, payload}]} */
  const p = {};
  let tripId = null;
  let finished = false;
  const stopped = () => {
    if (signal?.aborted) throw new Error('stopped before the end of the flow');
  };

  const call = async (role, event, payload) => {
    const { who, socket } = p[role];
    tracer.emit(who, event, payload);
    const reply = await emitWithAck(socket, event, payload);
    tracer.ack(who, event, reply);
    return reply;
  };
  /** The next `event` of `role` (received already or within WAIT_MS), checked against §8. */
  const hear = async (role, event) => {
    const payload = await expectEvent(p[role].socket, event).catch((e) => {
      throw new Error(`${p[role].who} (${role}): ${e.message}`);
    });
    assertEventShape(event, payload);
    if (tripId !== null && event.startsWith('trip:')) assert.equal(payload.tripId, tripId, `${role} ${event}.tripId`);
    return payload;
  };
  const rest = async (role, step) => {
    const { who, login } = p[role];
    const path = `/api/trips/${tripId}/${step}`;
    const { status, body } = await server.post(path, undefined, { authorization: `Bearer ${login.accessToken}` });
    tracer.rest(who, `POST ${path}`, status, body);
    assert.equal(status, 200, `${who} POST ${path} → ${status} ${JSON.stringify(body)}`);
    tripShape(body, `POST ${path}`);
    return body;
  };

  try {
    // ---- everyone connects -------------------------------------------------------------------
    for (const role of Object.keys(emails)) {
      const who = whoOf(emails[role]);
      const login = await server.login(emails[role]);
      tracer.rest(who, 'POST /api/auth/login', 200, { user: login.user, sessionId: login.sessionId });
      const socket = server.socket(namespaces[role], login.accessToken);
      traceSocket(socket, who, tracer);
      const received = [];
      socket.onAny((event, payload) => received.push({ event, payload }));
      p[role] = { who, login, socket, received, userId: login.user.id };
      const hello = await awaitHello(socket);
      assert.equal(hello.userId, login.user.id);
    }
    stopped();

    // ---- two drivers wait north of the pickup, the nearer one first in line -------------------
    const positions = {
      nearDriver: { latitude: round6(pickup.latitude + NEAR_DEG), longitude: pickup.longitude },
      farDriver: { latitude: round6(pickup.latitude + FAR_DEG), longitude: pickup.longitude },
    };
    for (const role of ['nearDriver', 'farDriver']) {
      const offline = await call(role, 'driver:status:update', { availabilityStatus: 'OFFLINE' });
      if (offline?.ok !== true) {
        throw new Error(`${p[role].who} cannot go OFFLINE (${JSON.stringify(offline?.error)}): it holds a dispatched trip; finish or cancel it first`);
      }
      assertOkAck(await call(role, 'driver:status:update', { availabilityStatus: 'AVAILABLE' }), `${role} AVAILABLE`, availabilitySnapshot);
      const pinged = assertOkAck(await call(role, 'driver:location:ping', positions[role]), `${role} ping`, availabilitySnapshot);
      assert.equal(pinged.isAvailableForTrips, true, `${role} is available for trips`);
    }
    stopped();

    // ---- the passenger requests; the nearest driver gets the offer ----------------------------
    const request = { pickup, dropoff, paymentMethod: 'cash' };
    const requested = await call('passenger', 'trip:request', request);
    const trip = assertOkAck(requested, 'trip:request', tripShape);
    tripId = trip.id;
    assert.equal(trip.passengerId, p.passenger.userId);
    assert.equal(trip.status, 'assigning', 'dispatch started at once');
    assert.equal(trip.driverId, null);
    assert.ok(trip.fareEstimate > 0, `fareEstimate ${trip.fareEstimate}`);

    const heardRequest = await hear('passenger', 'trip:requested');
    assert.deepEqual(
      { ...heardRequest, status: undefined },
      {
        tripId,
        passengerId: trip.passengerId,
        pickup: trip.pickup,
        dropoff: trip.dropoff,
        requestedAt: trip.requestedAt,
        fareEstimate: trip.fareEstimate,
        currency: trip.currency,
        status: undefined,
        seq: 1,
      },
      'trip:requested tells what the ack told (and is the first event of the trip, seq 1)',
    );
    assert.deepEqual(await hear('admin', 'trip:requested'), heardRequest, 'every admin hears of the new trip');
    await hear('passenger', 'trip:assigning_started');

    const firstOffer = await hear('nearDriver', 'trip:assignment:offered');
    const expectedNear = haversineM(positions.nearDriver, pickup);
    assert.ok(Math.abs(firstOffer.distanceToPickupM - expectedNear) < 5, `distanceToPickupM ${firstOffer.distanceToPickupM}, expected ≈ ${expectedNear}`);
    assert.deepEqual([firstOffer.pickup, firstOffer.dropoff], [trip.pickup, trip.dropoff]);
    assert.equal(firstOffer.fareEstimate, trip.fareEstimate);
    const ttlMs = Date.parse(firstOffer.expiresAt) - Date.now();
    assert.ok(ttlMs > 0 && ttlMs <= firstOffer.ttlSec * 1000 + 1000, `expiresAt ${firstOffer.expiresAt} is about ${firstOffer.ttlSec} s ahead`);
    stopped();

    // ---- the admin watches the trip ----------------------------------------------------------
    const watched = assertOkAck(await call('admin', 'admin:trip:watch', { tripId }), 'admin:trip:watch', object({ tripId: is(tripId), watching: is(true), trip: tripShape }));
    assert.equal(watched.trip.status, 'assigning');

    // ---- the nearest driver rejects; the next nearest gets the offer -------------------------
    const rejected = assertOkAck(
      await call('nearDriver', 'driver:offer:reject', { assignmentId: firstOffer.assignmentId, reason: 'too far' }),
      'driver:offer:reject',
      object({ assignmentId: is(firstOffer.assignmentId), tripId: is(tripId), status: is('rejected') }),
    );
    assert.ok(rejected);
    for (const role of ['passenger', 'admin']) {
      const heard = await hear(role, 'trip:assignment:rejected');
      assert.equal(heard.assignmentId, firstOffer.assignmentId, `${role}: the rejected offer`);
      assert.equal(heard.driverId, p.nearDriver.userId, `${role}: rejected by the nearest driver`);
      assert.equal(heard.reason, 'too far', `${role}: the driver's reason`);
    }
    const secondOffer = await hear('farDriver', 'trip:assignment:offered');
    assert.notEqual(secondOffer.assignmentId, firstOffer.assignmentId, 'a new offer');
    const expectedFar = haversineM(positions.farDriver, pickup);
    assert.ok(Math.abs(secondOffer.distanceToPickupM - expectedFar) < 5, `distanceToPickupM ${secondOffer.distanceToPickupM}, expected ≈ ${expectedFar}`);
    stopped();

    // ---- the second driver accepts: accepted, then at once arriving ----------------------------
    const accepted = assertOkAck(await call('farDriver', 'driver:offer:accept', { assignmentId: secondOffer.assignmentId }), 'driver:offer:accept', tripShape);
    assert.equal(accepted.status, 'arriving');
    assert.equal(accepted.driverId, p.farDriver.userId);
    for (const role of ['passenger', 'farDriver', 'admin']) {
      const acceptedEvent = await hear(role, 'trip:assignment:accepted');
      assert.deepEqual(
        { ...acceptedEvent, at: undefined },
        // seq: requested 1, assigning_started 2, rejected 3 (offers add none), accepted 4
        { assignmentId: secondOffer.assignmentId, tripId, driverId: p.farDriver.userId, reason: null, at: undefined, seq: 4 },
        `${role} trip:assignment:accepted`,
      );
      const assigned = await hear(role, 'trip:driver_assigned');
      assert.deepEqual(assigned.driver, { id: p.farDriver.userId, name: p.farDriver.login.user.name }, `${role}: who drives`);
      assert.equal(assigned.driverId, p.farDriver.userId);
      assert.equal(assigned.currentStatus, 'accepted');
      assert.equal(assigned.at, accepted.acceptedAt, `${role}: assigned at acceptedAt`);
      const arriving = await hear(role, 'trip:arriving_started');
      assert.equal(arriving.driverId, p.farDriver.userId);
      assert.ok(arriving.etaSec > 0, `etaSec ${arriving.etaSec}`);
      assert.deepEqual(arriving.driverPosition, { type: 'Point', coordinates: [positions.farDriver.longitude, positions.farDriver.latitude] });
    }
    for (const role of ['farDriver', 'admin']) {
      assert.deepEqual(
        await hearTripUpdate(role),
        { driverId: p.farDriver.userId, currentTripId: tripId, availabilityReason: 'ON_TRIP', isAvailableForTrips: false },
        `${role}: the driver is on the trip`,
      );
    }
    stopped();

    // ---- the driver's steps, over REST ------------------------------------------------------
    const arrived = await rest('farDriver', 'arrived');
    assert.equal(arrived.status, 'arriving');
    const started = await rest('farDriver', 'start');
    assert.equal(started.status, 'in_progress');
    const completed = await rest('farDriver', 'complete');
    finished = true;
    assert.equal(completed.status, 'completed');
    assert.equal(typeof completed.fareTotal, 'number');
    for (const role of ['passenger', 'farDriver', 'admin']) {
      const atPickup = await hear(role, 'trip:driver_arrived_pickup');
      assert.deepEqual(atPickup, { tripId, driverId: p.farDriver.userId, at: arrived.arrivedPickupAt, seq: 7 }, `${role} trip:driver_arrived_pickup`);
      const go = await hear(role, 'trip:started');
      assert.deepEqual(go, { tripId, driverId: p.farDriver.userId, at: started.startedAt, seq: 8 }, `${role} trip:started`);
      const done = await hear(role, 'trip:completed');
      assert.deepEqual(
        done,
        { tripId, driverId: p.farDriver.userId, at: completed.completedAt, fareTotal: completed.fareTotal, currency: completed.currency, seq: 9 },
        `${role} trip:completed`,
      );
    }
    for (const role of ['farDriver', 'admin']) {
      assert.deepEqual(
        await hearTripUpdate(role),
        { driverId: p.farDriver.userId, currentTripId: null, availabilityReason: null, isAvailableForTrips: true },
        `${role}: the driver is free again`,
      );
    }
    const { status, body: stored } = await server.get(`/api/trips/${tripId}`, { authorization: `Bearer ${p.passenger.login.accessToken}` });
    assert.equal(status, 200);
    assert.deepEqual(stored, completed, 'GET /api/trips/{id} shows the completed trip');

    // ---- who heard what: each party exactly its sequence, the bystanders nothing ---------------
    await wait(QUIET_MS, undefined);
    const heardOf = (role) => p[role].received.filter((e) => e.event.startsWith('trip:') && concerns(tripId, e.payload)).map((e) => e.event);
    for (const [role, expected] of Object.entries(EXPECTED_SEQUENCES)) {
      assert.deepEqual(heardOf(role), expected, `${p[role].who} (${role}) heard exactly its part of trip ${tripId}`);
    }
    for (const role of ['otherPassenger', 'otherDriver']) {
      const leaks = p[role].received.filter((e) => concerns(tripId, e.payload));
      assert.deepEqual(leaks, [], `${p[role].who} (${role}) heard nothing of trip ${tripId}`);
    }
    const afterAnswer = p.nearDriver.received.slice(p.nearDriver.received.findIndex((e) => e.event === 'trip:assignment:rejected') + 1);
    assert.deepEqual(
      afterAnswer.filter((e) => concerns(tripId, e.payload)),
      [],
      `${p.nearDriver.who} (nearDriver) heard nothing of trip ${tripId} after declining it`,
    );
    if (strict) {
      for (const role of Object.keys(p)) {
        const others = p[role].received.filter((e) => e.event.startsWith('trip:') && !concerns(tripId, e.payload));
        assert.deepEqual(others, [], `${p[role].who} (${role}) heard no other trip`);
      }
    }
    tracer.note('flow', `trip ${tripId} completed, fare ${completed.fareTotal} ${completed.currency}; every party heard exactly its events`);
    return {
      tripId,
      completed,
      parties: Object.fromEntries(Object.entries(p).map(([role, v]) => [role, { userId: v.userId, received: v.received }])),
    };
  } finally {
    if (tripId && !finished && p.admin) {
      const path = `/api/trips/${tripId}/cancel`;
      const { status, body } = await server
        .post(path, { reason: 'ws:test:trip:flow failed' }, { authorization: `Bearer ${p.admin.login.accessToken}` })
        .catch((e) => ({ status: 'failed', body: e.message }));
      tracer.rest(p.admin.who, `POST ${path} (clean-up)`, status, body);
    }
    for (const role of ['nearDriver', 'farDriver']) {
      if (p[role]?.socket.connected) {
        const reply = await emitWithAck(p[role].socket, 'driver:status:update', { availabilityStatus: 'OFFLINE' }).catch(() => null);
        tracer.ack(p[role].who, 'driver:status:update OFFLINE (clean-up)', reply);
      }
    }
    for (const party of Object.values(p)) party.socket.close();
  }

  /** The next `driver:trip:update` of `role` about the far driver. */
  async function hearTripUpdate(role) {
    for (;;) {
      const update = await hear(role, 'driver:trip:update');
      uuid(update.driverId, 'driver:trip:update.driverId');
      if (update.driverId === p.farDriver.userId) return update;
    }
  }
}

async function main() {
  await runMain({
    name: 'ws:test:trip:flow',
    summary: 'one passenger, two drivers and an admin: request → reject → accept → arrived → started → completed, every event asserted',
    options: {
      pickup: { type: 'string' },
      dropoff: { type: 'string' },
    },
    usage: `  --pickup LAT,LNG  (default ${FLOW_DEFAULTS.pickup.latitude},${FLOW_DEFAULTS.pickup.longitude}: no other script's drivers near it)
  --dropoff LAT,LNG (default ${FLOW_DEFAULTS.dropoff.latitude},${FLOW_DEFAULTS.dropoff.longitude})
  (the flow is bounded and always asserts; --duration and --assert change nothing)
`,
    scenario: async ({ args, server, tracer, signal }) => {
      await runTripFlow({
        server,
        tracer,
        pickup: args.pickup ? parsePosition(args.pickup, 'pickup') : FLOW_DEFAULTS.pickup,
        dropoff: args.dropoff ? parsePosition(args.dropoff, 'dropoff') : FLOW_DEFAULTS.dropoff,
        signal,
      });
    },
  });
}

if (isMain(import.meta.url)) await main();
