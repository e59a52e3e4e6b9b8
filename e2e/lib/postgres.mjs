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
