// The fleet as the dashboard knows it: one entry per driver, kept from the first snapshot
// (`admin:drivers:snapshot`) and the `driver:*` broadcasts of PROTOCOL §6. No DOM here, so Node
// tests can drive it.

/** The statuses shown, in legend order. */
export const STATUSES = Object.freeze(['AVAILABLE', 'BUSY', 'ON_TRIP', 'OFFLINE']);

/**
 * The displayed status of an availability snapshot: OFFLINE when not online, AVAILABLE when it
 * can take trips, ON_TRIP when it holds a trip, BUSY otherwise (online, paused by the driver).
 */
export function statusOf(driver) {
  if (!driver.isOnline) return 'OFFLINE';
  if (driver.isAvailableForTrips) return 'AVAILABLE';
  if (driver.currentTripId || driver.availabilityReason === 'ON_TRIP') return 'ON_TRIP';
  return 'BUSY';
}

/** `{lat, lon}` of a GeoJSON Point (`coordinates: [longitude, latitude]`), else null. */
export function pointOf(geo) {
  const c = geo && geo.type === 'Point' ? geo.coordinates : null;
  if (!Array.isArray(c) || c.length < 2) return null;
  const [lon, lat] = c;
  return Number.isFinite(lat) && Number.isFinite(lon) ? { lat, lon } : null;
}

/** A heading in degrees clockwise from north, [0, 360), when `value` is one; else null. */
export function headingOf(value) {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 && value <= 360 ? value % 360 : null;
}

function time(value) {
  const t = typeof value === 'string' ? Date.parse(value) : NaN;
  return Number.isNaN(t) ? null : t;
}

/** Every known driver; `changed` collects the ids touched since the last `takeChanged()`. */
export class Fleet {
  constructor() {
    /** @type {Map<string, object>} */
    this.drivers = new Map();
    this.changed = new Set();
  }

  entry(driverId) {
    let d = this.drivers.get(driverId);
    if (!d) {
      d = {
        id: driverId,
        isOnline: false,
        isAvailableForTrips: false,
        availabilityReason: 'OFFLINE',
        currentTripId: null,
        position: null,
        positionAt: null,
        heading: null,
        updatedAt: null,
        status: 'OFFLINE',
      };
      this.drivers.set(driverId, d);
    }
    return d;
  }

  touch(d) {
    d.status = statusOf(d);
    this.changed.add(d.id);
  }

  /**
   * A full availability snapshot (`driver:availability:update`, or one entry of the fleet
   * snapshot). An older snapshot than the one held (by `updatedAt`) is ignored: the fleet
   * snapshot can be answered after broadcasts that already carried newer states.
   */
  availability(s) {
    if (!s || typeof s.driverId !== 'string') return false;
    const d = this.entry(s.driverId);
    const at = time(s.updatedAt);
    if (d.updatedAt !== null && at !== null && at < d.updatedAt) return false;
    d.isOnline = Boolean(s.isOnline);
    d.isAvailableForTrips = Boolean(s.isAvailableForTrips);
    d.availabilityReason = s.availabilityReason ?? null;
    d.currentTripId = s.currentTripId ?? null;
    if (at !== null) d.updatedAt = at;
    this.position(d, s.lastLocation, s.lastLocationTimestamp, s.heading);
    this.touch(d);
    return true;
  }

  /**
   * `driver:location:update {driverId, lastLocation, lastLocationTimestamp, heading?}`: the
   * heading, when the update carries one, belongs to that fix (a fix without one clears it).
   */
  location(u) {
    if (!u || typeof u.driverId !== 'string') return false;
    const d = this.entry(u.driverId);
    if (!this.position(d, u.lastLocation, u.lastLocationTimestamp, u.heading)) return false;
    this.changed.add(d.id);
    return true;
  }

  /** `driver:trip:update {driverId, currentTripId, availabilityReason, isAvailableForTrips}`. */
  trip(u) {
    if (!u || typeof u.driverId !== 'string') return false;
    const d = this.entry(u.driverId);
    d.currentTripId = u.currentTripId ?? null;
    d.availabilityReason = u.availabilityReason ?? null;
    d.isAvailableForTrips = Boolean(u.isAvailableForTrips);
    this.touch(d);
    return true;
  }

  /**
   * The answer to `admin:drivers:snapshot` (every online driver): each is applied, and a driver
   * held as online but missing from it went offline while the dashboard was not listening.
   */
  replaceAll(snapshots) {
    const online = new Set();
    for (const s of Array.isArray(snapshots) ? snapshots : []) {
      if (s && typeof s.driverId === 'string') {
        online.add(s.driverId);
        this.availability(s);
      }
    }
    for (const d of this.drivers.values()) {
      if (!online.has(d.id) && d.isOnline) {
        d.isOnline = false;
        d.isAvailableForTrips = false;
        d.availabilityReason = 'OFFLINE';
        this.touch(d);
      }
    }
  }

  /**
   * Stores a newer position and its heading; returns whether either changed. A message that
   * does not carry a heading at all (`undefined`) keeps the one held while the position stays.
   */
  position(d, geo, timestamp, heading) {
    const p = pointOf(geo);
    if (!p) return false;
    const at = time(timestamp);
    if (d.positionAt !== null && at !== null && at < d.positionAt) return false;
    const same = d.position !== null && d.position.lat === p.lat && d.position.lon === p.lon;
    const h = heading === undefined && same ? d.heading : headingOf(heading);
    if (same && d.heading === h) return false;
    d.position = p;
    d.heading = h;
    if (at !== null) d.positionAt = at;
    return true;
  }

  /** Drivers per status. */
  counts() {
    const counts = Object.fromEntries(STATUSES.map((s) => [s, 0]));
    for (const d of this.drivers.values()) counts[d.status] += 1;
    return counts;
  }

  /** The ids changed since the last call. */
  takeChanged() {
    const ids = [...this.changed];
    this.changed.clear();
    return ids;
  }
}
