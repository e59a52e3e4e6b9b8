// What the four ws:test:* scripts share when run by hand: options, the target server, Ctrl-C,
// and the exit status. The scenario of each script is a function of its own module, which the
// assert-mode tests (test/scripts.test.mjs) call against a spawned server.

import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';

import { DEMO_PASSWORD, serverAt } from '../lib/server.mjs';
import { Tracer } from '../lib/trace.mjs';

/** The server a script talks to by hand: `--url`, else SERVER_URL, else the `just run` default. */
export const DEFAULT_URL = 'http://localhost:3000';

const COMMON_OPTIONS = {
  url: { type: 'string' },
  duration: { type: 'string' },
  assert: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
};

const COMMON_USAGE = `  --url URL         server (default: $SERVER_URL, else ${DEFAULT_URL})
  --duration SEC    stop after SEC seconds (default: until Ctrl-C, or the end of the scenario)
  --assert          bounded run that fails (exit 1) on anything the protocol does not allow
  -h, --help        this text`;

/** True when `moduleUrl` is the script node was started with (not imported by a test). */
export function isMain(moduleUrl) {
  if (!process.argv[1]) return false;
  try {
    return realpathSync(fileURLToPath(moduleUrl)) === realpathSync(process.argv[1]);
  } catch {
    return false;
  }
}

/** Seconds from the command line as milliseconds; `undefined` stays undefined. */
export function durationMs(value, name = 'duration') {
  if (value === undefined) return undefined;
  const seconds = Number(value);
  if (!Number.isFinite(seconds) || seconds < 0) throw new UsageError(`--${name} must be a number of seconds, got ${value}`);
  return seconds * 1000;
}

/** `LAT,LNG` from the command line. */
export function parsePosition(value, name) {
  const parts = String(value).split(',').map(Number);
  if (parts.length !== 2 || !parts.every(Number.isFinite)) throw new UsageError(`--${name} must be LAT,LNG, got ${value}`);
  return { latitude: parts[0], longitude: parts[1] };
}

/** A bad command line: printed with the usage, exit status 2. */
export class UsageError extends Error {}

/** `--email` and `--password` of the one user a script runs as, `role` naming it in the usage. */
function userOptions({ role, email }) {
  return {
    options: {
      email: { type: 'string', default: email },
      password: { type: 'string', default: DEMO_PASSWORD },
    },
    usage: `  --email E         ${role} (default ${email})
  --password P      its password (default ${DEMO_PASSWORD})
`,
  };
}

/**
 * Runs a script by hand: parses `options` (plus --email and --password of `user` when given, and
 * --url, --duration, --assert, --help), turns the first Ctrl-C into a graceful stop (the second
 * one exits at once), and sets the exit status (0 done, 1 failed, 2 bad usage).
 * `scenario({args, server, tracer, signal})` does the work.
 */
export async function runMain({ name, summary, user, options = {}, usage = '', scenario }) {
  if (user) {
    const login = userOptions(user);
    options = { ...login.options, ...options };
    usage = login.usage + usage;
  }
  let args;
  try {
    ({ values: args } = parseArgs({ options: { ...COMMON_OPTIONS, ...options }, allowPositionals: false }));
  } catch (e) {
    console.error(`${name}: ${e.message}`);
    process.exitCode = 2;
    return;
  }
  if (args.help) {
    console.log(`${name}: ${summary}\n\nusage: npm run ${name} -- [options]\n${usage}${COMMON_USAGE}`);
    return;
  }
  const url = args.url ?? process.env.SERVER_URL ?? DEFAULT_URL;
  const server = serverAt(url);
  const tracer = new Tracer();
  const controller = new AbortController();
  let interrupted = 0;
  process.on('SIGINT', () => {
    interrupted += 1;
    if (interrupted > 1) process.exit(130);
    tracer.note(name, 'Ctrl-C: stopping (press again to quit at once)');
    controller.abort();
  });
  tracer.note(name, `server ${url}`);
  try {
    await scenario({ args, server, tracer, signal: controller.signal });
    tracer.note(name, 'done');
  } catch (e) {
    if (e instanceof UsageError) {
      console.error(`${name}: ${e.message}`);
      process.exitCode = 2;
    } else {
      console.error(`${name}: FAILED: ${e.message}`);
      if (/ECONNREFUSED|fetch failed/.test(`${e.message} ${e.cause?.message ?? ''}`)) {
        console.error(`${name}: is the server running at ${url}? (just run, or --url / SERVER_URL)`);
      }
      process.exitCode = 1;
    }
  } finally {
    await server.close();
  }
}

/**
 * Waits `ms` (forever when undefined) unless `signal` aborts first. Resolves true when the
 * time ran out, false when aborted.
 */
export async function wait(ms, signal) {
  if (signal?.aborted) return false;
  try {
    await sleep(ms ?? 2 ** 31 - 1, undefined, { signal });
    return true;
  } catch (e) {
    if (e.name === 'AbortError') return false;
    throw e;
  }
}

/** The name printed for a demo user: the local part of the e-mail (`driver3`). */
export function whoOf(email) {
  return email.split('@')[0];
}
