// The processes a browser test needs, and the cleanups that stop them: the rodando-server binary
// on a free port of 127.0.0.1, and the rodando-sim binary against it with its JSON progress parsed
// as it comes. Both are killed when the test process exits, whatever happens.

import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';

import { freePort } from '../../lib/free-port.mjs';

/** The repository root. */
export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

const HEALTH_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 20_000;

const children = new Set();
process.on('exit', () => {
  for (const child of children) child.kill('SIGKILL');
});

/** A binary of the workspace's debug build (override with env `<NAME>_BIN`). */
export function binary(name, envVar) {
  const path = resolve(ROOT, process.env[envVar] ?? `target/debug/${name}`);
  if (!existsSync(path)) {
    throw new Error(`${name} not found at ${path}: build it with \`cargo build -p ${name}\` (or set ${envVar})`);
  }
  return path;
}

export { freePort } from '../../lib/free-port.mjs';

/** Cleanups run last-registered first (node:test runs `after` hooks in registration order). */
export function cleanups(t) {
  const stack = [];
  t.after(async () => {
    for (const cleanup of stack.reverse()) {
      try {
        await cleanup();
      } catch (e) {
        console.error(`cleanup failed: ${e.message}`);
      }
    }
  });
  return (cleanup) => stack.push(cleanup);
}

/** A child process whose recent output is kept for failure messages. */
class Child {
  constructor(name, bin, args, env) {
    this.name = name;
    this.output = '';
    this.child = spawn(bin, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    children.add(this.child);
    this.exited = null;
    this.exit = new Promise((ok) =>
      this.child.once('exit', (code, signal) => {
        this.exited = { code, signal };
        children.delete(this.child);
        ok(this.exited);
      }),
    );
    this.child.once('error', (e) => {
      this.output += `\n[spawn error: ${e.message}]`;
    });
  }

  keep(chunk) {
    this.output = (this.output + chunk).slice(-20_000);
  }

  /** Sends `signal` and waits for the exit (SIGKILL after the timeout); resolves with it. */
  async stop(signal = 'SIGTERM') {
    if (this.exited) return this.exited;
    this.child.kill(signal);
    const stopped = await Promise.race([this.exit, sleep(STOP_TIMEOUT_MS, null, { ref: false })]);
    if (stopped) return stopped;
    this.child.kill('SIGKILL');
    return this.exit;
  }
}

/** A running rodando-server. */
export class Server extends Child {
  constructor(bin, port, env) {
    super('rodando-server', bin, [], env);
    this.url = `http://127.0.0.1:${port}`;
    this.child.stdout.on('data', (c) => this.keep(c));
    this.child.stderr.on('data', (c) => this.keep(c));
  }

  /** Starts the server with `env` on top of test defaults and waits for `GET /health`. */
  static async start(env = {}) {
    const bin = binary('rodando-server', 'RODANDO_SERVER_BIN');
    const port = await freePort();
    // The embedded store with its demo users, whatever the environment says (CI sets
    // DATABASE_URL for the PostgreSQL tests).
    const inherited = { ...process.env };
    delete inherited.DATABASE_URL;
    delete inherited.REDIS_URL;
    const server = new Server(bin, port, {
      ...inherited,
      RUST_LOG: process.env.RUST_LOG ?? 'warn',
      JWT_ACCESS_SECRET: `browser-access-${randomBytes(24).toString('hex')}`,
      JWT_REFRESH_SECRET: `browser-refresh-${randomBytes(24).toString('hex')}`,
      ...env,
      HOST: '127.0.0.1',
      PORT: String(port),
    });
    const deadline = Date.now() + HEALTH_TIMEOUT_MS;
    for (;;) {
      if (server.exited) throw new Error(`rodando-server exited before it was healthy:\n${server.output}`);
      try {
        const res = await fetch(`${server.url}/health`, { signal: AbortSignal.timeout(1000) });
        if (res.status === 200) return server;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) {
        await server.stop('SIGKILL');
        throw new Error(`rodando-server was not healthy within ${HEALTH_TIMEOUT_MS} ms:\n${server.output}`);
      }
      await sleep(50);
    }
  }

  /** POSTs JSON (with a Bearer token when given); `{status, body}`. */
  async post(path, body, token) {
    const res = await fetch(`${this.url}${path}`, {
      method: 'POST',
      headers: {
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...(token ? { authorization: `Bearer ${token}` } : {}),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : null };
  }

  /** Logs a demo user in with its app; the login body. */
  async login(email, appAudience) {
    const { status, body } = await this.post('/api/auth/login', { email, password: 'rodando123', appAudience });
    if (status !== 200) throw new Error(`login of ${email}: ${status} ${JSON.stringify(body)}`);
    return body;
  }
}

/** A running rodando-sim with `--progress json`: `latest` is its newest progress object. */
export class Simulator extends Child {
  constructor(bin, args) {
    super('rodando-sim', bin, [...args, '--progress', 'json'], { ...process.env, RUST_LOG: 'warn' });
    this.latest = null;
    this.report = '';
    this.waiters = new Set();
    this.child.stdout.on('data', (c) => {
      this.report += c;
      this.keep(c);
    });
    createInterface({ input: this.child.stderr }).on('line', (line) => {
      this.keep(`${line}\n`);
      if (!line.startsWith('{')) return;
      let value;
      try {
        value = JSON.parse(line);
      } catch {
        return;
      }
      if (value.type !== 'progress') return;
      this.latest = value;
      for (const waiter of this.waiters) waiter();
    });
  }

  /** Starts the simulator against `url` with extra arguments. */
  static start(url, args) {
    return new Simulator(binary('rodando-sim', 'RODANDO_SIM_BIN'), ['--url', url, ...args]);
  }

  /** Resolves with the first progress object for which `predicate` holds; rejects after `ms`. */
  until(predicate, ms, what) {
    return new Promise((ok, fail) => {
      const check = () => {
        if (this.latest && predicate(this.latest)) {
          clearTimeout(timer);
          this.waiters.delete(check);
          ok(this.latest);
        } else if (this.exited) {
          clearTimeout(timer);
          this.waiters.delete(check);
          fail(new Error(`rodando-sim exited (${JSON.stringify(this.exited)}) before ${what}:\n${this.output}`));
        }
      };
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        fail(new Error(`rodando-sim: no ${what} within ${ms} ms (latest: ${JSON.stringify(this.latest)}):\n${this.output}`));
      }, ms);
      this.waiters.add(check);
      this.exit.then(check);
      check();
    });
  }
}
