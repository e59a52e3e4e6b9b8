// Hostile handshakes (PROTOCOL §3, issue 8 item 2): crafted tokens of every kind, each turned
// away with its exact code and never admitted, while the forged user's own live socket and a
// healthy client of someone else keep being served, and the server stays up.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';

import { startCanary } from '../lib/canary.mjs';
import { algNone, decode, sign, signRs256, tamperSignature } from '../lib/jwt.mjs';
import { scratchDatabase, psql } from '../lib/postgres.mjs';
import { emitWithAck, startServer } from '../lib/server.mjs';

const NOBODY = '00000000-0000-4000-8000-000000000000';
const KIB = 1024;
const now = () => Math.floor(Date.now() / 1000);

/** Who is refused where, when the token is fine but the namespace is not theirs. */
const WRONG_NAMESPACES = [
  ['passenger', '/drivers'],
  ['passenger', '/admin'],
  ['driver', '/admin'],
  ['driver', '/passengers'],
  ['admin', '/drivers'],
  ['admin', '/passengers'],
];

/**
 * Each crafted handshake: `token(ctx)` (or `opts(ctx)` for the socket options) and the outcome.
 * `key: true` marks tokens forged with the server's own keys (known for a spawned server only).
 * ctx: {driver, passenger, admin, revoked: login bodies; claims: driver's access claims;
 * key, refreshKey}.
 */
const CASES = [
  // 1. token present — missing_token
  { name: 'no auth payload at all', token: () => undefined, expect: { refused: 'missing_token' } },
  { name: 'auth: {}', opts: () => ({ auth: {} }), expect: { refused: 'missing_token' } },
  { name: 'an empty token', token: () => '', expect: { refused: 'missing_token' } },
  { name: 'a blank token', token: () => '   ', expect: { refused: 'missing_token' } },
  {
    name: 'a bare "Bearer " prefix',
    token: () => 'Bearer ',
    expect: { refused: 'missing_token' },
  },
  { name: 'a number as the token', opts: () => ({ auth: { token: 42 } }), expect: { refused: 'missing_token' } },
  { name: 'an object as the token', opts: () => ({ auth: { token: { alg: 'none' } } }), expect: { refused: 'missing_token' } },
  {
    name: 'Authorization: Basic instead of Bearer',
    opts: () => ({ extraHeaders: { Authorization: `Basic ${Buffer.from('driver1@rodando.local:rodando123').toString('base64')}` } }),
    expect: { refused: 'missing_token' },
  },
  // 2. signature, algorithm, issuer, expiry — invalid_token / token_expired
  { name: 'garbage', token: () => 'garbage', expect: { refused: 'invalid_token' } },
  { name: 'three empty-ish segments "a.b.c"', token: () => 'a.b.c', expect: { refused: 'invalid_token' } },
  {
    name: 'random base64url segments',
    token: () => [randomBytes(20), randomBytes(60), randomBytes(32)].map((b) => b.toString('base64url')).join('.'),
    expect: { refused: 'invalid_token' },
  },
  { name: 'a real header and claims with the signature cut off', token: (c) => c.driver.accessToken.replace(/[^.]+$/, ''), expect: { refused: 'invalid_token' } },
  { name: 'a tampered signature', token: (c) => tamperSignature(c.driver.accessToken), expect: { refused: 'invalid_token' } },
  { name: 'alg "none" with an empty signature', token: (c) => algNone(c.driver.accessToken), expect: { refused: 'invalid_token' } },
  {
    name: 'alg "None" keeping the original signature',
    token: (c) => algNone(c.driver.accessToken, { alg: 'None', signature: c.driver.accessToken.split('.')[2] }),
    expect: { refused: 'invalid_token' },
  },
  { name: 'HS512 with the server key', key: true, token: (c) => sign(c.claims, c.key, { alg: 'HS512' }), expect: { refused: 'invalid_token' } },
  { name: 'HS384 with the server key', key: true, token: (c) => sign(c.claims, c.key, { alg: 'HS384' }), expect: { refused: 'invalid_token' } },
  {
    name: 'an RS256 header over an HMAC made with the HS secret (algorithm confusion)',
    key: true,
    token: (c) => sign(c.claims, c.key, { header: { alg: 'RS256' } }),
    expect: { refused: 'invalid_token' },
  },
  { name: 'RS256 signed with a key pair of our own', token: (c) => signRs256(c.claims), expect: { refused: 'invalid_token' } },
  { name: 'access claims signed with the refresh key', key: true, token: (c) => sign(c.claims, c.refreshKey), expect: { refused: 'invalid_token' } },
  { name: 'wrong issuer', key: true, token: (c) => sign({ ...c.claims, iss: 'someone-else' }, c.key), expect: { refused: 'invalid_token' } },
  { name: 'no issuer', key: true, token: (c) => sign({ ...c.claims, iss: undefined }, c.key), expect: { refused: 'invalid_token' } },
  { name: 'expired an hour ago', key: true, token: (c) => sign({ ...c.claims, iat: now() - 7200, exp: now() - 3600 }, c.key), expect: { refused: 'token_expired' } },
  { name: 'exp as a string', key: true, token: (c) => sign({ ...c.claims, exp: String(now() + 600) }, c.key), expect: { refused: 'invalid_token' } },
  { name: 'no exp', key: true, token: (c) => sign({ ...c.claims, exp: undefined }, c.key), expect: { refused: 'invalid_token' } },
  { name: 'not yet valid: nbf an hour ahead', key: true, token: (c) => sign({ ...c.claims, nbf: now() + 3600 }, c.key), expect: { refused: 'invalid_token' } },
  // 3. the kind of token — invalid_token
  { name: 'a genuine refresh token', token: (c) => c.driver.refreshToken, expect: { refused: 'invalid_token' } },
  { name: 'access claims saying typ "refresh"', key: true, token: (c) => sign({ ...c.claims, typ: 'refresh' }, c.key), expect: { refused: 'invalid_token' } },
  { name: 'sub that is not a UUID', key: true, token: (c) => sign({ ...c.claims, sub: 'driver1' }, c.key), expect: { refused: 'invalid_token' } },
  // 4. the user — user_not_found (user_inactive: the PostgreSQL suite below)
  { name: 'a deleted user (sub of nobody)', key: true, token: (c) => sign({ ...c.claims, sub: NOBODY }, c.key), expect: { refused: 'user_not_found' } },
  // 5. the namespace — forbidden_namespace
  ...WRONG_NAMESPACES.map(([who, ns]) => ({
    name: `a genuine ${who} token on ${ns}`,
    ns,
    token: (c) => c[who].accessToken,
    expect: { refused: 'forbidden_namespace' },
  })),
  {
    name: 'a driver whose claims say admin (the stored user type decides)',
    ns: '/admin',
    key: true,
    token: (c) => sign({ ...c.claims, userType: 'admin', aud: 'admin_panel' }, c.key),
    expect: { refused: 'forbidden_namespace' },
  },
  // 6. the session — session_revoked (session_expired: handshake.test.mjs, JWT_ACCESS_TTL=2s)
  { name: 'a logged-out session', token: (c) => c.revoked.accessToken, expect: { refused: 'session_revoked' } },
  { name: 'a session of nobody', key: true, token: (c) => sign({ ...c.claims, sid: NOBODY }, c.key), expect: { refused: 'session_revoked' } },
  { name: 'a session of another user', key: true, token: (c) => sign({ ...c.claims, sid: c.passenger.sessionId }, c.key), expect: { refused: 'session_revoked' } },
  // Oversized.
  {
    name: 'oversized: 9 KiB, validly signed (over the 8 KiB token limit)',
    key: true,
    token: (c) => sign({ ...c.claims, pad: 'x'.repeat(9 * KIB) }, c.key),
    expect: { refused: 'invalid_token' },
  },
  // Over the 10 KiB bound of the handshake auth, within the packet limit: refused before any
  // token check.
  { name: 'oversized: 60 KB of garbage', token: () => 'x'.repeat(60_000), expect: { refused: 'invalid_token' } },
  // Over the engine's maxPayload (64 KiB, announced in the open packet): the transport drops
  // the handshake before the middleware runs, so there is no code to send.
  { name: 'oversized: 100 KB, over the engine maxPayload', token: () => 'x'.repeat(100 * KIB), expect: { dropped: 'transport close' } },
  {
    name: 'oversized: a 100 KB Authorization header',
    opts: () => ({ extraHeaders: { Authorization: `Bearer ${'x'.repeat(100 * KIB)}` } }),
    expect: { refused: 'invalid_token' },
  },
];

describe('hostile handshake tokens', () => {
  let server;
  let canary;
  let victim;
  const ctx = {};
  before(async () => {
    server = await startServer();
    canary = await startCanary(server);
    ctx.driver = await server.login('driver1@rodando.local');
    ctx.passenger = await server.login('passenger1@rodando.local');
    ctx.admin = await server.login('admin@rodando.local');
    ctx.revoked = await server.login('driver1@rodando.local');
    assert.equal(await server.logout(ctx.revoked.accessToken), 204);
    ctx.claims = decode(ctx.driver.accessToken)[1];
    ctx.key = server.accessSecret;
    ctx.refreshKey = server.refreshSecret;
    // The user whose tokens are forged stays connected with its genuine one throughout.
    victim = await server.connect('/drivers', ctx.driver.accessToken);
  });
  after(async () => {
    await server?.close();
  });

  test('at least 15 kinds of crafted token are tried', () => {
    assert.ok(CASES.length >= 15, `${CASES.length} cases`);
  });

  describe('each is turned away with its code and never admitted', { concurrency: 6 }, () => {
    for (const c of CASES) {
      const outcome = c.expect.refused ?? `dropped (${c.expect.dropped})`;
      test(`${c.name} → ${outcome}`, { todo: c.todo }, async (t) => {
        if (c.key && !(ctx.key && ctx.refreshKey)) {
          t.skip('needs the server keys: a spawned server, or JWT_ACCESS_SECRET and JWT_REFRESH_SECRET with SERVER_URL');
          return;
        }
        const token = c.token ? c.token(ctx) : undefined;
        const opts = c.opts ? c.opts(ctx) : {};
        assert.deepEqual(await server.turnedAway(c.ns ?? '/drivers', token, opts), c.expect);
        assert.equal(victim.connected, true, 'the genuine socket of the same user is still connected');
      });
    }
  });

  test('a validly signed token just under 8 KiB is admitted: the 9 KiB refusal is the size limit', async (t) => {
    if (!ctx.key) {
      t.skip('needs the server access key');
      return;
    }
    const padded = sign({ ...ctx.claims, pad: 'x'.repeat(5500) }, ctx.key);
    assert.ok(padded.length > 7 * KIB && padded.length < 8 * KIB, `${padded.length} bytes`);
    const socket = await server.connect('/drivers', padded);
    assert.equal(socket.hello.sessionId, ctx.driver.sessionId);
    socket.close();
  });

  test('through all of it the genuine socket and a healthy client of someone else were served', async (t) => {
    const reply = await emitWithAck(victim, 'driver:status:update', { availabilityStatus: 'BUSY' });
    assert.equal(reply?.ok, true, JSON.stringify(reply));
    const stats = await canary.stop();
    t.diagnostic(`healthy client: ${stats.rounds} round trips, slowest ${stats.maxMs} ms`);
    assert.ok(stats.maxMs < 3000, `slowest healthy round trip ${stats.maxMs} ms`);
  });
});

// The embedded store has no banned users: PostgreSQL does (user status is a column), so this
// runs a server on a scratch database seeded by the operator CLI, and bans through SQL.
describe('banned and inactive users (PostgreSQL)', () => {
  let db;
  let server;
  let canary;
  before(async () => {
    if (process.env.SERVER_URL) return;
    db = await scratchDatabase();
    server = await startServer({ env: { DATABASE_URL: db.url } });
    canary = await startCanary(server);
  });
  after(async () => {
    await server?.close();
    await db?.drop();
  });

  for (const status of ['banned', 'inactive']) {
    test(`a ${status} user's genuine token → user_inactive, and the login too`, async (t) => {
      if (!server) {
        t.skip('needs a spawned server on a scratch PostgreSQL database (SERVER_URL is set)');
        return;
      }
      const email = status === 'banned' ? 'passenger2@rodando.local' : 'driver2@rodando.local';
      const ns = status === 'banned' ? '/passengers' : '/drivers';
      const login = await server.login(email);
      (await server.connect(ns, login.accessToken)).close(); // the token works before
      const id = await psql(db.url, `UPDATE users SET status = '${status}' WHERE email = '${email}' RETURNING id`);
      assert.equal(id, login.user.id);
      assert.deepEqual(await server.turnedAway(ns, login.accessToken), { refused: 'user_inactive' });
      const again = await server.tryLogin(email);
      assert.equal(again.status, 403);
      assert.equal(again.body?.error?.code, 'user_inactive');
    });
  }

  test('the healthy client was served throughout', async (t) => {
    if (!server) {
      t.skip('needs a spawned server (SERVER_URL is set)');
      return;
    }
    const stats = await canary.stop();
    t.diagnostic(`healthy client: ${stats.rounds} round trips, slowest ${stats.maxMs} ms`);
  });
});
