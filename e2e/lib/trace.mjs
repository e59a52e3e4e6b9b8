// What the ws:test:* scripts print: one line per thing seen, with a timestamp and who saw it,
// so a person running the driver script beside the admin script can match the lines by eye.
//
//   12:03:04.511 driver3 → driver:location:ping {"latitude":23.1136,"longitude":-82.3666}
//   12:03:04.514 driver3 ⇐ ack driver:location:ping {"ok":true,"data":{...}}
//   12:03:04.515 driver3 ← driver:location:update {"driverId":"…",...}

/** Longest payload text printed on one line; the rest is elided (a 1 MB payload is not useful). */
const MAX_PAYLOAD_CHARS = 2000;

/**
 * A printer of timestamped lines. `print` receives each finished line (console.log by hand; an
 * array's push in tests, which then check that every event and ack was printed).
 */
export class Tracer {
  constructor(print = (line) => console.log(line)) {
    this.print = print;
  }

  /** A free-text line: what the script is about to do, or a summary. */
  note(who, text) {
    this.#line(who, '·', text);
  }

  /** An event the script sends. */
  emit(who, event, payload) {
    this.#line(who, '→', event, payload);
  }

  /** The ack of an event the script sent. */
  ack(who, event, reply) {
    this.#line(who, '⇐', `ack ${event}`, reply);
  }

  /** An event received by a socket. */
  event(who, event, payload) {
    this.#line(who, '←', event, payload);
  }

  /** A REST call and its answer. */
  rest(who, what, status, body) {
    this.#line(who, '⇄', `${what} ${status}`, body);
  }

  #line(who, arrow, what, payload) {
    const text = payload === undefined ? '' : ` ${shorten(payload)}`;
    this.print(`${clock()} ${who} ${arrow} ${what}${text}`);
  }
}

/** `HH:MM:SS.mmm` of the local time: enough to line up two terminals. */
function clock() {
  const now = new Date();
  const pad = (n, width = 2) => String(n).padStart(width, '0');
  return `${pad(now.getHours())}:${pad(now.getMinutes())}:${pad(now.getSeconds())}.${pad(now.getMilliseconds(), 3)}`;
}

function shorten(payload) {
  let text;
  try {
    text = Buffer.isBuffer(payload) ? `<${payload.length} binary bytes>` : JSON.stringify(payload);
  } catch {
    text = String(payload);
  }
  if (text === undefined) return 'undefined';
  return text.length > MAX_PAYLOAD_CHARS ? `${text.slice(0, MAX_PAYLOAD_CHARS)}… (${text.length} chars)` : text;
}

/**
 * Prints every event `socket` receives, as `who`, until the socket is closed; also its
 * disconnection and connection errors. Returns the socket.
 */
export function traceSocket(socket, who, tracer) {
  socket.onAny((event, ...args) => tracer.event(who, event, args.length > 1 ? args : args[0]));
  socket.on('connect_error', (err) => tracer.note(who, `connect_error ${err.message}`));
  socket.on('disconnect', (reason) => tracer.note(who, `disconnected (${reason})`));
  return socket;
}
