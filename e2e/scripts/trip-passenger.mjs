#!/usr/bin/env node
// ws:test:trip:passenger — a passenger's trip (PROTOCOL §7, §8), printed line by line: log in,
// connect to /passengers, request a trip, print every trip:* event until the trip ends
// (completed, cancelled, no drivers found). Stopped earlier (Ctrl-C, --duration), it cancels
// the trip so the passenger can request again.
//
//   npm run ws:test:trip:passenger                  # nobody available: no_drivers_found at once
//   npm run ws:test:da:driver & npm run ws:test:trip:passenger   # an offer to driver3, then its expiry
//   npm run ws:test:trip:passenger -- --pickup 23.1367,-82.3594 --duration 60

import assert from 'node:assert/strict';

import { assertEventShape, assertOkAck, TERMINAL_TRIP_EVENTS, trip as tripShape } from '../lib/payloads.mjs';
import { awaitHello, DEMO_PASSWORD, drainEvents, emitWithAck } from '../lib/server.mjs';
import { traceSocket } from '../lib/trace.mjs';
import { durationMs, isMain, parsePosition, runMain, wait, whoOf } from './cli.mjs';

/** Defaults of a run by hand: Parque Central to the Plaza de la Revolución, Havana. */
export const PASSENGER_DEFAULTS = {
  email: 'passenger2@rodando.local',
  pickup: { latitude: 23.1367, longitude: -82.3594, address: 'Parque Central' },
  dropoff: { latitude: 23.123, longitude: -82.3868, address: 'Plaza de la Revolución' },
};

/** Trip events a passenger may receive (PROTOCOL §8); offers go to drivers only. */
const PASSENGER_TRIP_EVENTS = new Set([
  'trip:requested',
  'trip:assigning_started',
  'trip:assignment:accepted',
  'trip:assignment:rejected',
  'trip:assignment:expired',
  'trip:no_drivers_found',
  'trip:driver_assigned',
  'trip:arriving_started',
  'trip:driver_en_route',
  'trip:driver_arrived_pickup',
  'trip:started',
  'trip:completed',
  'trip:cancelled',
]);

/**
 * Requests a trip and follows it. Resolves with `{passengerId, trip, events: [{event, payload}],
 * cancelled}`: `trip` is the ack's trip, `events` every trip:* event of it in arrival order, and
 * `cancelled` the ack of the cancel sent on stop (null when the trip ended by itself). Rejects on
 * anything the protocol does not allow (a refused request, a bad payload, an offer to a
 * passenger, an event after the end).
 *
 * @param {object} o
 * @param {(trip: object) => void} [o.onRequested] called with the acked trip (tests then move it)
 * @param {number} [o.durationMs] give up (and cancel) after this long; undefined: wait for the end
 * @param {AbortSignal} [o.signal] stop now (and cancel)
 */
export async function runPassenger({
  server,
  tracer,
  email = PASSENGER_DEFAULTS.email,
  password = DEMO_PASSWORD,
  pickup = PASSENGER_DEFAULTS.pickup,
  dropoff = PASSENGER_DEFAULTS.dropoff,
  paymentMethod = 'cash',
  durationMs: runFor,
  signal,
  onRequested,
}) {
  const who = whoOf(email);
  const login = await server.login(email, { password });
  tracer.rest(who, 'POST /api/auth/login', 200, { user: login.user, sessionId: login.sessionId });
  const passengerId = login.user.id;
  const socket = server.socket('/passengers', login.accessToken);
  traceSocket(socket, who, tracer);

  const events = [];
  let tripId = null;
  let ended = null;
  let wake = () => {};
  let firstBad = null;
  const bad = (message) => {
    firstBad ??= new Error(message);
    tracer.note(who, `PROTOCOL MISMATCH: ${message}`);
  };
  const early = []; // trip events that beat the ack (the ack names the trip)
  const take = ({ event, payload }) => {
    if (payload?.tripId !== tripId) return; // another trip of this passenger (another device)
    if (ended) bad(`${event} after ${ended}`);
    if (!PASSENGER_TRIP_EVENTS.has(event)) bad(`a passenger received ${event}`);
    try {
      if (event !== 'trip:driver_en_route') assertEventShape(event, payload);
    } catch (e) {
      bad(e.message);
    }
    events.push({ event, payload });
    if (TERMINAL_TRIP_EVENTS.has(event)) {
      ended = event;
      wake();
    }
  };
  socket.onAny((event, payload) => {
    drainEvents(socket); // printed, and trip events kept in `events`: the recorder keeps nothing
    if (!event.startsWith('trip:')) return;
    if (tripId === null) early.push({ event, payload });
    else take({ event, payload });
  });

  let cancelled = null;
  try {
    const hello = await awaitHello(socket);
    assert.equal(hello.userId, passengerId, 'hello.userId');
    const request = { pickup, dropoff, paymentMethod };
    tracer.emit(who, 'trip:request', request);
    const reply = await emitWithAck(socket, 'trip:request', request);
    tracer.ack(who, 'trip:request', reply);
    if (reply?.ok === false && reply.error?.code === 'active_trip_exists') {
      throw new Error(`${who} already has an active trip: cancel it (POST /api/trips/{id}/cancel) or wait for it to end`);
    }
    const trip = assertOkAck(reply, `${who} trip:request`, tripShape);
    assert.equal(trip.passengerId, passengerId, 'trip.passengerId');
    assert.deepEqual(
      [trip.pickup.latitude, trip.pickup.longitude, trip.dropoff.latitude, trip.dropoff.longitude],
      [pickup.latitude, pickup.longitude, dropoff.latitude, dropoff.longitude],
      'the trip goes where it was asked to',
    );
    tripId = trip.id;
    for (const e of early.splice(0)) take(e);
    onRequested?.(trip);

    // Until the trip ends, the time is up, or the caller stops us.
    const over = new Promise((ok) => {
      wake = ok;
    });
    if (ended) wake();
    const stopWaiting = new AbortController();
    const stop = signal ? AbortSignal.any([signal, stopWaiting.signal]) : stopWaiting.signal;
    await Promise.race([over, wait(runFor, stop)]);
    stopWaiting.abort();
    if (!ended) {
      const payload = { tripId, reason: 'ws:test:trip:passenger stopped' };
      tracer.emit(who, 'trip:cancel', payload);
      cancelled = await emitWithAck(socket, 'trip:cancel', payload);
      tracer.ack(who, 'trip:cancel', cancelled);
      assertOkAck(cancelled, `${who} trip:cancel`, tripShape);
      assert.equal(cancelled.data.status, 'cancelled');
      const deadline = Date.now() + 3000;
      while (!ended && Date.now() < deadline) await wait(20);
      if (ended !== 'trip:cancelled') bad(`no trip:cancelled after the cancel (ended: ${ended})`);
    }
    if (events[0]?.event !== 'trip:requested') bad(`the first event was ${events[0]?.event}, not trip:requested`);
    if (firstBad) throw firstBad;
    tracer.note(who, `trip ${tripId}: ${events.map((e) => e.event).join(' → ')}`);
    return { passengerId, trip, events, cancelled };
  } finally {
    socket.close();
    tracer.note(who, 'socket closed');
  }
}

async function main() {
  await runMain({
    name: 'ws:test:trip:passenger',
    summary: 'a passenger requests a trip and prints every trip:* event until it ends',
    user: { role: 'demo passenger', email: PASSENGER_DEFAULTS.email },
    options: {
      pickup: { type: 'string' },
      dropoff: { type: 'string' },
      payment: { type: 'string', default: 'cash' },
    },
    usage: `  --pickup LAT,LNG  (default ${PASSENGER_DEFAULTS.pickup.latitude},${PASSENGER_DEFAULTS.pickup.longitude})
  --dropoff LAT,LNG (default ${PASSENGER_DEFAULTS.dropoff.latitude},${PASSENGER_DEFAULTS.dropoff.longitude})
  --payment cash|card
`,
    scenario: async ({ args, server, tracer, signal }) => {
      await runPassenger({
        server,
        tracer,
        email: args.email,
        password: args.password,
        pickup: args.pickup ? parsePosition(args.pickup, 'pickup') : PASSENGER_DEFAULTS.pickup,
        dropoff: args.dropoff ? parsePosition(args.dropoff, 'dropoff') : PASSENGER_DEFAULTS.dropoff,
        paymentMethod: args.payment,
        // --assert alone: at most a minute (an unanswered offer takes 20 s per driver).
        durationMs: durationMs(args.duration) ?? (args.assert ? 60_000 : undefined),
        signal,
      });
    },
  });
}

if (isMain(import.meta.url)) await main();
