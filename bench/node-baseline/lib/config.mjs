// Configuration from the environment, with the names and defaults of rodando-server
// (PROTOCOL §1) for everything the baseline does, so the bench script can start both servers
// with one set of variables.

/** Parses `25s`, `500ms`, `1h`, `15m` or a bare number of milliseconds. */
export function parseDuration(text, name) {
  const m = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h)?$/.exec(String(text).trim());
  if (!m) throw new Error(`${name}: not a duration: ${JSON.stringify(text)}`);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] ?? "ms"];
  return Number(m[1]) * unit;
}

function positiveInt(env, name, fallback) {
  const raw = env[name];
  if (raw === undefined || raw === "") return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`${name}: must be a positive integer (got ${JSON.stringify(raw)})`);
  return n;
}

/** Everything the baseline reads, validated; throws one line naming the variable. */
export function loadConfig(env = process.env) {
  const secret = env.JWT_ACCESS_SECRET;
  if (!secret) throw new Error("JWT_ACCESS_SECRET: required (the HS256 access secret shared with the load generator)");
  return {
    host: env.HOST || "127.0.0.1",
    port: positiveInt(env, "PORT", 3000),
    accessSecret: secret,
    issuer: env.JWT_ISSUER || "rodando",
    pingInterval: parseDuration(env.WS_PING_INTERVAL || "25s", "WS_PING_INTERVAL"),
    pingTimeout: parseDuration(env.WS_PING_TIMEOUT || "20s", "WS_PING_TIMEOUT"),
    maxConnectionsPerUser: positiveInt(env, "MAX_CONNECTIONS_PER_USER", 5),
    rateLimitPerSec: positiveInt(env, "RATE_LIMIT_EVENTS_PER_SEC", 20),
    rateLimitBurst: positiveInt(env, "RATE_LIMIT_BURST", 40),
    // rodando-server's fixed window (RealtimeConfig::admin_location_window).
    adminLocationWindowMs: positiveInt(env, "ADMIN_LOCATION_WINDOW_MS", 500),
    maxPayloadBytes: 1_100_000,
  };
}
