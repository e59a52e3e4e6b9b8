#!/usr/bin/env node
// ws:test:da:driver — a demo driver's availability session (PROTOCOL §6), printed line by line:
// log in, connect to /drivers, get hello, go AVAILABLE, send location pings, set and clear a
// trip, keep pinging until stopped, go OFFLINE. Every ack is checked against the contract and
// against the broadcast the driver's own room receives for it.
//
//   npm run ws:test:da:driver                         # driver3, pings every 2 s until Ctrl-C
//   npm run ws:test:da:driver -- --duration 20 --email driver2@rodando.local
//   npm run ws:test:da:driver -- --assert             # the fixed scenario once, exit 1 on a mismatch

import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';

import { assertOkAck, availabilitySnapshot, assertEventShape } from '../lib/payloads.mjs';
import { awaitHello, DEMO_PASSWORD, drainEvents, emitWithAck, expectEvent, WAIT_MS } from '../lib/server.mjs';
import { traceSocket } from '../lib/trace.mjs';
import { durationMs, isMain, parsePosition, runMain, UsageError, wait, whoOf } from './cli.mjs';

/** Defaults of a run by hand: a driver the trip-flow script does not use, in central Havana. */
export const DRIVER_DEFAULTS = {
  email: 'driver3@rodando.local',
  start: { latitude: 23.1136, longitude: -82.3666 },
  pings: 3,
  intervalMs: 2000,
};

/** Each ping moves the driver this many degrees of latitude north (about 55 m). */
const STEP_DEG = 0.0005;

/**
 * Runs the driver scenario. Resolves with what happened: `{driverId, sessionId, tripId,
 * acks: [{event, payload, data}], received: [{event, payload}]}` (`received`: what the driver's
 * socket heard, bounded to the last 1000 events). Rejects on any reply or broadcast the protocol
 * does not allow.
 *
 * @param {object} o
 * @param {import('../lib/server.mjs').Server} o.server
 * @param {import('../lib/trace.mjs').Tracer} o.tracer
 * @param {number} [o.pings] pings before the trip is set
 * @param {number} [o.intervalMs] time between pings
 * @param {number} [o.durationMs] keep pinging until this much time has passed since the start
 *   (undefined: until `signal` aborts; 0: stop after the fixed scenario)
 * @param {AbortSignal} [o.signal] stops the pinging loop; the driver still goes OFFLINE
 */
export async function runDriver({
  server,
  tracer,
  email = DRIVER_DEFAULTS.email,
  password = DEMO_PASSWORD,
  start = DRIVER_DEFAULTS.start,
  pings = DRIVER_DEFAULTS.pings,
  intervalMs = DRIVER_DEFAULTS.intervalMs,
  durationMs: runFor,
  signal,
}) {
  const who = whoOf(email);
  const startedAt = Date.now();
  const login = await server.login(email, { password });
  tracer.rest(who, 'POST /api/auth/login', 200, { user: login.user, sessionId: login.sessionId, accessTokenExpiresAt: login.accessTokenExpiresAt });
  const driverId = login.user.id;
  const received = [];
  const socket = server.socket('/drivers', login.accessToken);
  traceSocket(socket, who, tracer);
  socket.onAny((event, payload) => {
    received.push({ event, payload });
    if (received.length > 1000) received.shift();
  });
  const acks = [];
  const call = async (event, payload) => {
    tracer.emit(who, event, payload);
    const reply = await emitWithAck(socket, event, payload);
    tracer.ack(who, event, reply);
    const data = assertOkAck(reply, `${who} ${event} ${JSON.stringify(payload)}`, availabilitySnapshot);
    assert.equal(data.driverId, driverId, `${event}: the ack is about this driver`);
    acks.push({ event, payload, data });
    return data;
  };
  /** The broadcast to the driver's own room that must follow `data`. */
  const heard = async (event, expected) => {
    const payload = await expectEvent(socket, event);
    assertEventShape(event, payload);
    assert.deepEqual(payload, expected, `${who} heard ${event}`);
  };

  try {
    const hello = await awaitHello(socket);
    assert.equal(hello.userId, driverId, 'hello.userId');
    assert.equal(hello.sessionId, login.sessionId, 'hello.sessionId');

    // OFFLINE first, so that AVAILABLE is a change (and broadcast) whatever state a previous run left.
    const before = await emitWithAck(socket, 'driver:status:update', { availabilityStatus: 'OFFLINE' });
    tracer.ack(who, 'driver:status:update OFFLINE', before);
    if (before?.ok !== true) {
      throw new Error(
        `${who} cannot go OFFLINE (${JSON.stringify(before?.error)}): it holds a dispatched trip; finish or cancel it first`,
      );
    }
    drainEvents(socket);

    const available = await call('driver:status:update', { availabilityStatus: 'AVAILABLE' });
    assert.equal(available.availabilityStatus, 'AVAILABLE');
    assert.equal(available.isAvailableForTrips, true);
    await heard('driver:availability:update', available);

    let step = 0;
    const ping = async () => {
      const fix = { latitude: round6(start.latitude + STEP_DEG * (step % 200)), longitude: start.longitude };
      step += 1;
      const data = await call('driver:location:ping', fix);
      assert.deepEqual(data.lastLocation, { type: 'Point', coordinates: [fix.longitude, fix.latitude] }, 'lastLocation');
      await heard('driver:location:update', {
        driverId,
        lastLocation: data.lastLocation,
        lastLocationTimestamp: data.lastLocationTimestamp,
      });
      return data;
    };

    for (let i = 0; i < pings; i++) {
      if (i > 0 && !(await wait(intervalMs, signal))) break;
      await ping();
    }

    // A trip handled elsewhere (an id unknown here is accepted, PROTOCOL §6), then cleared.
    const tripId = randomUUID();
    const onTrip = await call('driver:trip:set', { tripId });
    assert.equal(onTrip.currentTripId, tripId);
    assert.equal(onTrip.availabilityReason, 'ON_TRIP');
    assert.equal(onTrip.isAvailableForTrips, false);
    await heard('driver:trip:update', { driverId, currentTripId: tripId, availabilityReason: 'ON_TRIP', isAvailableForTrips: false });
    await ping();
    const cleared = await call('driver:trip:set', { tripId: null });
    assert.equal(cleared.currentTripId, null);
    assert.equal(cleared.availabilityStatus, 'AVAILABLE', 'back to AVAILABLE: still online');
    await heard('driver:trip:update', { driverId, currentTripId: null, availabilityReason: null, isAvailableForTrips: true });

    // Then keep pinging (by hand: until Ctrl-C or --duration).
    while (runFor === undefined || Date.now() - startedAt + intervalMs <= runFor) {
      if (!(await wait(intervalMs, signal))) break;
      await ping();
      drainEvents(socket); // what else arrives is printed, not kept
    }

    const offline = await call('driver:status:update', { availabilityStatus: 'OFFLINE' });
    assert.equal(offline.isOnline, false);
    await heard('driver:availability:update', offline);
    return { driverId, sessionId: login.sessionId, tripId, acks, received };
  } finally {
    socket.close();
    tracer.note(who, 'socket closed');
  }
}

/** Degrees to six decimals (about 0.1 m): pings print as typed. */
function round6(degrees) {
  return Math.round(degrees * 1e6) / 1e6;
}

/** The command line of `npm run ws:test:da:driver`. */
async function main() {
  await runMain({
    name: 'ws:test:da:driver',
    summary: 'a demo driver goes AVAILABLE, pings its position, sets and clears a trip, and prints every ack and broadcast',
    user: { role: 'demo driver', email: DRIVER_DEFAULTS.email },
    options: {
      start: { type: 'string' },
      interval: { type: 'string' },
      pings: { type: 'string' },
    },
    usage: `  --start LAT,LNG   first position (default ${DRIVER_DEFAULTS.start.latitude},${DRIVER_DEFAULTS.start.longitude})
  --interval SEC    time between pings (default ${DRIVER_DEFAULTS.intervalMs / 1000}; 0.2 with --assert)
  --pings N         pings before the trip is set (default ${DRIVER_DEFAULTS.pings})
`,
    scenario: async ({ args, server, tracer, signal }) => {
      const pings = args.pings === undefined ? DRIVER_DEFAULTS.pings : Number(args.pings);
      if (!Number.isInteger(pings) || pings < 1) throw new UsageError(`--pings must be a positive integer, got ${args.pings}`);
      const interval = durationMs(args.interval, 'interval') ?? (args.assert ? 200 : DRIVER_DEFAULTS.intervalMs);
      const result = await runDriver({
        server,
        tracer,
        email: args.email,
        password: args.password,
        start: args.start ? parsePosition(args.start, 'start') : DRIVER_DEFAULTS.start,
        pings,
        intervalMs: interval,
        // --assert alone: the fixed scenario once, bounded.
        durationMs: durationMs(args.duration) ?? (args.assert ? 0 : undefined),
        signal,
      });
      tracer.note(whoOf(args.email), `${result.acks.length} acks, all ok; every broadcast matched its ack (${WAIT_MS} ms budget each)`);
    },
  });
}

if (isMain(import.meta.url)) await main();
