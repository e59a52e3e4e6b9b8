// Two server nodes over one PostgreSQL and one Redis, behind a tiny TCP load balancer, seen by
// the real socket.io-client (PROTOCOL §1 REDIS_URL, §9): broadcasts cross nodes, and when a
// node is stopped with SIGTERM its clients reconnect by themselves to the other node.

import assert from 'node:assert/strict';
import { createServer, connect } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { io } from 'socket.io-client';

import { emitWithAck, expectDisconnect, expectEvent, startTwoNodes } from '../lib/server.mjs';
import { ownDatabaseSuite, scratchDatabase } from '../lib/postgres.mjs';

const REDIS_URL = process.env.REDIS_URL || 'redis://127.0.0.1:6379';

/**
 * Forwards every new TCP connection to the node `pick()` names at that moment, as a load
 * balancer would; connections already open stay where they are.
 */
function balancer(pick) {
  const open = new Set();
  const server = createServer((client) => {
    const upstream = connect(pick());
    open.add(client);
    for (const [a, b] of [[client, upstream], [upstream, client]]) {
      a.pipe(b);
      a.on('error', () => b.destroy());
      a.on('close', () => { b.destroy(); open.delete(client); });
    }
  });
  return new Promise((ok) => {
    server.listen(0, '127.0.0.1', () => ok({
      url: `http://127.0.0.1:${server.address().port}`,
      close: () => { for (const c of open) c.destroy(); server.close(); },
    }));
  });
}

describe('two nodes over Redis', ownDatabaseSuite(), () => {
  let db;
  let a;
  let b;
  before(async () => {
    db = await scratchDatabase();
    [a, b] = await startTwoNodes({ databaseUrl: db.url, redisUrl: REDIS_URL, label: 'cluster' });
  });
  after(async () => {
    await a?.close();
    await b?.close();
    await db?.drop();
  });

  test('a driver on node A is seen live by an admin on node B', async () => {
    const { socket: admin } = await b.connected('admin@rodando.local', '/admin');
    const { socket: driver, login } = await a.connected('driver2@rodando.local', '/drivers');
    const heard = expectEvent(admin, 'driver:location:update');
    const ack = await emitWithAck(driver, 'driver:location:ping', { latitude: 23.12, longitude: -82.38 });
    assert.equal(ack.ok, true, JSON.stringify(ack));
    const update = await heard;
    assert.equal(update.driverId, login.user.id);
    assert.deepEqual(update.lastLocation.coordinates, [-82.38, 23.12]);
    admin.close();
    driver.close();
  });

  test('SIGTERM on a node: its clients reconnect by themselves to the other node', async () => {
    if (a.external) return; // needs spawned nodes
    const [hostA, portA] = new URL(a.url).host.split(':');
    const [hostB, portB] = new URL(b.url).host.split(':');
    let target = { host: hostA, port: Number(portA) };
    const lb = await balancer(() => target);
    try {
      const login = await a.login('driver1@rodando.local');
      const socket = io(`${lb.url}/drivers`, {
        auth: { token: login.accessToken },
        transports: ['websocket'],
        reconnectionDelay: 100,
        reconnectionDelayMax: 500,
      });
      try {
        const first = await expectEvent(socket, 'hello');
        assert.equal(first.sessionId, login.sessionId);

        // Node A goes away; from now on the balancer sends new connections to node B.
        target = { host: hostB, port: Number(portB) };
        const gone = expectDisconnect(socket, 10_000);
        const again = expectEvent(socket, 'hello', 10_000);
        a.proc.child.kill('SIGTERM');
        const reason = await gone;
        assert.equal(reason, 'transport close', 'a closed transport, not a Socket.IO kick');
        assert.equal(socket.active, true, 'the client keeps reconnecting by itself');
        const second = await again;
        assert.equal(second.sessionId, login.sessionId, 'same session, now on node B');
        const ack = await emitWithAck(socket, 'driver:status:update', { availabilityStatus: 'AVAILABLE' });
        assert.equal(ack.ok, true, JSON.stringify(ack));
        const exited = await Promise.race([a.proc.exit, sleep(10_000, null)]);
        assert.equal(exited?.code, 0, `node A exited cleanly within 10 s: ${JSON.stringify(exited)}`);
      } finally {
        socket.close();
      }
    } finally {
      lb.close();
    }
  });
});
