// The trips in flight when the dashboard opens (or reconnects): one `admin:trips:snapshot`
// `{watch: true}` answers every trip not finished (at most 500) and puts the socket in each
// one's room, so the trip events the page already follows keep them current. Their pickups are
// marked on the map (a dot per trip, coloured by status), moved on as the trips change, removed
// when they finish.

import { isFinal } from './trips.js';

export const TRIPS_SNAPSHOT = 'admin:trips:snapshot';

/**
 * Asks for the trips in flight, watching them; `onTrips(trips, truncated)` gets the REST trips of
 * the ack, `onError(reason)` a timeout or a refused ack.
 */
export function requestTripsSnapshot(socket, { timeoutMs, onTrips, onError = () => {} }) {
  socket.timeout(timeoutMs).emit(TRIPS_SNAPSHOT, { watch: true }, (err, ack) => {
    if (err || !ack?.ok) {
      onError(err ? 'timeout' : ack?.error?.code ?? 'refused');
      return;
    }
    const trips = Array.isArray(ack.data?.trips) ? ack.data.trips : [];
    onTrips(trips, ack.data?.truncated === true);
  });
}

/** The ids of known trips, not finished, that a snapshot did not list (they ended meanwhile). */
export function missedEndings(known, snapshot) {
  const listed = new Set(snapshot.map((t) => t.id));
  return known.filter((t) => !isFinal(t.status) && !listed.has(t.id)).map((t) => t.id);
}

/** A pickup mark per trip in flight, on its own layer of the FleetMap's Leaflet map. */
export class InFlightMarks {
  /** @param {import('./map.js').FleetMap} fleetMap */
  constructor(fleetMap) {
    this.L = fleetMap.L;
    this.layer = this.L.layerGroup().addTo(fleetMap.map);
    /** @type {Map<string, {marker: object, dot: HTMLElement}>} */
    this.marks = new Map();
  }

  /** Shows the trips of `trips` (trips.js entries) still in flight, and only those. */
  update(trips) {
    const L = this.L;
    const keep = new Set();
    for (const t of trips) {
      if (!t.pickup || isFinal(t.status) || !Number.isFinite(t.pickup.latitude) || !Number.isFinite(t.pickup.longitude)) continue;
      keep.add(t.id);
      const at = [t.pickup.latitude, t.pickup.longitude];
      let mark = this.marks.get(t.id);
      if (!mark) {
        const dot = document.createElement('span');
        dot.className = 'inflight-mark';
        dot.dataset.tripId = t.id;
        const marker = L.marker(at, {
          icon: L.divIcon({ className: 'inflight-icon', html: dot, iconSize: [14, 14] }),
          keyboard: false,
          zIndexOffset: 500,
        }).addTo(this.layer);
        mark = { marker, dot };
        this.marks.set(t.id, mark);
      } else {
        mark.marker.setLatLng(at);
      }
      const status = t.status ?? 'pending';
      mark.dot.dataset.status = status;
      mark.dot.title = `Trip …${t.id.slice(-8)} · ${status.replace('_', ' ')} · pickup${t.pickup.address ? ` ${t.pickup.address}` : ''}`;
    }
    for (const [id, { marker }] of this.marks) {
      if (!keep.has(id)) {
        marker.remove();
        this.marks.delete(id);
      }
    }
  }

  /** Forgets every mark (sign-out). */
  clear() {
    this.layer.clearLayers();
    this.marks.clear();
  }
}
