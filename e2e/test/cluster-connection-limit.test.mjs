// MAX_CONNECTIONS_PER_USER across two nodes over one PostgreSQL and one Redis, seen by the real
// socket.io-client (issue 16, item 4): counted in Redis, exact under races, slots given back on
// close, and the slots of a SIGKILLed node back once its heartbeat (CLUSTER_NODE_TTL) expired.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';

import { awaitHello, startTwoNodes } from '../lib/server.mjs';
import { ownDatabaseSuite, scratchDatabase } from '../lib/postgres.mjs';

const REDIS_URL = process.env.REDIS_URL || 'redis://127.0.0.1:6379';
const LIMIT = 5;
const NODE_TTL_S = 3;

/** Resolves `{socket}` when admitted (hello received) or `{refused: message}`. */
function attempt(server, token) {
  const socket = server.socket('/drivers', token);
  return new Promise((ok) => {
    socket.once('connect_error', (err) => {
      socket.close();
      ok({ refused: err.message });
    });
    awaitHello(socket).then(
      () => ok({ socket }),
      (e) => ok({ refused: `no hello: ${e.message}` }),
    );
  });
}

/** Attempts on `server` until one is admitted; only `too_many_connections` may refuse meanwhile. */
async function admittedWithin(server, token, ms) {
  const deadline = Date.now() + ms;
  for (;;) {
    const outcome = await attempt(server, token);
    if (outcome.socket) return outcome.socket;
    assert.equal(outcome.refused, 'too_many_connections');
    assert.ok(Date.now() < deadline, `no slot came back within ${ms} ms`);
    await sleep(50);
  }
}

describe('MAX_CONNECTIONS_PER_USER over two nodes', ownDatabaseSuite(), () => {
  let db;
  let a;
  let b;
  before(async () => {
    db = await scratchDatabase();
    [a, b] = await startTwoNodes({
      databaseUrl: db.url,
      redisUrl: REDIS_URL,
      label: 'limit',
      env: { MAX_CONNECTIONS_PER_USER: String(LIMIT), CLUSTER_NODE_TTL: `${NODE_TTL_S}s` },
    });
  });
  after(async () => {
    await a?.close();
    await b?.close();
    await db?.drop();
  });

  test('20 simultaneous handshakes of one user over two nodes: exactly 5 admitted; slots come back on close and after a SIGKILL', async (t) => {
    if (a.external) return t.skip('needs spawned nodes');
    const { accessToken } = await a.login('driver1@rodando.local');
    const outcomes = await Promise.all(Array.from({ length: 20 }, (_, i) => attempt(i % 2 ? b : a, accessToken)));
    const admitted = outcomes.filter((o) => o.socket).map((o) => o.socket);
    const refused = outcomes.filter((o) => o.refused).map((o) => o.refused);
    assert.equal(admitted.length, LIMIT, `refused: ${JSON.stringify(refused)}`);
    assert.deepEqual(new Set(refused), new Set(['too_many_connections']));
    assert.equal(await b.refusal('/drivers', accessToken), 'too_many_connections');

    for (const socket of admitted.splice(0)) socket.close();
    for (let i = 0; i < 3; i++) admitted.push(await admittedWithin(b, accessToken, 10_000));
    for (let i = 0; i < 2; i++) admitted.push(await admittedWithin(a, accessToken, 10_000));
    assert.equal(await a.refusal('/drivers', accessToken), 'too_many_connections', '3 on B and 2 on A are the limit');

    // Node B crashes: its 3 slots count until its heartbeat expires.
    const killed = Date.now();
    b.proc.child.kill('SIGKILL');
    await b.proc.exit;
    for (let i = 0; i < 3; i++) admitted.push(await admittedWithin(a, accessToken, NODE_TTL_S * 1000 + 10_000));
    t.diagnostic(`a SIGKILLed node's slots came back after ${Date.now() - killed} ms (CLUSTER_NODE_TTL ${NODE_TTL_S}s)`);
    assert.equal(await a.refusal('/drivers', accessToken), 'too_many_connections', '5 on A are the limit');
    for (const socket of admitted) socket.close();
  });
});
