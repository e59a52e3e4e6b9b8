// Driver availability kept in process memory: the subset of PROTOCOL §6 the benchmark
// exercises (status updates and location pings, with their validation and snapshots).
// rodando-server's memory store does the same work behind its ports, plus trips and an R-tree.

const STATUSES = new Set(["AVAILABLE", "BUSY", "OFFLINE"]);

/** An ack / exception error body. */
export function errorBody(code, message, details) {
  return details === undefined ? { code, message } : { code, message, details };
}

function validation(fields) {
  const text = fields.map((f) => `${f.field}: ${f.message}`).join("; ");
  return errorBody("validation_failed", `invalid input: ${text}`, { fields });
}

function isObject(v) {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

/** `{availabilityStatus}` or the original `{isOnline, isAvailableForTrips}`; `{command}` or `{error}`. */
export function parseStatusUpdate(payload) {
  if (!isObject(payload)) return { error: validation([{ field: "payload", message: "must be an object" }]) };
  if ("availabilityStatus" in payload) {
    return STATUSES.has(payload.availabilityStatus)
      ? { command: payload.availabilityStatus }
      : { error: validation([{ field: "availabilityStatus", message: "must be one of AVAILABLE, BUSY, OFFLINE" }]) };
  }
  if (typeof payload.isOnline === "boolean") {
    if (!payload.isOnline) return { command: "OFFLINE" };
    if (typeof payload.isAvailableForTrips !== "boolean") {
      return { error: validation([{ field: "isAvailableForTrips", message: "is required (a boolean)" }]) };
    }
    return { command: payload.isAvailableForTrips ? "AVAILABLE" : "BUSY" };
  }
  return { error: validation([{ field: "availabilityStatus", message: "is required (AVAILABLE, BUSY or OFFLINE)" }]) };
}

function coordinate(payload, names, field, limit, fields) {
  const name = names.find((n) => n in payload);
  const v = name === undefined ? undefined : payload[name];
  if (typeof v !== "number" || !Number.isFinite(v)) {
    fields.push({ field, message: "is required (a finite number)" });
    return null;
  }
  if (v < -limit || v > limit) {
    fields.push({ field, message: `must be within [-${limit}, ${limit}]` });
    return null;
  }
  return v;
}

/** `{latitude, longitude}` (or `{lat, lng}`); `{fix}` or `{error}`; (0, 0) is refused. */
export function parseLocationPing(payload) {
  if (!isObject(payload)) return { error: validation([{ field: "payload", message: "must be an object" }]) };
  const fields = [];
  const latitude = coordinate(payload, ["latitude", "lat"], "latitude", 90, fields);
  const longitude = coordinate(payload, ["longitude", "lng"], "longitude", 180, fields);
  if (fields.length === 0 && latitude === 0 && longitude === 0) {
    fields.push({ field: "latitude", message: "(0, 0) is not a real position" });
  }
  if (fields.length > 0) return { error: validation(fields) };
  return { fix: { latitude, longitude } };
}

function freshRecord(driverId, nowIso) {
  return {
    driverId,
    isOnline: false,
    isAvailableForTrips: false,
    availabilityReason: "OFFLINE",
    lastLocation: null,
    lastLocationTimestamp: null,
    currentTripId: null,
    currentVehicleId: null,
    lastOnlineTimestamp: null,
    lastPresenceTimestamp: null,
    updatedAt: nowIso,
  };
}

/** The availability snapshot of PROTOCOL §6. */
export function snapshot(r) {
  const availabilityStatus = !r.isOnline ? "OFFLINE" : r.isAvailableForTrips ? "AVAILABLE" : "BUSY";
  return { ...r, availabilityStatus };
}

/** Every driver's availability, by driver id. */
export class AvailabilityStore {
  #drivers = new Map();

  #record(driverId, nowIso) {
    let r = this.#drivers.get(driverId);
    if (!r) {
      r = freshRecord(driverId, nowIso);
      this.#drivers.set(driverId, r);
    }
    return r;
  }

  /** Applies a status command; returns `{record, changed}`. */
  updateStatus(driverId, command, nowIso = new Date().toISOString()) {
    const r = this.#record(driverId, nowIso);
    const before = `${r.isOnline}/${r.isAvailableForTrips}/${r.availabilityReason}`;
    if (command === "AVAILABLE") {
      if (!r.isOnline) r.lastOnlineTimestamp = nowIso;
      r.isOnline = true;
      r.isAvailableForTrips = true;
      r.availabilityReason = null;
      r.lastPresenceTimestamp = nowIso;
    } else if (command === "BUSY") {
      if (!r.isOnline) r.lastOnlineTimestamp = nowIso;
      r.isOnline = true;
      r.isAvailableForTrips = false;
      r.availabilityReason = r.currentTripId ? "ON_TRIP" : "UNAVAILABLE";
      r.lastPresenceTimestamp = nowIso;
    } else {
      r.isOnline = false;
      r.isAvailableForTrips = false;
      r.availabilityReason = "OFFLINE";
    }
    const changed = before !== `${r.isOnline}/${r.isAvailableForTrips}/${r.availabilityReason}`;
    r.updatedAt = nowIso;
    return { record: r, changed };
  }

  /** Stores the latest fix and presence; returns the record. */
  pingLocation(driverId, fix, nowIso = new Date().toISOString()) {
    const r = this.#record(driverId, nowIso);
    r.lastLocation = { type: "Point", coordinates: [fix.longitude, fix.latitude] };
    r.lastLocationTimestamp = nowIso;
    r.lastPresenceTimestamp = nowIso;
    r.updatedAt = nowIso;
    return r;
  }

  get size() {
    return this.#drivers.size;
  }
}
