// Debian's chromium driven by playwright-core (no bundled browser download: the machines are
// offline). A missing chromium fails the test with the command that installs it.

import { existsSync } from 'node:fs';
import { chromium } from 'playwright-core';

/** Where chromium is expected (`CHROMIUM_PATH` overrides). */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

/** Launches chromium headless; throws a clear error when it is not installed. */
export async function launch() {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `chromium not found at ${CHROMIUM}: install it with ` +
        '`apt-get update && apt-get install -y --no-install-recommends chromium` (or set CHROMIUM_PATH)',
    );
  }
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: ARGS, timeout: 30_000 });
}

/**
 * Keeps a page on this machine: every request to an origin not in `origins` (the map's tile
 * host, above all) is aborted as if offline, before it reaches the network. Returns the URLs
 * refused, and whether a console message is just the browser reporting one of them.
 */
export async function keepLocal(page, origins) {
  const allowed = new Set(origins);
  const refused = [];
  await page.route(
    (url) => !allowed.has(url.origin),
    (route) => {
      refused.push(route.request().url());
      return route.abort('internetdisconnected');
    },
  );
  const isRefusal = (message) =>
    message.type() === 'error' && /^Failed to load resource/.test(message.text()) && refused.includes(message.location()?.url);
  return { refused, isRefusal };
}
