// `npm run test:postgres` (`just e2e-postgres`): the whole suite a second time, every spawned
// server on PostgreSQL. Both stores must serve the same contract through a real client.
//
// The runner creates one template database next to DATABASE_URL's (default
// postgres://postgres@127.0.0.1:5432/test), migrates it and seeds the demo users through
// `rodando-server seed-demo`, then runs `node --test` over every file of test/ (or the files
// given as arguments) with E2E_STORE=postgres. lib/server.mjs then gives each spawned server a
// database of its own, cloned from the template (CREATE DATABASE … TEMPLATE, a fraction of a
// second), so each starts as empty of state as an embedded server does. Tests that name their own
// DATABASE_URL (two nodes sharing one database, banned users) keep it. Every database of the run
// is dropped at the end, whatever the outcome.

import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

import { DEFAULT_DATABASE_URL, psql } from './postgres.mjs';
import { serverBinary } from './server.mjs';

const E2E_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const run = promisify(execFile);
const base = process.env.DATABASE_URL || DEFAULT_DATABASE_URL;
const shown = base.replace(/:[^:@/]*@/, ':***@');

function fail(message) {
  console.error(`e2e (PostgreSQL): ${message}`);
  process.exit(1);
}

async function preflight() {
  try {
    await run('psql', ['--version']);
  } catch {
    fail('psql not found: install the PostgreSQL client (Debian: apt-get install postgresql-client)');
  }
  let postgis;
  try {
    postgis = await psql(base, "SELECT count(*) FROM pg_available_extensions WHERE name = 'postgis'");
  } catch (e) {
    fail(
      `no PostgreSQL answers at ${shown} (${(e.stderr || e.message).trim().split('\n')[0]}): install and start PostgreSQL ` +
        '(Debian: apt-get install postgresql), then `just db` for PostGIS; or set DATABASE_URL to a server',
    );
  }
  if (postgis !== '1') {
    fail(`PostGIS is not installed in the PostgreSQL at ${shown}: run \`just db\` (scripts/install-postgis.sh)`);
  }
  if (!existsSync(serverBinary())) {
    fail(`rodando-server binary not found at ${serverBinary()}: build it with \`cargo build -p rodando-server\``);
  }
}

/** Drops every database of this run (the template and any clone left behind). */
async function dropAll(prefix) {
  const names = await psql(base, `SELECT datname FROM pg_database WHERE datname LIKE '${prefix}\\_%'`).catch(() => '');
  for (const name of names.split('\n').filter(Boolean)) {
    await psql(base, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch((e) =>
      console.error(`e2e (PostgreSQL): could not drop ${name}: ${e.message.split('\n')[0]}`),
    );
  }
}

await preflight();
const prefix = `rodando_e2e_${randomBytes(5).toString('hex')}`;
const template = `${prefix}_template`;
let code = 1;
try {
  await psql(base, `CREATE DATABASE ${template}`);
  const url = new URL(base);
  url.pathname = `/${template}`;
  try {
    await run(serverBinary(), ['seed-demo'], {
      env: { ...process.env, DATABASE_URL: url.toString(), RUST_LOG: 'warn' },
      timeout: 120_000,
    });
  } catch (e) {
    throw new Error(`rodando-server seed-demo failed against the template database: ${e.stderr || e.message}`);
  }
  const files = process.argv.slice(2);
  console.log(`e2e (PostgreSQL): every server on a clone of ${template} at ${shown}`);
  code = await new Promise((ok) => {
    const child = spawn(process.execPath, ['--test', '--test-concurrency=1', ...(files.length ? files : ['test/'])], {
      cwd: E2E_DIR,
      stdio: 'inherit',
      env: { ...process.env, DATABASE_URL: base, E2E_STORE: 'postgres', E2E_PG_TEMPLATE: template },
    });
    for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal));
    child.on('exit', (status, signal) => ok(status ?? (signal ? 1 : 0)));
  });
} catch (e) {
  console.error(`e2e (PostgreSQL): ${e.message}`);
} finally {
  await dropAll(prefix);
}
process.exit(code);
