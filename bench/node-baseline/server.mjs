// Entry point: `node server.mjs` with the environment of lib/config.mjs. Prints one line once
// listening; exits on SIGTERM / SIGINT after closing every socket.

import { loadConfig } from "./lib/config.mjs";
import { start } from "./lib/app.mjs";

let config;
try {
  config = loadConfig();
} catch (e) {
  console.error(`node-baseline: ${e.message}`);
  process.exit(2);
}
const server = await start(config);
console.log(`node-baseline: listening on http://${config.host}:${server.port} (pid ${process.pid})`);
for (const signal of ["SIGTERM", "SIGINT"]) {
  process.once(signal, async () => {
    await server.close();
    process.exit(0);
  });
}
