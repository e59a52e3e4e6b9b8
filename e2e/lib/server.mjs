// The server under test and the small vocabulary the end-to-end tests are written in.
//
// `startServer()` uses the server at env SERVER_URL when it is set; otherwise it spawns the
// rodando-server binary (env RODANDO_SERVER_BIN, default ../target/debug/rodando-server relative
// to this e2e folder) on a free port of 127.0.0.1, waits for GET /health and kills it on `close()`.

import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { io } from 'socket.io-client';

import { freePort } from './free-port.mjs';

const E2E_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** How long a test waits for something that should happen at once. */
export const WAIT_MS = 3000;
/** How long a test watches for something that must not happen. */
export const QUIET_MS = 300;
/** Password of every demo user. */
export const DEMO_PASSWORD = 'rodando123';

const HEALTH_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 5_000;

/** Every child still running, killed if this process exits without closing them. */
const children = new Set();
process.on('exit', () => {
  for (const child of children) child.kill('SIGKILL');
});

/** Path of the server binary that would be spawned. */
export function serverBinary() {
  return resolve(E2E_DIR, process.env.RODANDO_SERVER_BIN ?? '../target/debug/rodando-server');
}

export { freePort } from './free-port.mjs';

/**
 * Starts (or, with SERVER_URL, reuses) a server.
 *
 * @param {object} [options]
 * @param {Record<string,string>} [options.env] extra environment for a spawned server
 *   (for example `{MAX_CONNECTIONS_PER_USER: '2'}`). Ignored with SERVER_URL: tests needing a
 *   special configuration should skip when `server.external` is true.
 * @returns {Promise<Server>}
 */
export async function startServer({ env = {} } = {}) {
  if (process.env.SERVER_URL) return serverAt(process.env.SERVER_URL);
  const bin = serverBinary();
  if (!existsSync(bin)) {
    throw new Error(
      `rodando-server binary not found at ${bin}: build it with \`cargo build -p rodando-server\` ` +
        '(or set RODANDO_SERVER_BIN to the binary, or SERVER_URL to a running server)',
    );
  }
  // The PostgreSQL pass (lib/suite-postgres.mjs): a database of its own for this server, unless
  // the test names one (two nodes sharing a database, a scratch database it bans users in).
  let database = null;
  if (process.env.E2E_STORE === 'postgres' && !('DATABASE_URL' in env)) {
    const { cloneForServer } = await import('./postgres.mjs');
    database = await cloneForServer(env);
    env = { ...env, DATABASE_URL: database.url };
  }
  // Known, random keys: tests can then forge tokens that only the signature check would catch.
  const secrets = {
    JWT_ACCESS_SECRET: `e2e-access-${randomBytes(24).toString('hex')}`,
    JWT_REFRESH_SECRET: `e2e-refresh-${randomBytes(24).toString('hex')}`,
  };
  let lastError;
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const fullEnv = {
      ...process.env,
      RUST_LOG: process.env.RUST_LOG ?? 'warn',
      ...secrets,
      ...env,
      HOST: '127.0.0.1',
      PORT: String(port),
    };
    try {
      const server = await spawnServer(bin, port, fullEnv);
      server.proc.database = database;
      return server;
    } catch (e) {
      lastError = e;
      // Another process may have taken the port between freePort() and the bind: try another.
      if (!/address (already )?in use|AddrInUse/i.test(String(e.message))) {
        await database?.drop();
        throw e;
      }
    }
  }
  await database?.drop();
  throw lastError;
}

/**
 * Starts two nodes of one deployment: one database (`databaseUrl`), one Redis (`redisUrl`) with
 * a channel prefix of their own (so suites sharing the Redis do not hear each other), and shared
 * JWT secrets (every node verifies every node's tokens), plus `env` on top. The multi-node suites
 * all start this way.
 *
 * @param {object} nodes
 * @param {string} nodes.databaseUrl
 * @param {string} nodes.redisUrl
 * @param {string} nodes.label names the suite in the prefix and the secrets
 * @param {Record<string,string>} [nodes.env]
 * @returns {Promise<[Server, Server]>}
 */
export function startTwoNodes({ databaseUrl, redisUrl, label, env = {} }) {
  const shared = {
    DATABASE_URL: databaseUrl,
    REDIS_URL: redisUrl,
    REDIS_CHANNEL_PREFIX: `rodando-e2e-${label}-${randomBytes(6).toString('hex')}`,
    JWT_ACCESS_SECRET: `e2e-${label}-access-${randomBytes(16).toString('hex')}`,
    JWT_REFRESH_SECRET: `e2e-${label}-refresh-${randomBytes(16).toString('hex')}`,
    ...env,
  };
  return Promise.all([startServer({ env: shared }), startServer({ env: shared })]);
}

/**
 * A server that is already running at `url` (nothing is spawned or stopped). Its access key is
 * known only when JWT_ACCESS_SECRET is set.
 */
export function serverAt(url) {
  return new Server(url.replace(/\/+$/, ''), null, {
    accessSecret: process.env.JWT_ACCESS_SECRET ?? null,
    refreshSecret: process.env.JWT_REFRESH_SECRET ?? null,
  });
}

async function spawnServer(bin, port, env) {
  const child = spawn(bin, [], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  let output = '';
  const keep = (chunk) => {
    output = (output + chunk.toString()).slice(-8000);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  let exited = null;
  const exit = new Promise((ok) =>
    child.once('exit', (code, signal) => {
      exited = { code, signal };
      children.delete(child);
      ok(exited);
    }),
  );
  let spawnError = null;
  child.once('error', (e) => {
    spawnError = e;
  });

  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + HEALTH_TIMEOUT_MS;
  for (;;) {
    if (spawnError) throw new Error(`could not start ${bin}: ${spawnError.message}`);
    if (exited) {
      throw new Error(
        `rodando-server exited before it was healthy (code ${exited.code}, signal ${exited.signal}):\n${output}`,
      );
    }
    try {
      const res = await fetch(`${url}/health`, { signal: AbortSignal.timeout(1000) });
      if (res.status === 200) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`rodando-server on ${url} was not healthy within ${HEALTH_TIMEOUT_MS} ms:\n${output}`);
    }
    await sleep(50);
  }
  return new Server(
    url,
    { child, exit, output: () => output, env },
    { accessSecret: env.JWT_ACCESS_SECRET, refreshSecret: env.JWT_REFRESH_SECRET },
  );
}

/** A running server: its base URL and helpers bound to it. */
export class Server {
  constructor(url, proc, { accessSecret, refreshSecret = null }) {
    this.url = url;
    this.proc = proc;
    /** True when the server is SERVER_URL (not spawned here, so no custom env). */
    this.external = proc === null;
    /** HS256 access key when known (spawned server, or JWT_ACCESS_SECRET set with SERVER_URL). */
    this.accessSecret = accessSecret ?? null;
    /** HS256 refresh key when known (as `accessSecret`, with JWT_REFRESH_SECRET). */
    this.refreshSecret = refreshSecret ?? null;
    this.sockets = new Set();
    /** The store of a spawned server: `postgres` (DATABASE_URL set) or `memory`; null for SERVER_URL. */
    this.store = proc ? (proc.env?.DATABASE_URL ? 'postgres' : 'memory') : null;
  }

  /** Recent output of a spawned server (for failure messages). */
  output() {
    return this.proc ? this.proc.output() : '';
  }

  /** POSTs JSON; returns `{status, body}` (body null when empty or not JSON). */
  async post(path, body, headers = {}) {
    return this.request('POST', path, body, headers);
  }

  /** GETs `path`; returns `{status, body}` as `post`. */
  async get(path, headers = {}) {
    return this.request('GET', path, undefined, headers);
  }

  /** One REST call with an optional JSON body; returns `{status, body}`. */
  async request(method, path, body, headers = {}) {
    const res = await fetch(`${this.url}${path}`, {
      method,
      headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(WAIT_MS * 2),
    });
    const text = await res.text();
    let parsed = null;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      parsed = null;
    }
    return { status: res.status, body: parsed };
  }

  /**
   * `POST /api/auth/login` of `email` (the demo password and the app of its user type unless
   * given); returns `{status, body}`, whatever they are.
   */
  async tryLogin(email, { password = DEMO_PASSWORD, appAudience = audienceOf(email) } = {}) {
    return this.post('/api/auth/login', { email, password, appAudience });
  }

  /** Logs a demo user in with the app of its user type; returns the login body. */
  async login(email, options = {}) {
    const { status, body } = await this.tryLogin(email, options);
    if (status !== 200) throw new Error(`login of ${email} failed: ${status} ${JSON.stringify(body)}`);
    return body;
  }

  /** Logs a session out; returns the HTTP status (204 expected). */
  async logout(accessToken) {
    return (await this.post('/api/auth/logout', undefined, { authorization: `Bearer ${accessToken}` })).status;
  }

  /** A socket of this server, not connected-awaited; closed by `close()`. */
  socket(ns, token, opts = {}) {
    const socket = io(`${this.url}${ns}`, {
      transports: ['websocket'],
      reconnection: false,
      forceNew: true,
      timeout: WAIT_MS,
      ...(token === undefined ? {} : { auth: { token } }),
      ...opts,
    });
    record(socket);
    this.sockets.add(socket);
    return socket;
  }

  /**
   * Connects to namespace `ns` with `auth.token = token` (omitted when token is undefined) and
   * resolves with the socket once `hello` came (`socket.hello` holds it). Rejects with an Error
   * whose message is the `connect_error` message (the refusal code).
   */
  async connect(ns, token, opts = {}) {
    const socket = this.socket(ns, token, opts);
    try {
      socket.hello = await awaitHello(socket, opts.helloTimeoutMs ?? WAIT_MS);
      return socket;
    } catch (e) {
      socket.close();
      throw e;
    }
  }

  /**
   * Expects the connection to be refused: resolves with the `connect_error` message after checking
   * that the socket was never admitted (no `connect`, no `hello`, also a moment after the refusal).
   */
  async refusal(ns, token, opts = {}) {
    const socket = this.socket(ns, token, opts);
    let admitted = false;
    socket.on('connect', () => {
      admitted = true;
    });
    try {
      const message = await new Promise((ok, fail) => {
        const timer = setTimeout(() => fail(new Error(`${ns}: neither refused nor admitted in ${WAIT_MS} ms`)), WAIT_MS);
        socket.once('connect_error', (err) => {
          clearTimeout(timer);
          ok(err.message);
        });
        socket.once('connect', () => {
          clearTimeout(timer);
          fail(new Error(`${ns}: expected a refusal, but the connection was admitted`));
        });
      });
      await sleep(100);
      if (admitted || recorded(socket).some((e) => e.event === 'hello')) {
        throw new Error(`${ns}: refused with ${message} but admitted afterwards`);
      }
      return message;
    } finally {
      socket.close();
    }
  }

  /**
   * Expects the connection not to be admitted, whether refused with a `connect_error` (resolves
   * `{refused: code}`) or dropped by the transport before admission, as for a handshake larger
   * than the engine's maxPayload (resolves `{dropped: reason}`). Rejects if `connect` or `hello`
   * came.
   */
  async turnedAway(ns, token, opts = {}) {
    const socket = this.socket(ns, token, opts);
    try {
      const outcome = await new Promise((ok, fail) => {
        const timer = setTimeout(() => fail(new Error(`${ns}: neither refused nor admitted in ${WAIT_MS} ms`)), WAIT_MS);
        socket.once('connect_error', (err) => {
          clearTimeout(timer);
          ok({ refused: err.message });
        });
        socket.once('disconnect', (reason) => {
          clearTimeout(timer);
          ok({ dropped: reason });
        });
        socket.once('connect', () => {
          clearTimeout(timer);
          fail(new Error(`${ns}: expected to be turned away, but the connection was admitted`));
        });
      });
      await sleep(100);
      if (recorded(socket).some((e) => e.event === 'hello')) {
        throw new Error(`${ns}: turned away (${JSON.stringify(outcome)}) but got hello`);
      }
      return outcome;
    } finally {
      socket.close();
    }
  }

  /** Logs in and connects; resolves with `{socket, login}`. */
  async connected(email, ns) {
    const login = await this.login(email);
    const socket = await this.connect(ns, login.accessToken);
    return { socket, login };
  }

  /** Closes every socket opened through this server and stops a spawned server. */
  async close() {
    for (const socket of this.sockets) socket.close();
    this.sockets.clear();
    if (!this.proc) return;
    const { child, exit } = this.proc;
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const stopped = await Promise.race([exit, sleep(STOP_TIMEOUT_MS, null, { ref: false })]);
      if (!stopped) {
        child.kill('SIGKILL');
        await exit;
      }
    }
    // Not awaited: the file's process waits for it before it exits, and the runner drops
    // whatever is left at the end of the pass.
    this.proc.database?.drop();
    this.proc.database = null;
  }
}

/** The app a demo user logs in to. */
export function audienceOf(email) {
  if (email.startsWith('admin')) return 'admin_panel';
  if (email.startsWith('driver')) return 'driver_app';
  return 'passenger_app';
}

/**
 * Resolves with the `hello` of a socket being connected; rejects with the `connect_error` message
 * (the refusal code, also as `code`), a disconnection, or after `ms`.
 */
export function awaitHello(socket, ms = WAIT_MS) {
  return new Promise((ok, fail) => {
    const timer = setTimeout(() => {
      cleanup();
      fail(new Error(`no hello within ${ms} ms (connected: ${socket.connected})`));
    }, ms);
    const onError = (err) => {
      cleanup();
      const e = new Error(err.message);
      e.code = err.message;
      e.data = err.data;
      fail(e);
    };
    const onDisconnect = (reason) => {
      cleanup();
      fail(new Error(`disconnected before hello: ${reason}`));
    };
    const cleanup = () => {
      clearTimeout(timer);
      socket.off('connect_error', onError);
      socket.off('disconnect', onDisconnect);
    };
    socket.on('connect_error', onError);
    socket.on('disconnect', onDisconnect);
    expectEvent(socket, 'hello', ms).then(
      (hello) => {
        cleanup();
        ok(hello);
      },
      () => {}, // the timer above reports it
    );
  });
}

// ---------------------------------------------------------------------------------------------
// Events: every socket records what it receives, so an event that arrives before the test starts
// waiting for it (a broadcast sent before the ack, `hello` right after connect) is never lost.

const RECORDERS = new WeakMap();

/** Starts recording the events of `socket` (idempotent). */
export function record(socket) {
  let rec = RECORDERS.get(socket);
  if (!rec) {
    rec = { queue: [], waiters: new Set(), disconnectReason: null };
    RECORDERS.set(socket, rec);
    socket.on('disconnect', (reason) => {
      rec.disconnectReason = reason;
    });
    socket.onAny((event, ...args) => {
      const entry = { event, args };
      for (const waiter of rec.waiters) {
        if (waiter.name === event) {
          rec.waiters.delete(waiter);
          waiter.resolve(entry);
          return;
        }
      }
      rec.queue.push(entry);
    });
  }
  return rec;
}

/** Events received and not consumed yet: `[{event, args}]`. */
export function recorded(socket) {
  return [...record(socket).queue];
}

/** Removes and returns every unconsumed event. */
export function drainEvents(socket) {
  const rec = record(socket);
  return rec.queue.splice(0);
}

/** Resolves with the first argument of the next (or an already received) `name` event. */
export function expectEvent(socket, name, ms = WAIT_MS) {
  const rec = record(socket);
  const index = rec.queue.findIndex((e) => e.event === name);
  if (index >= 0) return Promise.resolve(rec.queue.splice(index, 1)[0].args[0]);
  return new Promise((ok, fail) => {
    const waiter = {
      name,
      resolve: (entry) => {
        clearTimeout(timer);
        ok(entry.args[0]);
      },
    };
    const timer = setTimeout(() => {
      rec.waiters.delete(waiter);
      const seen = rec.queue.map((e) => e.event).join(', ') || 'nothing';
      fail(new Error(`no '${name}' event within ${ms} ms (received meanwhile: ${seen})`));
    }, ms);
    rec.waiters.add(waiter);
  });
}

/** Resolves if no `name` event was received (before or during the next `ms`); rejects otherwise. */
export async function expectNoEvent(socket, name, ms = QUIET_MS) {
  const rec = record(socket);
  const check = () => {
    const hit = rec.queue.find((e) => e.event === name);
    if (hit) throw new Error(`unexpected '${name}' event: ${JSON.stringify(hit.args)}`);
  };
  check();
  await sleep(ms);
  check();
}

/** Emits with an ack and resolves with the ack's first argument; rejects after `timeoutMs`. */
export function emitWithAck(socket, event, payload, timeoutMs = WAIT_MS) {
  return socket.timeout(timeoutMs).emitWithAck(event, payload);
}

/** Resolves with the disconnect reason (at once if the socket was already disconnected). */
export function expectDisconnect(socket, ms = WAIT_MS) {
  const rec = record(socket);
  if (rec.disconnectReason !== null && !socket.connected) return Promise.resolve(rec.disconnectReason);
  return new Promise((ok, fail) => {
    const timer = setTimeout(() => fail(new Error(`not disconnected within ${ms} ms`)), ms);
    socket.once('disconnect', (reason) => {
      clearTimeout(timer);
      ok(reason);
    });
  });
}
