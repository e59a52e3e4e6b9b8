// Admission to the three namespaces (PROTOCOL §3): hello, transports, where the token may be,
// the per-user connection limit and token expiry. Every crafted token and its refusal code:
// hostile-tokens.test.mjs.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';

import { emitWithAck, expectDisconnect, expectEvent, WAIT_MS } from '../lib/server.mjs';
import { skipUnlessSpawned, suiteServer } from '../lib/suite.mjs';
import { decode, sign } from '../lib/jwt.mjs';

const RFC3339_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

describe('handshake', () => {
  const server = suiteServer();

  test('REST login answers tokens, and refuses bad credentials and the wrong app', async () => {
    const login = await server.login('driver1@rodando.local');
    for (const field of ['accessToken', 'refreshToken', 'sessionId', 'accessTokenExpiresAt', 'refreshTokenExpiresAt']) {
      assert.equal(typeof login[field], 'string', field);
    }
    assert.deepEqual(Object.keys(login.user).sort(), ['id', 'name', 'userType']);
    const claims = decode(login.accessToken)[1];
    assert.equal(claims.sub, login.user.id);
    assert.equal(claims.sid, login.sessionId);
    assert.equal(claims.typ, 'access');
    assert.equal(claims.aud, 'driver_app');

    const wrongPassword = await server.tryLogin('driver1@rodando.local', { password: 'nope' });
    assert.equal(wrongPassword.status, 401);
    assert.equal(wrongPassword.body?.error?.code, 'invalid_credentials');
    const unknownUser = await server.tryLogin('nobody@rodando.local', { appAudience: 'driver_app' });
    assert.equal(unknownUser.status, 401);
    assert.deepEqual(unknownUser.body, wrongPassword.body, 'same answer whether the user exists or not');
    const wrongApp = await server.tryLogin('driver1@rodando.local', { appAudience: 'passenger_app' });
    assert.equal(wrongApp.status, 403);
    assert.equal(wrongApp.body?.error?.code, 'audience_mismatch');
  });

  test('each user type enters its own namespace and gets hello', async () => {
    for (const [email, ns, userType] of [
      ['driver1@rodando.local', '/drivers', 'driver'],
      ['passenger1@rodando.local', '/passengers', 'passenger'],
      ['admin@rodando.local', '/admin', 'admin'],
    ]) {
      const login = await server.login(email);
      assert.equal(login.user.userType, userType);
      assert.match(login.user.id, UUID);
      assert.match(login.sessionId, UUID);
      const socket = await server.connect(ns, login.accessToken);
      try {
        assert.equal(socket.connected, true);
        assert.equal(socket.io.engine.transport.name, 'websocket');
        const { hello } = socket;
        assert.equal(hello.ok, true, `${ns}: ${JSON.stringify(hello)}`);
        assert.equal(hello.nsp, ns);
        assert.equal(hello.userId, login.user.id);
        assert.equal(hello.userType, userType);
        assert.equal(hello.sessionId, login.sessionId);
        assert.match(hello.serverTime, RFC3339_UTC);
        assert.ok(Math.abs(Date.parse(hello.serverTime) - Date.now()) < 60_000, `serverTime ${hello.serverTime}`);
      } finally {
        socket.close();
      }
    }
  });

  test('default transports: HTTP long-polling first, then the upgrade to websocket', async () => {
    const login = await server.login('driver2@rodando.local');
    // transports undefined → the client default (polling, websocket, webtransport).
    const socket = server.socket('/drivers', login.accessToken, { transports: undefined });
    try {
      const engine = socket.io.engine;
      assert.equal(engine.transport.name, 'polling', 'the handshake starts over HTTP long-polling');
      const upgraded = once(engine, 'upgrade');
      const hello = await expectEvent(socket, 'hello');
      assert.equal(hello.userId, login.user.id);
      const [transport] = await Promise.race([
        upgraded,
        sleep(WAIT_MS, null, { ref: false }).then(() => assert.fail(`no upgrade within ${WAIT_MS} ms`)),
      ]);
      assert.equal(transport.name, 'websocket');
      assert.equal(engine.transport.name, 'websocket');
      const reply = await emitWithAck(socket, 'driver:status:update', { availabilityStatus: 'BUSY' });
      assert.equal(reply.ok, true, JSON.stringify(reply));
      assert.equal(reply.data.availabilityStatus, 'BUSY');
    } finally {
      socket.close();
    }
  });

  test('HTTP long-polling alone (no upgrade) carries hello, acks and broadcasts', async () => {
    const login = await server.login('driver3@rodando.local');
    const socket = await server.connect('/drivers', login.accessToken, { transports: ['polling'], upgrade: false });
    try {
      assert.equal(socket.io.engine.transport.name, 'polling');
      assert.equal(socket.hello.sessionId, login.sessionId);
      const reply = await emitWithAck(socket, 'driver:status:update', { availabilityStatus: 'AVAILABLE' });
      assert.equal(reply.ok, true, JSON.stringify(reply));
      const update = await expectEvent(socket, 'driver:availability:update');
      assert.deepEqual(update, reply.data);
      assert.equal(socket.io.engine.transport.name, 'polling');
    } finally {
      socket.close();
    }
  });

  test('the token in an Authorization: Bearer header is accepted (websocket and polling)', async () => {
    const login = await server.login('passenger2@rodando.local');
    for (const transports of [['websocket'], ['polling']]) {
      const socket = await server.connect('/passengers', undefined, {
        transports,
        extraHeaders: { Authorization: `Bearer ${login.accessToken}` },
      });
      try {
        assert.equal(socket.hello.userId, login.user.id, transports[0]);
        assert.equal(socket.hello.sessionId, login.sessionId, transports[0]);
      } finally {
        socket.close();
      }
    }
  });

  test('a "Bearer " prefix inside auth.token is tolerated', async () => {
    const login = await server.login('passenger2@rodando.local');
    const socket = await server.connect('/passengers', `Bearer ${login.accessToken}`);
    socket.close();
    assert.equal(socket.hello.userId, login.user.id);
  });
});

describe('MAX_CONNECTIONS_PER_USER=2', () => {
  const server = suiteServer({ env: { MAX_CONNECTIONS_PER_USER: '2' } });

  test('a third socket of the same user is refused with too_many_connections', async (t) => {
    if (skipUnlessSpawned(t, server)) return;
    const login = await server.login('driver1@rodando.local');
    const first = await server.connect('/drivers', login.accessToken);
    const second = await server.connect('/drivers', login.accessToken);
    assert.equal(await server.refusal('/drivers', login.accessToken), 'too_many_connections');
    // The limit is per user, not per session.
    const sameUser = await server.login('driver1@rodando.local');
    assert.equal(await server.refusal('/drivers', sameUser.accessToken), 'too_many_connections');
    // Another user is not affected.
    (await server.connect('/drivers', (await server.login('driver2@rodando.local')).accessToken)).close();
    assert.equal(second.connected, true);

    // Closing one socket frees its slot (the server may take a moment to notice).
    first.close();
    let admitted = null;
    let lastError = null;
    for (let i = 0; i < 50 && !admitted; i++) {
      try {
        admitted = await server.connect('/drivers', login.accessToken);
      } catch (e) {
        lastError = e;
        await sleep(20);
      }
    }
    assert.ok(admitted, `a freed slot is reusable (last refusal: ${lastError?.message})`);
    admitted.close();
    second.close();
  });
});

// Both tests wait for a real token to expire, so they run side by side.
describe('JWT_ACCESS_TTL=2s', { concurrency: true }, () => {
  /** The contract allows the exp check a leeway of up to 5 s. */
  const MAX_LEEWAY_MS = 5000;
  const server = suiteServer({ env: { JWT_ACCESS_TTL: '2s' } });

  test('an expired access token is refused with token_expired', async (t) => {
    if (skipUnlessSpawned(t, server)) return;
    const login = await server.login('passenger2@rodando.local');
    // Past the largest leeway the contract allows, so the token is expired whatever leeway the
    // server uses.
    await sleep(Date.parse(login.accessTokenExpiresAt) - Date.now() + MAX_LEEWAY_MS + 500);
    assert.equal(await server.refusal('/passengers', login.accessToken), 'token_expired');
  });

  // PROTOCOL §3 check 6: the session's own access expiry is checked too, so a token forged with
  // the key to outlive its session is refused with session_expired.
  test('a token that outlives its session is refused with session_expired', async (t) => {
    if (skipUnlessSpawned(t, server)) return;
    const login = await server.login('driver2@rodando.local');
    const [, claims] = decode(login.accessToken);
    const outliving = sign({ ...claims, exp: claims.exp + 3600 }, server.accessSecret);
    (await server.connect('/drivers', outliving)).close(); // fine while the session is
    await sleep(Date.parse(login.accessTokenExpiresAt) - Date.now() + MAX_LEEWAY_MS + 500);
    assert.equal(await server.refusal('/drivers', outliving), 'session_expired');
  });

  // PROTOCOL §3: "A live socket whose access token expires is sent auth:token_expired {sessionId}
  // and disconnected within seconds".
  test(
    'a live socket whose token expires gets auth:token_expired and is disconnected',
    async (t) => {
      if (skipUnlessSpawned(t, server)) return;
      const { socket, login } = await server.connected('passenger1@rodando.local', '/passengers');
      const expiresIn = Date.parse(login.accessTokenExpiresAt) - Date.now();
      const expired = await expectEvent(socket, 'auth:token_expired', expiresIn + MAX_LEEWAY_MS + 1500);
      assert.deepEqual(expired, { sessionId: login.sessionId });
      assert.equal(await expectDisconnect(socket), 'io server disconnect');
    },
  );
});
