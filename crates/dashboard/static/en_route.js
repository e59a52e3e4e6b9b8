// Live tracking on the map: for each watched trip whose driver is on the way (`arriving`) or
// driving (`in_progress`), `trip:driver_en_route` (at most one a second per trip) puts an
// "ETA n min" label at the driver's position and a line from it to where it heads (the pickup,
// then the dropoff). Gone at `trip:completed` / `trip:cancelled`. The driver's own dot keeps
// moving with `driver:location:update` (fleet.js); this only adds the trip's side of it.

/** "ETA n min", rounded up to whole minutes (never "0 min" for a driver still on the way). */
export function etaLabel(etaSec) {
  if (typeof etaSec !== 'number' || !Number.isFinite(etaSec) || etaSec < 0) return 'ETA —';
  return `ETA ${Math.max(1, Math.ceil(etaSec / 60))} min`;
}

/** The latest en-route position of each trip. No DOM here. */
export class EnRoutes {
  constructor() {
    /** @type {Map<string, object>} */
    this.trips = new Map();
  }

  /** Keeps a `trip:driver_en_route` payload; returns the entry, or null for a malformed one. */
  apply(p) {
    const position = p?.driverPosition;
    if (typeof p?.tripId !== 'string' || !Number.isFinite(position?.latitude) || !Number.isFinite(position?.longitude)) {
      return null;
    }
    const entry = {
      tripId: p.tripId,
      driverId: p.driverId ?? null,
      lat: position.latitude,
      lon: position.longitude,
      phase: p.phase === 'to_dropoff' ? 'to_dropoff' : 'to_pickup',
      distanceM: p.distanceM,
      etaSec: p.etaSec,
      at: p.at ?? null,
    };
    this.trips.set(p.tripId, entry);
    return entry;
  }

  /** Forgets a trip that ended; true if it was tracked. */
  end(tripId) {
    return this.trips.delete(tripId);
  }
}

/** The labels and lines on a Leaflet map (`L`, `map`), one group per trip. */
export class EnRouteLayer {
  constructor(L, map) {
    this.L = L;
    this.layer = L.layerGroup().addTo(map);
    /** @type {Map<string, {label: object, text: HTMLElement, line: object}>} */
    this.marks = new Map();
  }

  /** Draws or moves `entry`'s label, and its line to `target` ({latitude, longitude}) if known. */
  show(entry, target) {
    const L = this.L;
    const at = [entry.lat, entry.lon];
    let mark = this.marks.get(entry.tripId);
    if (!mark) {
      const text = document.createElement('span');
      text.className = 'eta-label';
      text.dataset.tripId = entry.tripId;
      const label = L.marker(at, {
        icon: L.divIcon({ className: 'eta-label-icon', html: text, iconSize: null, iconAnchor: [-14, 10] }),
        interactive: false,
        keyboard: false,
        zIndexOffset: 1500,
      }).addTo(this.layer);
      const line = L.polyline([at, at], { className: 'en-route-line', color: '#7b3fe4', weight: 3, interactive: false }).addTo(this.layer);
      mark = { label, text, line };
      this.marks.set(entry.tripId, mark);
    } else {
      mark.label.setLatLng(at);
    }
    mark.line.setLatLngs(target ? [at, [target.latitude, target.longitude]] : [at, at]);
    const { text } = mark;
    text.textContent = etaLabel(entry.etaSec);
    text.dataset.etaSec = String(entry.etaSec);
    text.dataset.phase = entry.phase;
    text.dataset.lat = String(entry.lat);
    text.dataset.lon = String(entry.lon);
    const km = Number.isFinite(entry.distanceM) ? ` · ${(entry.distanceM / 1000).toFixed(1)} km` : '';
    text.title = `${entry.phase === 'to_pickup' ? 'To the pickup' : 'To the dropoff'}${km}`;
  }

  remove(tripId) {
    const mark = this.marks.get(tripId);
    if (!mark) return;
    mark.label.remove();
    mark.line.remove();
    this.marks.delete(tripId);
  }

  clear() {
    this.layer.clearLayers();
    this.marks.clear();
  }
}

/**
 * Follows `trip:driver_en_route` on `socket` (an `/admin` socket; it hears the trips it watches).
 * `mapOf()` is the page's FleetMap or null (made once the live view shows); `tripOf(id)` is the
 * trip as trips.js knows it (for its pickup and dropoff), or undefined. Returns `{clear}` for
 * sign-out.
 */
export function trackEnRoute(socket, { mapOf, tripOf }) {
  const state = new EnRoutes();
  let layer = null;
  const layerNow = () => {
    const map = mapOf();
    if (!layer && map?.L && map?.map) layer = new EnRouteLayer(map.L, map.map);
    return layer;
  };
  socket.on('trip:driver_en_route', (payload) => {
    const entry = state.apply(payload);
    if (!entry) return;
    const trip = tripOf(entry.tripId);
    layerNow()?.show(entry, entry.phase === 'to_pickup' ? trip?.pickup : trip?.dropoff);
  });
  for (const ended of ['trip:completed', 'trip:cancelled']) {
    socket.on(ended, (payload) => {
      if (typeof payload?.tripId === 'string' && state.end(payload.tripId)) layer?.remove(payload.tripId);
    });
  }
  return {
    clear() {
      state.trips.clear();
      layer?.clear();
    },
  };
}
