// The baseline server: an HTTP server with `GET /health` and socket.io 4.8 on `/drivers`,
// `/passengers` and `/admin`, doing per connection and per event the work rodando-server does
// for the benchmark's traffic (see README.md for what it leaves out).

import { createServer } from "node:http";
import { Server } from "socket.io";

import { ConnectionCounter, Refusal, authenticate, tokenFrom } from "./auth.mjs";
import {
  AvailabilityStore,
  errorBody,
  parseLocationPing,
  parseStatusUpdate,
  snapshot,
} from "./availability.mjs";
import { Coalescer } from "./coalesce.mjs";
import { TokenBucket } from "./ratelimit.mjs";

const ADMIN_DRIVERS = "admin:drivers";

function driverRoom(id) {
  return `driver:${id}`;
}

/** Starts the server; resolves to `{io, http, port, close()}` once it listens. */
export async function start(config) {
  const http = createServer((req, res) => {
    if (req.method === "GET" && req.url === "/health") {
      res.writeHead(200, { "content-type": "application/json" });
      res.end('{"status":"ok"}');
      return;
    }
    if (!res.headersSent && !req.url?.startsWith("/socket.io")) {
      res.writeHead(404, { "content-type": "application/json" });
      res.end('{"error":{"code":"not_found","message":"no such route"}}');
    }
  });
  const io = new Server(http, {
    pingInterval: config.pingInterval,
    pingTimeout: config.pingTimeout,
    maxHttpBufferSize: config.maxPayloadBytes,
    cors: { origin: true, credentials: true },
  });
  const counter = new ConnectionCounter();
  const store = new AvailabilityStore();
  const admins = io.of("/admin");
  const drivers = io.of("/drivers");
  const coalescer = new Coalescer(config.adminLocationWindowMs, (update) =>
    admins.to(ADMIN_DRIVERS).emit("driver:location:update", update),
  );
  const sweeper = setInterval(() => coalescer.sweep(), config.adminLocationWindowMs * 4);
  sweeper.unref();

  for (const path of ["/drivers", "/passengers", "/admin"]) {
    const nsp = io.of(path);
    nsp.use((socket, next) => {
      try {
        const principal = authenticate(tokenFrom(socket.handshake.auth, socket.handshake.headers), path, config);
        const release = counter.acquire(principal.userId, config.maxConnectionsPerUser);
        socket.data.principal = principal;
        socket.data.release = release;
        next();
      } catch (e) {
        next(e instanceof Refusal ? e : new Refusal("internal"));
      }
    });
    nsp.on("connection", (socket) => onConnection(socket, path));
  }

  function onConnection(socket, path) {
    const p = socket.data.principal;
    const rooms = [`session:${p.sessionId}`];
    if (path === "/drivers") rooms.push(driverRoom(p.userId));
    else if (path === "/passengers") rooms.push(`passenger:${p.userId}`);
    else rooms.push(ADMIN_DRIVERS, "admin:trips");
    socket.join(rooms);

    // Live token expiry, as rodando-server's expiry watch: tell the socket and disconnect.
    const expiry = setTimeout(() => {
      socket.emit("auth:token_expired", { sessionId: p.sessionId });
      socket.disconnect(true);
    }, Math.max(0, p.expiresAtMs + 5000 - Date.now()));
    const limiter = new TokenBucket(config.rateLimitPerSec, config.rateLimitBurst);
    socket.on("disconnect", () => {
      clearTimeout(expiry);
      socket.data.release();
    });
    socket.onAny((event, ...args) => {
      const last = args[args.length - 1];
      const ack = typeof last === "function" ? last : null;
      const fail = (error) => {
        socket.emit("exception", { status: "error", event, ...error });
        if (ack) ack({ ok: false, error });
      };
      if (!limiter.take()) {
        fail(errorBody("rate_limited", "too many events; slow down"));
        return;
      }
      const result = path === "/drivers" ? driverEvent(p, event, args[0]) : null;
      if (result === null) fail(errorBody("unknown_event", `unknown event ${JSON.stringify(event)}`));
      else if (result.error) fail(result.error);
      else if (ack) ack({ ok: true, data: result.data });
    });
    socket.emit("hello", {
      ok: true,
      nsp: path,
      userId: p.userId,
      userType: p.userType,
      sessionId: p.sessionId,
      serverTime: new Date().toISOString(),
    });
  }

  /** `{data}` / `{error}` for a `/drivers` event, `null` when the event is unknown. */
  function driverEvent(p, event, payload) {
    if (event === "driver:status:update") {
      const parsed = parseStatusUpdate(payload);
      if (parsed.error) return parsed;
      const { record, changed } = store.updateStatus(p.userId, parsed.command);
      const data = snapshot(record);
      if (changed) {
        drivers.to(driverRoom(p.userId)).emit("driver:availability:update", data);
        admins.to(ADMIN_DRIVERS).emit("driver:availability:update", data);
      }
      return { data };
    }
    if (event === "driver:location:ping") {
      const parsed = parseLocationPing(payload);
      if (parsed.error) return parsed;
      const record = store.pingLocation(p.userId, parsed.fix);
      const update = {
        driverId: p.userId,
        lastLocation: record.lastLocation,
        lastLocationTimestamp: record.lastLocationTimestamp,
      };
      drivers.to(driverRoom(p.userId)).emit("driver:location:update", update);
      coalescer.offer(p.userId, update);
      return { data: snapshot(record) };
    }
    return null;
  }

  await new Promise((resolve, reject) => {
    http.once("error", reject);
    http.listen(config.port, config.host, resolve);
  });
  return {
    io,
    http,
    store,
    port: http.address().port,
    close: () =>
      new Promise((resolve) => {
        clearInterval(sweeper);
        io.close(() => resolve());
      }),
  };
}
