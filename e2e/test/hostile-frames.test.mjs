// Hostile frames below the official client (PROTOCOL §5, issue 8 item 2): raw engine.io and
// socket.io packets over a bare WebSocket, and raw HTTP long-polling requests. A frame the
// server can read is answered with its documented code; a frame it cannot parse costs the
// offender its own connection. Either way nobody else is touched: a genuine socket of the same
// user and a healthy client of someone else are served throughout, and the server stays up.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { connect as tcpConnect } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';

import { startCanary } from '../lib/canary.mjs';
import { RawSocket } from '../lib/engineio.mjs';
import { assertErrorAck } from '../lib/payloads.mjs';
import { emitWithAck, startServer } from '../lib/server.mjs';

const NS = '/drivers';
const PING = (lat = 23.1) => `["driver:location:ping",{"latitude":${lat},"longitude":-82.3}]`;
/** engine.io's packet limit (`maxPayload`), also the WebSocket frame and message limit. */
const MAX_PAYLOAD = 64 * 1024;

/** Frames the server reads and answers: [label, frames(after hello), ack id, code]. */
const ANSWERED = [
  ['a number that overflows f64 (1e309)', [`42${NS},1["driver:location:ping",{"latitude":1e309,"longitude":1}]`], 1, 'validation_failed'],
  ['JSON nested 30 000 deep (60 KB, under maxPayload)', [`42${NS},2["driver:location:ping",${'['.repeat(30_000)}${']'.repeat(30_000)}]`], 2, 'validation_failed'],
  ['a 60 KB string, just under maxPayload', [`42${NS},11["driver:location:ping",{"latitude":"${'x'.repeat(60_000)}","longitude":1}]`], 11, 'validation_failed'],
  ['a lone UTF-16 surrogate in a string', [`42${NS},3["driver:status:update",{"availabilityStatus":"\\ud800"}]`], 3, 'validation_failed'],
  ['an event with no payload argument', [`42${NS},4["driver:location:ping"]`], 4, 'validation_failed'],
  ['a binary event with its attachment', [`451-${NS},5["driver:location:ping",{"_placeholder":true,"num":0}]`, Buffer.from([1, 2, 3])], 5, 'validation_failed'],
  [
    'a placeholder pointing past the attachments',
    [`451-${NS},6["driver:location:ping",{"_placeholder":true,"num":7}]`, Buffer.from([1])],
    6,
    'validation_failed',
  ],
  ['the reserved name "connect"', [`42${NS},7["connect",{}]`], 7, 'unknown_event'],
  ['the reserved name "disconnect"', [`42${NS},8["disconnect",{}]`], 8, 'unknown_event'],
  ['the reserved name "disconnecting"', [`42${NS},9["disconnecting",{}]`], 9, 'unknown_event'],
  ['an event with three extra arguments', [`42${NS},10["driver:trip:set",{"tripId":42},{"x":1},[3],"y"]`], 10, 'validation_failed'],
];

/** Frames the server cannot parse or must not accept: the offender's connection is closed. */
const CLOSING = [
  ['malformed JSON', [`42${NS},1["driver:location:ping",{`]],
  ['a literal NaN in JSON', [`42${NS},1["driver:location:ping",{"latitude":NaN,"longitude":1}]`]],
  ['a literal Infinity in JSON', [`42${NS},1["driver:location:ping",{"latitude":Infinity,"longitude":1}]`]],
  ['an event name that is a number', [`42${NS},1[123,{}]`]],
  ['an empty argument list', [`42${NS},1[]`]],
  ['an object instead of the argument list', [`42${NS},1{"event":"driver:location:ping"}`]],
  ['an event to a namespace it never joined', [`42/passengers,1["trip:request",{}]`]],
  ['an unknown engine.io packet type', ['9']],
  ['an unknown socket.io packet type', ['49']],
  ['an empty socket.io packet', ['4']],
  ['a binary frame nobody announced', [Buffer.from([0xde, 0xad, 0xbe, 0xef])]],
  ['a binary event announcing 10^12 attachments', [`451000000000000-${NS},1${PING()}`]],
  ['a text packet where an attachment is due', [`451-${NS},1["driver:location:ping",{"_placeholder":true,"num":0}]`, `42${NS},2${PING()}`]],
  ['a frame over the announced maxPayload (70 KB)', [`42${NS},1["driver:location:ping",{"latitude":"${'x'.repeat(70_000)}"}]`]],
];

/**
 * Opens the WebSocket transport by hand over TCP (no token, nothing authenticated), waits for
 * the engine.io open packet, then writes the header of one masked text frame declaring
 * `declared` bytes followed by 64 KiB of it (what a server that buffers the frame would keep),
 * and never the rest. Resolves `{ms}`: how long after
 * the header the server closed the TCP connection; rejects if it has not within `limitMs`.
 */
function declareFrame(server, declared, limitMs = 5000) {
  const { hostname, port } = new URL(server.url);
  return new Promise((ok, fail) => {
    const tcp = tcpConnect({ host: hostname, port: Number(port) });
    let received = Buffer.alloc(0);
    let sentAt = null;
    const expire = (why, ms) =>
      setTimeout(() => {
        tcp.destroy();
        fail(new Error(why));
      }, ms);
    let timer = expire(`no open packet within ${limitMs} ms`, limitMs);
    tcp.on('error', () => {}); // a reset shows as close
    tcp.on('connect', () => {
      tcp.write(
        `GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: ${hostname}:${port}\r\n` +
          `Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\n` +
          'Sec-WebSocket-Version: 13\r\n\r\n',
      );
    });
    tcp.on('data', (chunk) => {
      received = Buffer.concat([received, chunk]);
      if (sentAt !== null) return;
      const text = received.toString('latin1');
      if (!text.startsWith('HTTP/1.1 101')) {
        if (text.includes('\r\n\r\n')) fail(new Error(`upgrade refused: ${text.split('\r\n')[0]}`));
        return;
      }
      if (!text.includes('0{"sid"')) return; // the open packet, in the first server frame
      const header = Buffer.alloc(14);
      header[0] = 0x81; // FIN, text
      header[1] = 0x80 | 127; // masked, 64-bit length follows
      header.writeBigUInt64BE(BigInt(declared), 2);
      randomBytes(4).copy(header, 10);
      sentAt = performance.now();
      clearTimeout(timer);
      timer = expire(`still open ${limitMs} ms after a frame header declaring ${declared} bytes`, limitMs);
      tcp.write(Buffer.concat([header, randomBytes(64 * 1024)]));
    });
    tcp.on('close', () => {
      clearTimeout(timer);
      if (sentAt === null) fail(new Error('closed before the open packet'));
      else ok({ ms: Math.round(performance.now() - sentAt) });
    });
  });
}

/** Resident memory of a process in bytes, from /proc/<pid>/status. */
function rssOf(pid) {
  const kb = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  assert.ok(kb, `VmRSS of ${pid}`);
  return Number(kb[1]) * 1024;
}

describe('hostile frames', { skip: process.env.SERVER_URL ? 'needs a spawned server with MAX_CONNECTIONS_PER_USER lifted (SERVER_URL is set)' : false }, () => {
  let server;
  let canary;
  let victim;
  let login;
  before(async () => {
    // Every case opens a connection of the same user: the per-user limit is tested elsewhere.
    server = await startServer({ env: { MAX_CONNECTIONS_PER_USER: '1000' } });
    canary = await startCanary(server);
    login = await server.login('driver1@rodando.local');
    victim = await server.connect(NS, login.accessToken);
  });
  after(async () => {
    await server?.close();
  });

  /** A raw connection of driver1, admitted on /drivers. */
  async function admitted() {
    const raw = await RawSocket.open(server);
    const hello = await raw.admitted(NS, login.accessToken);
    assert.equal(hello.userId, login.user.id);
    return raw;
  }

  /** The genuine socket of the same user and the canary are fine. */
  async function othersUnharmed(what) {
    assert.equal(victim.connected, true, `${what}: the genuine socket of the same user is connected`);
    assert.deepEqual(canary.problems(), [], `${what}: the healthy client is served`);
  }

  test('the open packet announces the limits the server enforces', async () => {
    const raw = await RawSocket.open(server);
    assert.equal(raw.handshake.maxPayload, MAX_PAYLOAD);
    assert.deepEqual(raw.handshake.upgrades, []);
    raw.close();
  });

  for (const [label, frames, id, code] of ANSWERED) {
    test(`${label} → ${code}, and the connection stays`, async () => {
      const raw = await admitted();
      try {
        for (const frame of frames) raw.send(frame);
        assertErrorAck(await raw.ack(NS, id), code, label);
        const exception = await raw.event(NS, 'exception');
        assert.equal(exception.code, code, `${label}: exception`);
        // Still served on the same connection.
        raw.emitRaw(NS, 99, PING());
        assert.equal((await raw.ack(NS, 99)).ok, true, `${label}: a valid ping after it`);
      } finally {
        raw.close();
      }
      await othersUnharmed(label);
    });
  }

  for (const [label, frames] of CLOSING) {
    test(`${label} → the offender's connection is closed, nobody else's`, async () => {
      const raw = await admitted();
      for (const frame of frames) raw.send(frame);
      await raw.expectClosed();
      assert.equal(raw.frames.some((f) => typeof f === 'string' && f.startsWith(`43${NS},`)), false, `${label}: never acked`);
      await othersUnharmed(label);
    });
  }

  test('a stray ack, a second CONNECT with a bad token, and a CONNECT to an unknown namespace are shrugged off', async () => {
    const raw = await admitted();
    try {
      raw.send(`43${NS},777[{"ok":true}]`);
      raw.send(`40${NS},{"token":"garbage"}`);
      assert.deepEqual(await raw.connect('/nope', { token: login.accessToken }), { refused: 'Invalid namespace' });
      raw.emitRaw(NS, 5, PING(23.2));
      assert.equal((await raw.ack(NS, 5)).ok, true, 'the /drivers connection still works');
    } finally {
      raw.close();
    }
    await othersUnharmed('stray packets');
  });

  test('an event for a namespace the socket has left is never handled', async () => {
    const raw = await admitted();
    raw.send(`41${NS},`);
    await new Promise((ok) => setTimeout(ok, 200));
    raw.emitRaw(NS, 1, PING());
    await raw.expectClosed();
    assert.equal(raw.frames.some((f) => typeof f === 'string' && f.startsWith(`43${NS},`)), false, 'never acked');
    await othersUnharmed('event after leaving');
  });

  test('a frame header declaring 15 MB closes the connection at once, before anything is read or authenticated', async (t) => {
    const { ms } = await declareFrame(server, 15_000_000);
    t.diagnostic(`closed ${ms} ms after the header`);
    assert.ok(ms < 2000, `closed after ${ms} ms`);
    // Just over the limit is refused the same way: the limit is the packet limit.
    await declareFrame(server, MAX_PAYLOAD + 1);
    await othersUnharmed('a 15 MB frame header');
  });

  test('200 connections declaring 15 MB frames do not grow the server by more than a few MB', { skip: process.platform !== 'linux' ? 'reads /proc' : false }, async (t) => {
    const pid = server.proc.child.pid;
    // Warm up the allocator and the accept path, then measure.
    await Promise.all(Array.from({ length: 20 }, () => declareFrame(server, 15_000_000, 10_000)));
    const before = rssOf(pid);
    const closed = await Promise.all(Array.from({ length: 200 }, () => declareFrame(server, 15_000_000, 10_000)));
    const after = rssOf(pid);
    const slowest = Math.max(...closed.map((c) => c.ms));
    const grown = after - before;
    t.diagnostic(`RSS ${(before / 2 ** 20).toFixed(1)} MB before, ${(after / 2 ** 20).toFixed(1)} MB after 200 x 15 MB headers (+${(grown / 2 ** 20).toFixed(2)} MB); slowest close ${slowest} ms`);
    // Measured +3.3 MB (the 200 connections' own transient state). A server buffering what
    // each one sent after its header (64 KiB) would keep 12.5 MB.
    assert.ok(grown < 6 * 2 ** 20, `RSS grew by ${grown} bytes`);
    await othersUnharmed('200 frame headers of 15 MB');
  });

  describe('HTTP long-polling requests', () => {
    /**
     * fetch, retried once when it fails before any answer: after the 413 the server closes that
     * connection without reading the rest of the body, and Node's fetch may pick the closed
     * connection from its keep-alive pool for the next request ('fetch failed', other side
     * closed). That is the client's pool, not the server refusing anything.
     */
    const request = async (url, init = {}) => {
      const attempt = () => fetch(url, { ...init, signal: AbortSignal.timeout(3000) });
      try {
        return await attempt();
      } catch (e) {
        if (e?.message !== 'fetch failed') throw e;
        return attempt();
      }
    };
    const get = (query) => request(`${server.url}/socket.io/?${query}`);
    const post = async (url, body) => {
      const res = await request(url, { method: 'POST', body });
      await res.arrayBuffer();
      return res;
    };

    test('a wrong protocol version, transport or session id gets the engine.io error code', async () => {
      for (const [query, code, message] of [
        ['EIO=3&transport=polling', 5, 'Unsupported protocol version'],
        ['EIO=banana&transport=polling', 5, 'Unsupported protocol version'],
        ['EIO=4&transport=carrier-pigeon', 0, 'Transport unknown'],
        ['EIO=4&transport=polling&sid=not-a-session', 1, 'Session ID unknown'],
      ]) {
        const res = await get(query);
        assert.equal(res.status, 400, query);
        assert.deepEqual(await res.json(), { code: String(code), message }, query);
      }
    });

    test('a POST over maxPayload gets 413 and ends that session only', async () => {
      const open = await (await get('EIO=4&transport=polling')).text();
      const { sid } = JSON.parse(open.slice(1));
      const url = `${server.url}/socket.io/?EIO=4&transport=polling&sid=${sid}`;
      const connect = await request(url, { method: 'POST', body: `40${NS},${JSON.stringify({ token: login.accessToken })}` });
      assert.equal(connect.status, 200);
      // The connect ack and hello may come in separate polls: hello follows the store's record
      // of the connection, a round trip later over PostgreSQL.
      let polled = '';
      for (let i = 0; i < 5 && !/"hello"/.test(polled); i++) polled += await (await request(url)).text();
      assert.match(polled, /"hello"/);
      const big = await request(url, { method: 'POST', body: 'x'.repeat(MAX_PAYLOAD + 1) });
      assert.equal(big.status, 413);
      const after = await request(url);
      assert.equal(after.status, 400, 'the session is gone');
      await othersUnharmed('oversized POST');
    });

    test('garbage POSTed to a polling session gets 400 and ends that session only', async () => {
      for (const body of ['9garbage', '\u001e\u001e9garbage\u001e', '4{"unterminated']) {
        const open = await (await get('EIO=4&transport=polling')).text();
        const { sid } = JSON.parse(open.slice(1));
        const url = `${server.url}/socket.io/?EIO=4&transport=polling&sid=${sid}`;
        const res = await post(url, body);
        // An engine.io frame is accepted (200) before the Socket.IO layer reads it and ends the
        // session, asynchronously: give that a moment on a busy machine.
        let next = await post(url, '');
        for (let i = 0; i < 40 && next.status !== 400; i++) {
          await sleep(50);
          next = await post(url, '');
        }
        assert.deepEqual([res.status, next.status], [body.startsWith('4') ? 200 : 400, 400], `${JSON.stringify(body)}: refused, then the session is gone`);
      }
      await othersUnharmed('polling garbage');
    });
  });

  test('through all of it the genuine socket and the healthy client were served', async (t) => {
    const reply = await emitWithAck(victim, 'driver:location:ping', { latitude: 23.3, longitude: -82.3 });
    assert.equal(reply?.ok, true, JSON.stringify(reply));
    const stats = await canary.stop();
    t.diagnostic(`healthy client: ${stats.rounds} round trips, slowest ${stats.maxMs} ms`);
  });
});
