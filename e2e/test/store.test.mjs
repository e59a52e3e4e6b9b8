// Which store the spawned servers run on. In the PostgreSQL pass (`npm run test:postgres`) every
// server has a database of its own, cloned from the run's seeded template: what a client does
// lands there, nowhere else, and the database is gone once the server is closed.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';

import { DEFAULT_DATABASE_URL, psql, storeUnderTest } from '../lib/postgres.mjs';
import { emitWithAck, startServer } from '../lib/server.mjs';

const POSTGRES_ONLY = storeUnderTest() === 'postgres' ? {} : { skip: 'the PostgreSQL pass only (npm run test:postgres)' };

describe('the store of this pass', () => {
  test('a spawned server is on the store of the pass', async (t) => {
    const server = await startServer();
    try {
      if (server.external) return t.skip('SERVER_URL: not spawned here');
      const expected = storeUnderTest() === 'postgres' || process.env.DATABASE_URL ? 'postgres' : 'memory';
      assert.equal(server.store, expected);
    } finally {
      await server.close();
    }
  });

  test('SEED_DEMO_DRIVERS and SEED_DEMO_PASSENGERS seed extra demo users on either store', async (t) => {
    const server = await startServer({ env: { SEED_DEMO_DRIVERS: '2', SEED_DEMO_PASSENGERS: '1' } });
    try {
      if (server.external) return t.skip('SERVER_URL: not spawned here');
      for (const email of ['driver5@rodando.local', 'passenger3@rodando.local']) {
        const login = await server.login(email);
        assert.match(login.user?.id ?? '', /^[0-9a-f-]{36}$/, JSON.stringify(login));
      }
      const none = await server.tryLogin('driver6@rodando.local');
      assert.equal(none.status, 401, JSON.stringify(none.body));
    } finally {
      await server.close();
    }
  });

  test('each server has a database of its own, dropped when it closes', POSTGRES_ONLY, async () => {
    const [a, b] = [await startServer(), await startServer()];
    const urls = [a, b].map((s) => s.proc.env.DATABASE_URL);
    try {
      assert.notEqual(urls[0], urls[1]);
      const { socket, login } = await a.connected('driver1@rodando.local', '/drivers');
      const reply = await emitWithAck(socket, 'driver:status:update', { availabilityStatus: 'AVAILABLE' });
      assert.equal(reply?.ok, true, JSON.stringify(reply));
      const row = `SELECT count(*) FROM drivers_availability WHERE driver_id = '${login.user.id}' AND is_online`;
      assert.equal(await psql(urls[0], row), '1', 'in A’s database');
      const other = `SELECT count(*) FROM drivers_availability da JOIN users u ON u.id = da.driver_id
                     WHERE u.email = 'driver1@rodando.local' AND da.is_online`;
      assert.equal(await psql(urls[1], other), '0', 'not in B’s');
    } finally {
      await a.close();
      await b.close();
    }
    const name = new URL(urls[0]).pathname.slice(1);
    const base = process.env.DATABASE_URL || DEFAULT_DATABASE_URL;
    const deadline = Date.now() + 10_000;
    let left;
    do {
      left = await psql(base, `SELECT count(*) FROM pg_database WHERE datname = '${name}'`);
      if (left === '0') break;
      await sleep(100);
    } while (Date.now() < deadline);
    assert.equal(left, '0', `${name} dropped after close`);
  });
});
