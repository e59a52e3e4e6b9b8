// A PostgreSQL database of its own for one test file, through psql: the real path to users the
// embedded store cannot hold (banned, inactive), since the operator CLI seeds and creates users
// only in PostgreSQL and user status is a column the store reads at every handshake.

import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';

import { serverBinary } from './server.mjs';

const run = promisify(execFile);

/** The server `just db` prepares (and the Rust PostgreSQL tests use). */
export const DEFAULT_DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/test';

/** Runs one SQL command with psql against `url`; resolves with its unaligned output. */
export async function psql(url, sql) {
  const { stdout } = await run('psql', [url, '-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-c', sql], { timeout: 30_000 });
  return stdout.trim();
}

/**
 * Creates an empty database next to DATABASE_URL's (default {@link DEFAULT_DATABASE_URL}) and
 * seeds it with the demo users through `rodando-server seed-demo` (which also runs the
 * migrations). Resolves `{url, drop()}`. Rejects with a message saying what to start or install
 * when PostgreSQL (or psql) is not there.
 */
export async function scratchDatabase() {
  const base = process.env.DATABASE_URL || DEFAULT_DATABASE_URL;
  const name = `rodando_e2e_${randomBytes(6).toString('hex')}`;
  try {
    await psql(base, `CREATE DATABASE ${name}`);
  } catch (e) {
    throw new Error(
      `these tests need PostgreSQL with PostGIS at ${base.replace(/:[^:@/]*@/, ':***@')} and psql ` +
        `(just db installs PostGIS; set DATABASE_URL for another server): ${e.message.split('\n')[0]}`,
    );
  }
  const scratch = new URL(base);
  scratch.pathname = `/${name}`;
  const url = scratch.toString();
  const drop = async () => {
    await psql(base, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch(() => {});
  };
  try {
    await run(serverBinary(), ['seed-demo'], { env: { ...process.env, DATABASE_URL: url, RUST_LOG: 'warn' }, timeout: 60_000 });
  } catch (e) {
    await drop();
    throw new Error(`rodando-server seed-demo failed against the scratch database: ${e.stderr || e.message}`);
  }
  return { url, drop };
}

// ---------------------------------------------------------------------------------------------
// The PostgreSQL pass of the suite (`npm run test:postgres`, lib/suite-postgres.mjs): every test
// file runs again with each spawned server on a database of its own, cloned from one template
// the runner seeded once. A server then starts as empty of state as an embedded one does (demo
// users only), and nothing leaks from one server to the next.

/** The store spawned servers use: `postgres` in the PostgreSQL pass, else `memory`. */
export function storeUnderTest() {
  return process.env.E2E_STORE === 'postgres' ? 'postgres' : 'memory';
}

let clones = 0;

/**
 * In the PostgreSQL pass: a new database cloned from the run's template (E2E_PG_TEMPLATE), for
 * one spawned server; with SEED_DEMO_DRIVERS / SEED_DEMO_PASSENGERS in `env`, those extra demo
 * users are seeded into it as the embedded store seeds them. Resolves `{url, drop()}`.
 */
export async function cloneForServer(env = {}) {
  const template = process.env.E2E_PG_TEMPLATE;
  if (!template) throw new Error('E2E_STORE=postgres needs E2E_PG_TEMPLATE: run the pass with `npm run test:postgres`');
  const base = process.env.DATABASE_URL || DEFAULT_DATABASE_URL;
  clones += 1;
  const name = `${template.replace(/_template$/, '')}_${process.pid}_${clones}`;
  await psql(base, `CREATE DATABASE ${name} TEMPLATE ${template}`);
  const scratch = new URL(base);
  scratch.pathname = `/${name}`;
  const url = scratch.toString();
  const drop = () => psql(base, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch(() => {});
  if (env.SEED_DEMO_DRIVERS || env.SEED_DEMO_PASSENGERS) {
    const seedEnv = { ...process.env, ...env, DATABASE_URL: url, RUST_LOG: 'warn' };
    try {
      await run(serverBinary(), ['seed-demo'], { env: seedEnv, timeout: 120_000 });
    } catch (e) {
      await drop();
      throw new Error(`rodando-server seed-demo of the extra demo users failed: ${e.stderr || e.message}`);
    }
  }
  return { url, drop };
}

/**
 * `{skip}` for a suite that starts its servers on a PostgreSQL database of its own (two nodes
 * sharing one): it runs the same in both passes, so the PostgreSQL pass skips it, saying why.
 */
export function ownDatabaseSuite() {
  return storeUnderTest() === 'postgres'
    ? { skip: 'on a PostgreSQL database of its own in either pass: the embedded pass ran it as it is' }
    : {};
}
