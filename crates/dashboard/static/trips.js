// The trips the dashboard follows: announced by `trip:requested` (room `admin:trips`), then
// followed through the events of PROTOCOL §8 once watched (`admin:trip:watch`). No DOM here.

/** Statuses in lifecycle order; the last three are final. */
export const TRIP_STATUSES = Object.freeze([
  'pending',
  'assigning',
  'accepted',
  'arriving',
  'in_progress',
  'completed',
  'cancelled',
  'no_drivers_found',
]);

const FINAL = new Set(['completed', 'cancelled', 'no_drivers_found']);

/** Whether a trip in this status can change no more. */
export function isFinal(status) {
  return FINAL.has(status);
}

const RANK = new Map(TRIP_STATUSES.map((s, i) => [s, i]));

/**
 * Whether moving from `from` to `to` goes forward. Events can arrive around a watch ack that
 * carries the trip as the store had it: a late, older status must not undo a newer one.
 */
export function advances(from, to) {
  if (!RANK.has(to)) return false;
  if (!from || !RANK.has(from)) return true;
  if (isFinal(from)) return false;
  return RANK.get(to) > RANK.get(from) || isFinal(to);
}

/** The trip events an admin watching a trip receives, and the status each implies (or null). */
export const TRIP_EVENTS = Object.freeze({
  'trip:requested': (p) => p.status ?? 'pending',
  'trip:assigning_started': () => 'assigning',
  'trip:assignment:accepted': () => 'accepted',
  'trip:assignment:rejected': () => null,
  'trip:assignment:expired': () => null,
  'trip:driver_assigned': (p) => p.currentStatus ?? 'accepted',
  'trip:arriving_started': () => 'arriving',
  'trip:driver_en_route': (p) => (p.phase === 'to_dropoff' ? 'in_progress' : 'arriving'),
  'trip:driver_arrived_pickup': () => 'arriving',
  'trip:started': () => 'in_progress',
  'trip:completed': () => 'completed',
  'trip:cancelled': () => 'cancelled',
  'trip:no_drivers_found': () => 'no_drivers_found',
});

/** The trips known, newest first, at most `limit` kept (finished ones are dropped first). */
export class Trips {
  constructor({ limit = 200 } = {}) {
    this.limit = limit;
    /** @type {Map<string, object>} */
    this.trips = new Map();
    this.nextSeq = 0;
    this.dropped = [];
  }

  entry(tripId) {
    let t = this.trips.get(tripId);
    if (!t) {
      t = {
        id: tripId,
        status: null,
        passengerId: null,
        driverId: null,
        driverName: null,
        pickup: null,
        dropoff: null,
        requestedAt: null,
        arrivedPickupAt: null,
        fareEstimate: null,
        fareTotal: null,
        currency: null,
        offersDeclined: 0,
        seq: this.nextSeq++,
      };
      this.trips.set(tripId, t);
    }
    return t;
  }

  /**
   * Applies one trip event; returns the trip when it is known after it (null for an event that
   * is not a trip event or lacks a `tripId`).
   */
  apply(event, payload) {
    const implied = TRIP_EVENTS[event];
    if (!implied || !payload || typeof payload.tripId !== 'string') return null;
    const t = this.entry(payload.tripId);
    switch (event) {
      case 'trip:requested':
        t.passengerId = payload.passengerId ?? t.passengerId;
        t.pickup = payload.pickup ?? t.pickup;
        t.dropoff = payload.dropoff ?? t.dropoff;
        t.requestedAt = payload.requestedAt ?? t.requestedAt;
        t.fareEstimate = payload.fareEstimate ?? t.fareEstimate;
        t.currency = payload.currency ?? t.currency;
        break;
      case 'trip:driver_assigned':
        t.driverId = payload.driverId ?? t.driverId;
        t.driverName = payload.driver?.name ?? t.driverName;
        break;
      case 'trip:assignment:rejected':
      case 'trip:assignment:expired':
        t.offersDeclined += 1;
        break;
      case 'trip:driver_arrived_pickup':
        t.arrivedPickupAt = payload.at ?? t.arrivedPickupAt;
        break;
      case 'trip:completed':
        t.fareTotal = payload.fareTotal ?? t.fareTotal;
        t.currency = payload.currency ?? t.currency;
        break;
      default:
        break;
    }
    if (typeof payload.driverId === 'string' && event !== 'trip:assignment:rejected' && event !== 'trip:assignment:expired') {
      t.driverId = payload.driverId;
    }
    const status = implied(payload);
    if (status && advances(t.status, status)) t.status = status;
    this.trim();
    return t;
  }

  /** Merges a trip as REST and the watch ack return it (PROTOCOL §8). */
  merge(trip) {
    if (!trip || typeof trip.id !== 'string') return null;
    const t = this.entry(trip.id);
    for (const key of ['passengerId', 'driverId', 'pickup', 'dropoff', 'requestedAt', 'arrivedPickupAt', 'fareEstimate', 'fareTotal', 'currency']) {
      if (trip[key] !== undefined && trip[key] !== null) t[key] = trip[key];
    }
    if (advances(t.status, trip.status)) t.status = trip.status;
    this.trim();
    return t;
  }

  /** Trips newest first. */
  list() {
    return [...this.trips.values()].sort((a, b) => b.seq - a.seq);
  }

  /** Trips per status. */
  counts() {
    const counts = Object.fromEntries(TRIP_STATUSES.map((s) => [s, 0]));
    for (const t of this.trips.values()) if (t.status) counts[t.status] += 1;
    return counts;
  }

  /** Drops the oldest trips beyond the limit, finished ones first; returns the dropped ids. */
  trim() {
    const dropped = [];
    if (this.trips.size <= this.limit) return dropped;
    const oldestFirst = [...this.trips.values()].sort((a, b) => a.seq - b.seq);
    for (const finishedOnly of [true, false]) {
      for (const t of oldestFirst) {
        if (this.trips.size <= this.limit) break;
        if (finishedOnly && !isFinal(t.status)) continue;
        if (this.trips.delete(t.id)) dropped.push(t.id);
      }
    }
    this.dropped.push(...dropped);
    return dropped;
  }

  /** The ids dropped since the last call (the app unwatches them). */
  takeDropped() {
    const ids = this.dropped;
    this.dropped = [];
    return ids;
  }
}
