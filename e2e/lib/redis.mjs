// A redis-server of one test file, on a free port of 127.0.0.1, keeping nothing on disk, which
// the test may kill (SIGKILL, as a crash) and start again empty on the same port. The shared
// Redis of the machine is never touched.

import { spawn } from 'node:child_process';
import { connect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

import { freePort } from './server.mjs';

const START_TIMEOUT_MS = 5000;

/** Every redis-server still running, killed if this process exits without stopping them. */
const children = new Set();
process.on('exit', () => {
  for (const child of children) child.kill('SIGKILL');
});

/**
 * Sends one command (RESP) on a connection of its own; resolves with the first line of the
 * reply (`+PONG`, `:2`, `-ERR …`), rejects when nothing answers within `ms`.
 */
export function redisCommand(port, args, ms = 1000) {
  return new Promise((ok, fail) => {
    const socket = connect(port, '127.0.0.1');
    const timer = setTimeout(() => {
      socket.destroy();
      fail(new Error(`redis on port ${port}: no answer within ${ms} ms`));
    }, ms);
    let reply = '';
    socket.on('error', (e) => {
      clearTimeout(timer);
      fail(e);
    });
    socket.on('connect', () => {
      const parts = args.map((a) => `$${Buffer.byteLength(String(a))}\r\n${a}\r\n`);
      socket.write(`*${args.length}\r\n${parts.join('')}`);
    });
    socket.on('data', (chunk) => {
      reply += chunk.toString();
      const end = reply.indexOf('\r\n');
      if (end >= 0) {
        clearTimeout(timer);
        socket.destroy();
        ok(reply.slice(0, end));
      }
    });
  });
}

/** Starts a redis-server on a free port; resolves `{url, port, kill(), restart(), stop()}`. */
export async function startRedis() {
  const port = await freePort();
  let child = null;
  const launch = async () => {
    child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
      stdio: 'ignore',
    });
    children.add(child);
    const spawned = child;
    const failed = new Promise((_, fail) => {
      spawned.once('error', (e) => fail(new Error(`these tests run redis-server (apt-get install redis-server): ${e.message}`)));
    });
    spawned.once('exit', () => children.delete(spawned));
    const deadline = Date.now() + START_TIMEOUT_MS;
    for (;;) {
      const answered = await Promise.race([redisCommand(port, ['PING'], 500).catch(() => null), failed]);
      if (answered === '+PONG') return;
      if (Date.now() > deadline) throw new Error(`redis-server on port ${port} did not answer within ${START_TIMEOUT_MS} ms`);
      await sleep(20);
    }
  };
  const kill = async () => {
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((ok) => child.once('exit', ok));
    child.kill('SIGKILL');
    await exited;
  };
  await launch();
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    /** SIGKILL: the clients get no goodbye. */
    kill,
    /** Starts it again, empty, on the same port. */
    restart: launch,
    /** One command, resolving with the first line of the reply. */
    command: (...args) => redisCommand(port, args),
    stop: kill,
  };
}
