#!/usr/bin/env node
// Connect latency: time from io(...) creation to the `hello` event on /drivers, over websocket.
//
//   node bench/connect-latency.mjs [--n 1000] [--concurrency 10] [--json]
//
// Uses SERVER_URL when set (its MAX_CONNECTIONS_PER_USER must allow `--concurrency` sockets of
// one user), otherwise spawns the server binary with MAX_CONNECTIONS_PER_USER=100000. Logs in once
// as driver1 and opens N connections, `--concurrency` at a time, closing each after its hello.
// Prints median, p90, p99 and max in ms and the count, as a text line or, with --json, as JSON.

import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { io } from 'socket.io-client';

import { startServer } from '../lib/server.mjs';

const { values: args } = parseArgs({
  options: {
    n: { type: 'string', default: '1000' },
    concurrency: { type: 'string', default: '10' },
    timeout: { type: 'string', default: '10000' },
    json: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (args.help) {
  console.log('usage: node bench/connect-latency.mjs [--n 1000] [--concurrency 10] [--timeout ms] [--json]');
  process.exit(0);
}
const N = positiveInt('n', args.n);
const CONCURRENCY = Math.min(positiveInt('concurrency', args.concurrency), N);
const TIMEOUT_MS = positiveInt('timeout', args.timeout);

function positiveInt(name, value) {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) {
    console.error(`--${name} must be a positive integer, got ${value}`);
    process.exit(2);
  }
  return n;
}

/** Nearest-rank percentile of an ascending array. */
function percentile(sorted, p) {
  if (sorted.length === 0) return null;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1];
}

/** One connection: ms from io() to hello, or throws with the reason. */
function connectOnce(url, token) {
  return new Promise((ok, fail) => {
    const start = performance.now();
    const socket = io(`${url}/drivers`, {
      transports: ['websocket'],
      auth: { token },
      forceNew: true,
      reconnection: false,
      timeout: TIMEOUT_MS,
    });
    const timer = setTimeout(() => finish(new Error(`no hello within ${TIMEOUT_MS} ms`)), TIMEOUT_MS);
    const finish = (error, ms) => {
      clearTimeout(timer);
      socket.close();
      if (error) fail(error);
      else ok(ms);
    };
    socket.once('hello', () => finish(null, performance.now() - start));
    socket.once('connect_error', (err) => finish(new Error(`connect_error: ${err.message}`)));
  });
}

const server = await startServer({ env: { MAX_CONNECTIONS_PER_USER: '100000', RUST_LOG: process.env.RUST_LOG ?? 'error' } });
let exitCode = 0;
try {
  const login = await server.login('driver1@rodando.local');
  const samples = [];
  const errors = new Map();
  let next = 0;
  const began = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < N) {
        next++;
        try {
          samples.push(await connectOnce(server.url, login.accessToken));
        } catch (e) {
          errors.set(e.message, (errors.get(e.message) ?? 0) + 1);
        }
      }
    }),
  );
  const wallMs = performance.now() - began;
  samples.sort((a, b) => a - b);
  const round = (x) => (x === null ? null : Math.round(x * 100) / 100);
  const result = {
    bench: 'connect-latency',
    transport: 'websocket',
    namespace: '/drivers',
    server: server.external ? server.url : 'spawned',
    count: samples.length,
    requested: N,
    concurrency: CONCURRENCY,
    errors: Object.fromEntries(errors),
    unit: 'ms',
    min: round(samples[0] ?? null),
    median: round(percentile(samples, 50)),
    p90: round(percentile(samples, 90)),
    p99: round(percentile(samples, 99)),
    max: round(samples.at(-1) ?? null),
    mean: round(samples.length ? samples.reduce((a, b) => a + b, 0) / samples.length : null),
    wallMs: Math.round(wallMs),
    connectionsPerSec: Math.round((samples.length / wallMs) * 1000),
  };
  if (args.json) {
    console.log(JSON.stringify(result));
  } else {
    const errorCount = N - samples.length;
    console.log(
      `connect→hello (websocket, /drivers): count=${result.count}/${N} concurrency=${CONCURRENCY} ` +
        `median=${result.median} ms p90=${result.p90} ms p99=${result.p99} ms max=${result.max} ms ` +
        `(mean=${result.mean} ms, ${result.connectionsPerSec} conn/s, ${errorCount} errors)`,
    );
    for (const [message, count] of errors) console.log(`  ${count} × ${message}`);
  }
  if (errors.size > 0) exitCode = 1;
} finally {
  await server.close();
}
process.exit(exitCode);
