// A raw engine.io v4 / socket.io v5 client over one WebSocket, for frames the official client
// never sends: numbers JSON.stringify cannot write (1e309), malformed packets, stray acks,
// binary frames nobody announced, frames over the announced maxPayload.
//
// Text frames are engine.io packets: `0{…}` open, `2`/`3` ping/pong, `4…` a socket.io packet:
// `0/ns,{auth}` connect, `2/ns,<id>["event",payload]` event, `3/ns,<id>[…]` ack, `4/ns,{…}`
// connect error. See https://socket.io/docs/v4/socket-io-protocol/.

import WebSocket from 'ws';

import { WAIT_MS } from './server.mjs';

/** One raw connection. Every frame received is kept in `frames` (text, or a Buffer). */
export class RawSocket {
  /**
   * Opens the WebSocket transport and waits for the engine.io open packet (`handshake` then
   * holds its JSON: sid, pingInterval, maxPayload…). Answers the server's pings.
   */
  static async open(server, { headers = {} } = {}) {
    const url = `${server.url.replace(/^http/, 'ws')}/socket.io/?EIO=4&transport=websocket`;
    const raw = new RawSocket(new WebSocket(url, { headers, maxPayload: 64 * 1024 * 1024 }));
    const open = await raw.next((f) => typeof f === 'string' && f.startsWith('0{'));
    raw.handshake = JSON.parse(open.slice(1));
    return raw;
  }

  constructor(ws) {
    this.ws = ws;
    this.frames = [];
    this.waiters = new Set();
    this.closedWith = null;
    this.closed = new Promise((ok) => {
      ws.on('close', (code, reason) => {
        this.closedWith = { code, reason: reason.toString() };
        ok(this.closedWith);
        for (const w of this.waiters) w.fail(new Error(`closed (${code}) while waiting for ${w.what}`));
      });
    });
    ws.on('error', () => {}); // a refused or reset connection shows as `close`
    ws.on('message', (data, isBinary) => {
      const frame = isBinary ? data : data.toString();
      if (frame === '2') {
        ws.send('3');
        return;
      }
      this.frames.push(frame);
      for (const w of this.waiters) {
        if (w.match(frame)) {
          this.waiters.delete(w);
          w.ok(frame);
        }
      }
    });
  }

  /** Sends one frame as is (a string is a text frame, a Buffer a binary one). */
  send(frame) {
    this.ws.send(frame);
  }

  /** Resolves with the first frame (already received or coming) that `match` accepts. */
  next(match, ms = WAIT_MS, what = 'a frame') {
    const seen = this.frames.find((f) => match(f));
    if (seen !== undefined) return Promise.resolve(seen);
    if (this.closedWith) return Promise.reject(new Error(`closed (${this.closedWith.code}) before ${what}`));
    return new Promise((ok, fail) => {
      const waiter = {
        what,
        match,
        ok: (f) => {
          clearTimeout(timer);
          ok(f);
        },
        fail: (e) => {
          clearTimeout(timer);
          fail(e);
        },
      };
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        fail(new Error(`no ${what} within ${ms} ms; received: ${this.frames.map(preview).join(' | ')}`));
      }, ms);
      this.waiters.add(waiter);
    });
  }

  /**
   * Connects namespace `ns` with `auth`; resolves `{connected: sid}` or `{refused: message}`.
   */
  async connect(ns, auth) {
    this.send(`40${ns},${JSON.stringify(auth)}`);
    const frame = await this.next((f) => typeof f === 'string' && (f.startsWith(`40${ns},`) || f.startsWith(`44${ns},`)), WAIT_MS, `the answer to CONNECT ${ns}`);
    const body = JSON.parse(frame.slice(`40${ns},`.length));
    return frame.startsWith('40') ? { connected: body.sid } : { refused: body.message };
  }

  /** Connects to `ns` with `token` and waits for its hello; rejects if refused. */
  async admitted(ns, token) {
    const answer = await this.connect(ns, { token });
    if (!answer.connected) throw new Error(`${ns} refused: ${answer.refused}`);
    const hello = await this.event(ns, 'hello');
    return hello;
  }

  /**
   * Sends an EVENT packet whose argument list is `argsText` verbatim (for example
   * `["driver:location:ping",{"latitude":1e309}]`), asking for ack `id`.
   */
  emitRaw(ns, id, argsText) {
    this.send(`42${ns},${id}${argsText}`);
  }

  /** Resolves with the first argument of ack `id` on `ns`. */
  async ack(ns, id, ms = WAIT_MS) {
    const prefix = `43${ns},${id}[`;
    const frame = await this.next((f) => typeof f === 'string' && f.startsWith(prefix), ms, `ack ${id} on ${ns}`);
    return JSON.parse(frame.slice(prefix.length - 1))[0];
  }

  /** Resolves with the payload of the first `event` received on `ns`. */
  async event(ns, event, ms = WAIT_MS) {
    const prefix = `42${ns},[${JSON.stringify(event)},`;
    const frame = await this.next((f) => typeof f === 'string' && f.startsWith(prefix), ms, `event ${event} on ${ns}`);
    return JSON.parse(frame.slice(`42${ns},`.length))[1];
  }

  /** Resolves with `{code, reason}` once the server closed the connection; rejects after `ms`. */
  async expectClosed(ms = WAIT_MS) {
    let timer;
    const timeout = new Promise((_, fail) => {
      timer = setTimeout(() => fail(new Error(`still open after ${ms} ms; received: ${this.frames.map(preview).join(' | ')}`)), ms);
    });
    try {
      return await Promise.race([this.closed, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Closes from this side (idempotent). */
  close() {
    if (!this.closedWith) this.ws.terminate();
  }
}

function preview(frame) {
  if (typeof frame !== 'string') return `<${frame.length} binary bytes>`;
  return frame.length > 120 ? `${frame.slice(0, 120)}…(${frame.length})` : frame;
}
