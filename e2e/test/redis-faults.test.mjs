// Two nodes over a Redis of their own, which this file breaks (issue 13), seen by the real
// socket.io-client: pub/sub connections killed, then Redis killed (local delivery goes on,
// /ready says 503 naming redis) and restarted empty (cross-node delivery comes back by itself).

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';

import { drainEvents, emitWithAck, expectEvent, startTwoNodes } from '../lib/server.mjs';
import { ownDatabaseSuite, scratchDatabase } from '../lib/postgres.mjs';
import { startRedis } from '../lib/redis.mjs';

const RESUME_LIMIT_MS = 10_000;
const NOT_READY_LIMIT_MS = 5_000;

let seq = 0;

/**
 * Sends a location ping from `driver` every 250 ms until `admin` hears one of those pings (not an
 * earlier one); resolves with the milliseconds that took, or null after `limitMs`.
 */
async function untilHeard(driver, admin, limitMs) {
  const started = Date.now();
  drainEvents(admin);
  const sent = [];
  while (Date.now() - started < limitMs) {
    seq += 1;
    const latitude = 23.1 + seq * 1e-4;
    const ack = await emitWithAck(driver, 'driver:location:ping', { latitude, longitude: -82.36 });
    assert.equal(ack.ok, true, `pings are acked whatever Redis does: ${JSON.stringify(ack)}`);
    sent.push(latitude);
    const deadline = Date.now() + 250;
    for (;;) {
      const left = deadline - Date.now();
      if (left <= 0) break;
      let update;
      try {
        update = await expectEvent(admin, 'driver:location:update', left);
      } catch {
        break;
      }
      const heard = update.lastLocation?.coordinates?.[1];
      if (sent.some((s) => Math.abs(s - heard) < 1e-9)) return Date.now() - started;
    }
  }
  return null;
}

/** Polls GET /ready every 100 ms until it answers `status`; resolves `{ms, body}` or null. */
async function untilReadyIs(node, status, limitMs) {
  const started = Date.now();
  while (Date.now() - started < limitMs) {
    const res = await node.get('/ready').catch(() => null);
    if (res?.status === status) return { ms: Date.now() - started, body: res.body };
    await sleep(100);
  }
  return null;
}

describe('two nodes through Redis faults', ownDatabaseSuite(), () => {
  let db;
  let redis;
  let a;
  let b;
  before(async () => {
    db = await scratchDatabase();
    redis = await startRedis();
    [a, b] = await startTwoNodes({ databaseUrl: db.url, redisUrl: redis.url, label: 'faults' });
  });
  after(async () => {
    await a?.close();
    await b?.close();
    await redis?.stop();
    await db?.drop();
  });

  test('CLIENT KILL TYPE pubsub: cross-node delivery resumes within 10 s', async (t) => {
    if (a.external) return t.skip('needs spawned nodes');
    const { socket: adminB } = await b.connected('admin@rodando.local', '/admin');
    const { socket: driver } = await a.connected('driver1@rodando.local', '/drivers');
    const online = await emitWithAck(driver, 'driver:status:update', { availabilityStatus: 'AVAILABLE' });
    assert.equal(online.ok, true, JSON.stringify(online));
    assert.notEqual(await untilHeard(driver, adminB, 3000), null, 'cross-node delivery works before the fault');

    const killed = await redis.command('CLIENT', 'KILL', 'TYPE', 'pubsub');
    assert.match(killed, /^:[2-9]/, `both nodes' subscribers were killed: ${killed}`);
    const resumed = await untilHeard(driver, adminB, RESUME_LIMIT_MS);
    assert.notEqual(resumed, null, `no cross-node delivery within ${RESUME_LIMIT_MS} ms of CLIENT KILL`);
    t.diagnostic(`CLIENT KILL TYPE pubsub -> cross-node delivery back in ${resumed} ms`);
    adminB.close();
    driver.close();
  });

  test('Redis killed, then restarted empty: local delivery goes on, /ready tells, cross-node resumes', async (t) => {
    if (a.external) return t.skip('needs spawned nodes');
    const { socket: adminA } = await a.connected('admin@rodando.local', '/admin');
    const { socket: adminB } = await b.connected('admin@rodando.local', '/admin');
    const { socket: driver } = await a.connected('driver2@rodando.local', '/drivers');
    const online = await emitWithAck(driver, 'driver:status:update', { availabilityStatus: 'AVAILABLE' });
    assert.equal(online.ok, true, JSON.stringify(online));
    assert.notEqual(await untilHeard(driver, adminB, 3000), null, 'cross-node delivery works before the fault');

    await redis.kill();
    const killedAt = Date.now();
    const local = await untilHeard(driver, adminA, 3000);
    assert.notEqual(local, null, 'with Redis dead, a ping on node A still reaches an admin on node A');
    const notReady = await untilReadyIs(a, 503, NOT_READY_LIMIT_MS - (Date.now() - killedAt));
    assert.notEqual(notReady, null, `/ready on node A still 200 ${NOT_READY_LIMIT_MS} ms after Redis died`);
    assert.equal(notReady.body?.error?.details?.failed?.[0]?.dependency, 'redis', JSON.stringify(notReady.body));
    t.diagnostic(`Redis killed -> /ready 503 after ${Date.now() - killedAt} ms`);

    await sleep(Math.max(0, 8000 - (Date.now() - killedAt)));
    await redis.restart();
    const restartedAt = Date.now();
    const resumed = await untilHeard(driver, adminB, RESUME_LIMIT_MS);
    assert.notEqual(resumed, null, `no cross-node delivery within ${RESUME_LIMIT_MS} ms of the restart`);
    t.diagnostic(`Redis restarted empty -> cross-node delivery back in ${resumed} ms`);
    for (const node of [a, b]) {
      const ready = await untilReadyIs(node, 200, RESUME_LIMIT_MS - (Date.now() - restartedAt));
      assert.notEqual(ready, null, `/ready not 200 within ${RESUME_LIMIT_MS} ms of the restart`);
    }
    adminA.close();
    adminB.close();
    driver.close();
  });
});
