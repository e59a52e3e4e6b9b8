// Floods (PROTOCOL §1 RATE_LIMIT_*, §3 check 7, §5 rate_limited; issue 8 item 2): a socket that
// sends far beyond the documented per-socket limit (20 events/s, burst 40) gets rate_limited
// for the excess, in the ack and in an `exception`, and keeps its connection; its neighbours — a
// second socket of the same session, other users, the healthy canary — never notice. Handshake
// floods: a storm of refused tokens, and one user's simultaneous connections past the limit.

import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';

import { startCanary } from '../lib/canary.mjs';
import { drainEvents, emitWithAck, recorded, startServer, WAIT_MS } from '../lib/server.mjs';
import { skipUnlessSpawned } from '../lib/suite.mjs';

/** PROTOCOL §1 defaults, which the spawned server keeps. */
const PER_SEC = 20;
const BURST = 40;
const PING = { latitude: 23.1, longitude: -82.3 };

/** Time an answered ack takes at most under a flood; later counts as never answered. */
const FLOOD_ACK_MS = 2000;

/**
 * Sends `n` acked events at once; resolves `{ok, rate_limited, other: [replies], lost, seconds}`
 * (`lost`: acks that never came).
 */
async function flood(socket, n, event, payload) {
  const started = Date.now();
  const settledReplies = await Promise.allSettled(Array.from({ length: n }, () => emitWithAck(socket, event, payload, FLOOD_ACK_MS)));
  const count = { ok: 0, rate_limited: 0, other: [], lost: 0, seconds: (Date.now() - started) / 1000 };
  for (const r of settledReplies) {
    if (r.status === 'rejected') count.lost += 1;
    else if (r.value?.ok === true) count.ok += 1;
    else if (r.value?.error?.code === 'rate_limited') count.rate_limited += 1;
    else count.other.push(r.value);
  }
  return count;
}

/** Codes of the `exception` events a socket received (and consumes them). */
function exceptionCodes(socket) {
  const codes = {};
  for (const { event, args } of drainEvents(socket)) {
    if (event === 'exception') codes[args[0].code] = (codes[args[0].code] ?? 0) + 1;
  }
  return codes;
}

/** Waits until `socket` has received nothing new for 300 ms (a flood's answers are all in). */
async function settled(socket) {
  let last = -1;
  for (let i = 0; i < 50; i++) {
    const seen = recorded(socket).length;
    if (seen === last) return;
    last = seen;
    await sleep(300);
  }
}

describe('floods beyond the rate limit (defaults: 20 events/s, burst 40)', () => {
  let server;
  let canary;
  const s = {};
  before(async () => {
    server = await startServer();
    canary = await startCanary(server);
    const driver = await server.login('driver1@rodando.local');
    s.offender = await server.connect('/drivers', driver.accessToken);
    s.sibling = await server.connect('/drivers', driver.accessToken);
    s.otherDriver = (await server.connected('driver2@rodando.local', '/drivers')).socket;
    s.passenger = (await server.connected('passenger1@rodando.local', '/passengers')).socket;
    s.admin = (await server.connected('admin@rodando.local', '/admin')).socket;
  });
  after(async () => {
    await server?.close();
  });

  /** Everyone but the offender is served at once, with no exception. */
  async function neighboursServed(what) {
    for (const [name, socket, event, payload] of [
      ['a second socket of the same session', s.sibling, 'driver:location:ping', PING],
      ['another driver', s.otherDriver, 'driver:location:ping', PING],
      ['an admin', s.admin, 'admin:drivers:snapshot', {}],
    ]) {
      const reply = await emitWithAck(socket, event, payload);
      assert.equal(reply?.ok, true, `${what}: ${name} is served: ${JSON.stringify(reply)}`);
      assert.deepEqual(exceptionCodes(socket), {}, `${what}: ${name} got no exception`);
    }
    assert.deepEqual(canary.problems(), [], `${what}: the healthy client is served`);
  }

  /** Acks a flood never got (checked by a test below). */
  const lostAcks = [];

  test('200 acked pings at once: the burst passes, the rest are rate_limited, on that socket only', async () => {
    const count = await flood(s.offender, 200, 'driver:location:ping', PING);
    lostAcks.push(['200 pings', count.lost]);
    assert.deepEqual(count.other, [], 'every answer is ok or rate_limited');
    assert.ok(count.ok >= BURST, `${count.ok} passed: at least the burst`);
    assert.ok(count.ok <= BURST + Math.ceil(count.seconds * PER_SEC) + 1, `${count.ok} passed in ${count.seconds} s: no more than burst + refill`);
    assert.ok(count.rate_limited + count.lost === 200 - count.ok);
    await settled(s.offender);
    const codes = exceptionCodes(s.offender);
    assert.deepEqual(Object.keys(codes), ['rate_limited'], JSON.stringify(codes));
    assert.ok(codes.rate_limited >= count.rate_limited - count.lost && codes.rate_limited <= 200 - count.ok, `${codes.rate_limited} exceptions`);
    assert.equal(s.offender.connected, true, 'a flood costs no connection');
    await neighboursServed('after the acked flood');
  });

  test('1000 events without acks, half of them unknown: the excess is rate_limited, then the socket recovers', async () => {
    for (let i = 0; i < 1000; i++) {
      if (i % 2) s.offender.emit('driver:moonwalk', { step: i });
      else s.offender.emit('driver:location:ping', PING);
    }
    await settled(s.offender);
    const codes = exceptionCodes(s.offender);
    assert.deepEqual(Object.keys(codes).filter((c) => c !== 'rate_limited' && c !== 'unknown_event'), [], JSON.stringify(codes));
    assert.ok((codes.rate_limited ?? 0) > 0, `the client is told it is limited: ${JSON.stringify(codes)}`);
    assert.ok((codes.unknown_event ?? 0) <= BURST, `${codes.unknown_event} unknown_event: unknown names count against the limit too`);
    assert.equal(s.offender.connected, true);
    await neighboursServed('after the flood without acks');

    // After a full refill the socket has its whole burst again, and no more.
    await sleep((BURST / PER_SEC) * 1000 + 200);
    const again = await flood(s.offender, BURST, 'driver:location:ping', PING);
    assert.deepEqual({ ok: again.ok, lost: again.lost }, { ok: BURST, lost: 0 }, 'recovered: the whole burst passes');
    await settled(s.offender);
    drainEvents(s.offender);
  });

  test('passengers and admins are limited per socket the same way', async () => {
    for (const [name, socket, event, payload, answer] of [
      ['a passenger', s.passenger, 'trip:cancel', { tripId: '00000000-0000-4000-8000-000000000000' }, 'not_found'],
      ['an admin', s.admin, 'admin:drivers:snapshot', {}, null],
    ]) {
      const count = await flood(socket, 150, event, payload);
      lostAcks.push([`150 ${event}`, count.lost]);
      const passed = count.ok + count.other.length;
      assert.deepEqual(count.other.filter((r) => r?.error?.code !== answer), [], `${name}: only its own answer or rate_limited`);
      assert.ok(passed >= BURST && passed <= BURST + Math.ceil(count.seconds * PER_SEC) + 1, `${name}: ${passed} passed`);
      assert.equal(socket.connected, true, `${name} keeps its connection`);
      await settled(socket);
      drainEvents(socket);
    }
    const reply = await emitWithAck(s.otherDriver, 'driver:location:ping', PING);
    assert.equal(reply?.ok, true, 'a driver is not limited by the passenger and admin floods');
  });

  // PROTOCOL §5: every inbound event accepts an ack and a refused one gets rate_limited. Each
  // refused event costs two packets (ack and exception); the per-connection buffer
  // (RealtimeConfig::max_buffered_packets, 1024) holds a whole flood's answers.
  test('every event of a flood is answered', () => {
    assert.deepEqual(lostAcks.filter(([, lost]) => lost > 0), [], 'floods with acks that never came');
  });

  test('100 refused handshakes at once do not disturb anyone, and each gets its code', async () => {
    const outcomes = await Promise.all(
      Array.from({ length: 100 }, (_, i) => server.turnedAway(i % 2 ? '/drivers' : '/admin', i % 3 ? 'garbage' : undefined)),
    );
    for (const [i, outcome] of outcomes.entries()) {
      assert.deepEqual(outcome, { refused: i % 3 ? 'invalid_token' : 'missing_token' }, `handshake ${i}`);
    }
    await neighboursServed('after the handshake storm');
  });

  test('20 simultaneous connections of one user: exactly MAX_CONNECTIONS_PER_USER (5) are admitted', async (t) => {
    if (skipUnlessSpawned(t, server, 'needs a spawned server with the default MAX_CONNECTIONS_PER_USER (SERVER_URL is set)')) return;
    const login = await server.login('passenger2@rodando.local');
    const attempts = await Promise.allSettled(Array.from({ length: 20 }, () => server.connect('/passengers', login.accessToken)));
    const admitted = attempts.filter((a) => a.status === 'fulfilled').map((a) => a.value);
    const refusals = attempts.filter((a) => a.status === 'rejected').map((a) => a.reason.message);
    assert.equal(admitted.length, 5, `admitted ${admitted.length}; refusals: ${JSON.stringify(refusals.slice(0, 3))}`);
    assert.deepEqual([...new Set(refusals)], ['too_many_connections']);
    for (const socket of admitted) assert.equal(socket.connected, true);
    for (const socket of admitted) socket.close();
    await neighboursServed('after the connection storm');
  });

  test('through all of it the healthy client was served', async (t) => {
    const stats = await canary.stop();
    t.diagnostic(`healthy client: ${stats.rounds} round trips, slowest ${stats.maxMs} ms`);
    assert.ok(stats.maxMs < WAIT_MS, `slowest healthy round trip ${stats.maxMs} ms`);
  });
});
