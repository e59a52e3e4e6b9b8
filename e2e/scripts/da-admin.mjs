#!/usr/bin/env node
// ws:test:da:admin — the ops dashboard's view of the fleet (PROTOCOL §7): log in as admin,
// connect to /admin, print the online drivers' snapshot, then every broadcast it hears
// (`driver:*` from room admin:drivers, and new trips) until stopped. Run it beside
// ws:test:da:driver to watch that driver's broadcasts arrive.
//
//   npm run ws:test:da:admin                 # until Ctrl-C
//   npm run ws:test:da:admin -- --duration 30 --assert

import assert from 'node:assert/strict';

import { assertEventShape, assertOkAck, availabilitySnapshot, object } from '../lib/payloads.mjs';
import { awaitHello, DEMO_PASSWORD, drainEvents, emitWithAck } from '../lib/server.mjs';
import { traceSocket } from '../lib/trace.mjs';
import { durationMs, isMain, runMain, wait, whoOf } from './cli.mjs';

export const ADMIN_DEFAULTS = { email: 'admin@rodando.local' };

/** The ack of `admin:drivers:snapshot`: every online driver. */
const fleetSnapshot = object({ drivers: (list, path) => {
  assert.ok(Array.isArray(list), `${path}: an array`);
  list.forEach((d, i) => availabilitySnapshot(d, `${path}[${i}]`));
} });

/**
 * Watches the fleet until `signal` aborts or `durationMs` passes. Resolves with
 * `{snapshot, received: [{event, payload}]}` — every event heard after hello (bounded to the last
 * 10000). Every `driver:*` and `trip:*` payload is checked against the contract as it arrives;
 * the first bad one rejects at the end of the run.
 *
 * @param {object} o
 * @param {() => void} [o.onReady] called once hello and the snapshot are in (tests start the
 *   driver then)
 */
export async function runAdmin({ server, tracer, email = ADMIN_DEFAULTS.email, password = DEMO_PASSWORD, durationMs: runFor, signal, onReady }) {
  const who = whoOf(email);
  const login = await server.login(email, { password });
  tracer.rest(who, 'POST /api/auth/login', 200, { user: login.user, sessionId: login.sessionId });
  const socket = server.socket('/admin', login.accessToken);
  traceSocket(socket, who, tracer);
  const received = [];
  let firstBad = null;
  socket.onAny((event, payload) => {
    if (event === 'hello') return;
    received.push({ event, payload });
    if (received.length > 10_000) received.shift();
    if (event.startsWith('driver:') || event.startsWith('trip:')) {
      try {
        assertEventShape(event, payload);
      } catch (e) {
        firstBad ??= e;
        tracer.note(who, `PROTOCOL MISMATCH: ${e.message}`);
      }
    }
  });
  let disconnected = null;
  socket.on('disconnect', (reason) => {
    disconnected = reason;
  });
  try {
    const hello = await awaitHello(socket);
    assert.equal(hello.userType, 'admin');
    tracer.emit(who, 'admin:drivers:snapshot', {});
    const reply = await emitWithAck(socket, 'admin:drivers:snapshot', {});
    tracer.ack(who, 'admin:drivers:snapshot', reply);
    const snapshot = assertOkAck(reply, 'admin:drivers:snapshot', fleetSnapshot);
    tracer.note(who, `${snapshot.drivers.length} driver(s) online; listening for broadcasts`);
    onReady?.();
    const startedAt = Date.now();
    // Events are printed and kept in `received`; the recorder queue is emptied as we go.
    while (!signal?.aborted && disconnected === null) {
      const left = runFor === undefined ? 1000 : Math.min(1000, runFor - (Date.now() - startedAt));
      if (left <= 0 || !(await wait(left, signal))) break;
      drainEvents(socket);
    }
    if (disconnected !== null) throw new Error(`${who} was disconnected: ${disconnected}`);
    if (firstBad) throw firstBad;
    return { snapshot, received };
  } finally {
    socket.close();
    tracer.note(who, 'socket closed');
  }
}

async function main() {
  await runMain({
    name: 'ws:test:da:admin',
    summary: 'an admin prints the fleet snapshot and every driver broadcast (run it beside ws:test:da:driver)',
    user: { role: 'admin', email: ADMIN_DEFAULTS.email },
    scenario: async ({ args, server, tracer, signal }) => {
      // --assert alone: listen 10 s, checking every payload.
      const runFor = durationMs(args.duration) ?? (args.assert ? 10_000 : undefined);
      const { received } = await runAdmin({ server, tracer, email: args.email, password: args.password, durationMs: runFor, signal });
      const counts = {};
      for (const { event } of received) counts[event] = (counts[event] ?? 0) + 1;
      tracer.note(whoOf(args.email), `heard ${received.length} event(s), all as the protocol says: ${JSON.stringify(counts)}`);
    },
  });
}

if (isMain(import.meta.url)) await main();
