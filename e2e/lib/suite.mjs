// Suite plumbing for the node:test files: one server per `describe`, and the acked emit that
// insists on `{ok:true}`. Kept out of server.mjs so the scripts that import it do not load
// node:test.

import assert from 'node:assert/strict';
import { after, afterEach, before, beforeEach } from 'node:test';

import { WAIT_MS, emitWithAck, startServer } from './server.mjs';

/**
 * Starts one server before the enclosing `describe` and closes it after (with `{ each: true }`,
 * a fresh one before every test): the same six lines stood in most suites. Returns a stand-in
 * that forwards to the started `Server` (so tests keep writing `server.url`,
 * `server.connected(...)`); touching it before the hook ran throws, saying so.
 *
 * @param {object} [options] as for `startServer`
 * @param {object} [hooks]
 * @param {boolean} [hooks.each] a server per test (beforeEach/afterEach) instead of per suite
 * @returns {import('./server.mjs').Server}
 */
export function suiteServer(options, { each = false } = {}) {
  let server;
  (each ? beforeEach : before)(async () => {
    server = await startServer(options);
  });
  (each ? afterEach : after)(async () => {
    await server?.close();
    server = undefined;
  });
  return new Proxy(
    {},
    {
      get(_, key) {
        if (!server) throw new Error(`suiteServer: server.${String(key)} read before the suite's before() started it`);
        const value = server[key];
        return typeof value === 'function' ? value.bind(server) : value;
      },
    },
  );
}

/**
 * Skips `t` when `server` is one the suite did not spawn (SERVER_URL is set), saying `why`: a
 * test that sets the server's configuration or its clock cannot run against someone else's.
 * True when skipped, for `if (skipUnlessSpawned(t, server)) return;`.
 */
export function skipUnlessSpawned(t, server, why = 'needs a spawned server (SERVER_URL is set)') {
  if (!server.external) return false;
  t.skip(why);
  return true;
}

/**
 * Emits `event` with an ack and asserts the reply is `{ok:true}`, naming the event, the payload
 * and the reply when it is not; returns the reply's `data`.
 */
export async function expectOk(socket, event, payload, timeoutMs = WAIT_MS) {
  const reply = await emitWithAck(socket, event, payload, timeoutMs);
  assert.equal(reply?.ok, true, `${event} ${JSON.stringify(payload)} → ${JSON.stringify(reply)}`);
  return reply.data;
}
