// The baseline against the official client: the handshake checks, the acks and broadcasts the
// load generator relies on, and the admin coalescing rule.

import assert from "node:assert/strict";
import { after, before, test } from "node:test";

import jwt from "jsonwebtoken";
import { io as connect } from "socket.io-client";

import { Coalescer } from "../lib/coalesce.mjs";
import { start } from "../lib/app.mjs";

const SECRET = "test-access-secret";
const config = {
  host: "127.0.0.1",
  port: 0,
  accessSecret: SECRET,
  issuer: "rodando",
  pingInterval: 25_000,
  pingTimeout: 20_000,
  maxConnectionsPerUser: 2,
  rateLimitPerSec: 20,
  rateLimitBurst: 40,
  adminLocationWindowMs: 500,
  maxPayloadBytes: 1_100_000,
};
let server;
let base;
const open = [];

before(async () => {
  server = await start(config);
  base = `http://127.0.0.1:${server.port}`;
});
after(async () => {
  for (const s of open) s.close();
  await server.close();
});

function token(userType, claims = {}, secret = SECRET) {
  const now = Math.floor(Date.now() / 1000);
  return jwt.sign(
    { sub: crypto.randomUUID(), sid: crypto.randomUUID(), userType, iat: now, exp: now + 600, iss: "rodando", typ: "access", ...claims },
    secret,
    { algorithm: "HS256" },
  );
}

/** Connects and resolves with `[socket, hello]`, or rejects with the connect_error message. */
function join(nsp, tok) {
  return new Promise((resolve, reject) => {
    const s = connect(`${base}${nsp}`, { auth: tok === undefined ? {} : { token: tok }, transports: ["websocket"], reconnection: false });
    open.push(s);
    s.once("hello", (hello) => resolve([s, hello]));
    s.once("connect_error", (e) => {
      s.close();
      reject(new Error(e.message));
    });
  });
}

function next(s, event) {
  return new Promise((resolve) => s.once(event, resolve));
}

test("health answers", async () => {
  const r = await fetch(`${base}/health`);
  assert.equal(r.status, 200);
  assert.deepEqual(await r.json(), { status: "ok" });
});

test("handshakes are refused with the protocol codes", async () => {
  await assert.rejects(join("/drivers"), /^Error: missing_token$/);
  await assert.rejects(join("/drivers", "garbage"), /^Error: invalid_token$/);
  await assert.rejects(join("/drivers", token("driver", {}, "other-secret")), /^Error: invalid_token$/);
  await assert.rejects(join("/drivers", token("driver", { iss: "someone" })), /^Error: invalid_token$/);
  await assert.rejects(join("/drivers", token("driver", { typ: "refresh" })), /^Error: invalid_token$/);
  await assert.rejects(join("/drivers", token("driver", { exp: Math.floor(Date.now() / 1000) - 60 })), /^Error: token_expired$/);
  await assert.rejects(join("/admin", token("driver")), /^Error: forbidden_namespace$/);
  const none = jwt.sign({ sub: "a", sid: "b", userType: "driver", iss: "rodando", typ: "access", exp: 9e9 }, null, { algorithm: "none" });
  await assert.rejects(join("/drivers", none), /^Error: invalid_token$/);
});

test("a user may hold MAX_CONNECTIONS_PER_USER sockets and no more", async () => {
  const sub = crypto.randomUUID();
  await join("/drivers", token("driver", { sub }));
  await join("/drivers", token("driver", { sub }));
  await assert.rejects(join("/drivers", token("driver", { sub })), /^Error: too_many_connections$/);
});

test("a ping is acked with the snapshot and reaches the driver's room and the admins", async () => {
  const sub = crypto.randomUUID();
  const [admin] = await join("/admin", token("admin"));
  const [driver, hello] = await join("/drivers", token("driver", { sub }));
  assert.equal(hello.userId, sub);
  assert.equal(hello.nsp, "/drivers");
  const status = await driver.emitWithAck("driver:status:update", { availabilityStatus: "AVAILABLE" });
  assert.equal(status.ok, true);
  assert.equal(status.data.availabilityStatus, "AVAILABLE");

  const roomEcho = next(driver, "driver:location:update");
  const adminSees = new Promise((resolve) =>
    admin.on("driver:location:update", (u) => u.driverId === sub && resolve(u)),
  );
  const ack = await driver.emitWithAck("driver:location:ping", { latitude: 23.1234567, longitude: -82.3456789 });
  assert.equal(ack.ok, true);
  assert.deepEqual(ack.data.lastLocation, { type: "Point", coordinates: [-82.3456789, 23.1234567] });
  for (const update of [await roomEcho, await adminSees]) {
    assert.equal(update.driverId, sub);
    assert.deepEqual(update.lastLocation.coordinates, [-82.3456789, 23.1234567]);
  }
});

test("bad pings and unknown events get an error ack and an exception", async () => {
  const [driver] = await join("/drivers", token("driver"));
  const exception = next(driver, "exception");
  const nullIsland = await driver.emitWithAck("driver:location:ping", { latitude: 0, longitude: 0 });
  assert.equal(nullIsland.ok, false);
  assert.equal(nullIsland.error.code, "validation_failed");
  assert.equal((await exception).event, "driver:location:ping");
  for (const bad of [{ latitude: 91, longitude: 1 }, { latitude: "1", longitude: 1 }, null, [1, 2]]) {
    const r = await driver.emitWithAck("driver:location:ping", bad);
    assert.equal(r.error.code, "validation_failed", JSON.stringify(bad));
  }
  const unknown = await driver.emitWithAck("nope", {});
  assert.equal(unknown.error.code, "unknown_event");
});

test("admins get at most one location per driver per window, and the latest one", async () => {
  const sent = [];
  const c = new Coalescer(100, (u) => sent.push(u));
  c.offer("d", 1, 0);
  c.offer("d", 2, 10);
  c.offer("d", 3, 20);
  c.offer("e", 9, 20);
  assert.deepEqual(sent, [1, 9]);
  await new Promise((r) => setTimeout(r, 150));
  assert.deepEqual(sent, [1, 9, 3], "the trailing update is the latest");
});
