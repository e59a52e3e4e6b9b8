// User status administration through the real socket.io-client (issue 16, item 3): an admin bans
// a connected driver with PATCH /api/users/{id}; the driver's socket hears auth:session_revoked
// with reason "admin" and is disconnected; its logins then answer 403 user_inactive; a non-admin
// is refused; re-activating lets the driver log in again.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { expectDisconnect, expectEvent } from '../lib/server.mjs';
import { suiteServer } from '../lib/suite.mjs';

const DRIVER = 'driver1@rodando.local';

describe('PATCH /api/users/{id}', () => {
  const server = suiteServer();

  const patch = (id, token, body) =>
    server.request('PATCH', `/api/users/${id}`, body, { authorization: `Bearer ${token}` });

  test('a ban disconnects the driver with auth:session_revoked (admin), its login is refused, re-activation lets it back', async () => {
    const admin = await server.login('admin@rodando.local');
    const { socket, login } = await server.connected(DRIVER, '/drivers');
    const driverId = login.user.id;
    try {
      const revoked = expectEvent(socket, 'auth:session_revoked');
      const gone = expectDisconnect(socket);
      const started = Date.now();
      const { status, body } = await patch(driverId, admin.accessToken, { status: 'banned' });
      assert.equal(status, 200, JSON.stringify(body));
      assert.deepEqual(body, { id: driverId, email: DRIVER, type: 'driver', status: 'banned' });

      assert.deepEqual(await revoked, { sessionId: login.sessionId, reason: 'admin' });
      assert.equal(await gone, 'io server disconnect');
      assert.ok(Date.now() - started < 1000, `disconnected after ${Date.now() - started} ms`);
      assert.equal(socket.connected, false);

      const refused = await server.tryLogin(DRIVER);
      assert.equal(refused.status, 403, JSON.stringify(refused.body));
      assert.equal(refused.body.error.code, 'user_inactive');
      // The old session is over too: its refresh token and its access token are refused.
      const refresh = await server.post('/api/auth/refresh', { refreshToken: login.refreshToken });
      assert.equal(refresh.status, 401, JSON.stringify(refresh.body));
      assert.equal(refresh.body.error.code, 'session_revoked');
      assert.equal(await server.refusal('/drivers', login.accessToken), 'user_inactive');
    } finally {
      // Leaves a shared server (SERVER_URL) as it was, whatever failed above.
      const back = await patch(driverId, admin.accessToken, { status: 'active' });
      assert.equal(back.status, 200, JSON.stringify(back.body));
    }
    assert.equal((await server.login(DRIVER)).user.id, driverId);
  });

  test('only admins may set a status; bad bodies and unknown users are named', async () => {
    const admin = await server.login('admin@rodando.local');
    const driver = await server.login(DRIVER);
    const passenger = await server.login('passenger1@rodando.local');

    for (const token of [driver.accessToken, passenger.accessToken]) {
      const { status, body } = await patch(passenger.user.id, token, { status: 'banned' });
      assert.equal(status, 403, JSON.stringify(body));
      assert.equal(body.error.code, 'forbidden');
    }
    const unauthenticated = await server.request('PATCH', `/api/users/${driver.user.id}`, { status: 'banned' });
    assert.equal(unauthenticated.status, 401);

    const bad = await patch(driver.user.id, admin.accessToken, { status: 'deleted' });
    assert.equal(bad.status, 400, JSON.stringify(bad.body));
    assert.equal(bad.body.error.code, 'validation_failed');
    assert.deepEqual(bad.body.error.details.fields.map((f) => f.field), ['status']);

    const unknown = await patch('6f9619ff-8b86-4011-b42d-00c04fc964ff', admin.accessToken, { status: 'banned' });
    assert.equal(unknown.status, 404, JSON.stringify(unknown.body));
    assert.equal(unknown.body.error.code, 'not_found');

    // Nothing was changed by any of it.
    assert.equal((await server.login(DRIVER)).user.id, driver.user.id);
    assert.equal((await server.login('passenger1@rodando.local')).user.id, passenger.user.id);
  });
});
