// The fleet on a map: Leaflet (vendored, the global `L`) with the tiles the server names in the
// page's <meta name="rodando-tile-url"> and their attribution, over a latitude/longitude grid
// that is all one sees where tiles cannot load (offline machines, a blocked tile host). Drivers
// are markers coloured by status, with an arrow turned to their heading when their last fix had
// one. DOM only: what to show comes from fleet.js and trips.js.

import { Bounds, HAVANA, gridLines } from './projection.js';

const ATTRIBUTION = '&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a> contributors';
const MAX_ZOOM = 19;
/** Framing the fleet never zooms closer than this (one driver alone is not a street corner). */
const FIT_MAX_ZOOM = 16;
/** Grid lines across the visible span; the grid is drawn over three times that each way. */
const GRID_LINES = 12;

/** The tile URL template the server put in the page, or null (the page opened without a server). */
export function tileUrl(doc = document) {
  const url = doc.querySelector('meta[name="rodando-tile-url"]')?.content ?? '';
  return /^https?:\/\//.test(url) ? url : null;
}

export class FleetMap {
  /** @param {HTMLElement} element the map's container, visible (Leaflet measures it) */
  constructor(element, { url = tileUrl() } = {}) {
    const L = globalThis.L;
    this.L = L;
    this.element = element;
    this.map = L.map(element, { maxZoom: MAX_ZOOM, zoomControl: false, attributionControl: true });
    // Top right: the grid's latitude labels run down the left edge.
    L.control.zoom({ position: 'topright' }).addTo(this.map);
    // Under the tiles (their pane is at 200): covered where a tile loads, seen where none does.
    this.map.createPane('grid');
    this.gridRenderer = L.svg({ pane: 'grid', padding: 1 });
    this.grid = L.layerGroup().addTo(this.map);
    this.tripLayer = L.layerGroup().addTo(this.map);
    /** @type {Map<string, {marker: object, dot: HTMLElement, arrow: HTMLElement}>} */
    this.drivers = new Map();
    this.userMoved = false;
    this.fitting = false;
    this.map.on('movestart', () => {
      if (!this.fitting) this.userMoved = true;
    });
    this.map.on('moveend', () => this.drawGrid());
    this.fitBox(HAVANA);
    this.userMoved = false;

    this.tiles = null;
    if (url) {
      // The page itself sends no referrer; tile servers (OpenStreetMap's among them) ask for one,
      // so tiles send the origin only, never a path.
      this.tiles = L.tileLayer(url, { maxZoom: MAX_ZOOM, attribution: ATTRIBUTION, referrerPolicy: 'strict-origin' });
      this.loadedTiles = 0;
      this.failedTiles = 0;
      this.tiles.on('loading', () => {
        this.loadedTiles = 0;
        this.failedTiles = 0;
      });
      this.tiles.on('tileload', () => {
        this.loadedTiles += 1;
      });
      this.tiles.on('tileerror', () => {
        this.failedTiles += 1;
      });
      this.tiles.on('load', () => {
        if (this.failedTiles === 0) this.setTiles('loaded');
        else this.setTiles(this.loadedTiles === 0 ? 'failed' : 'partial');
      });
      this.tiles.addTo(this.map);
    } else {
      this.map.attributionControl.addAttribution(ATTRIBUTION);
      this.setTiles('none');
    }
  }

  /** `loading`, `loaded`, `partial`, `failed` or `none`, on the container and in the hint. */
  setTiles(state) {
    this.element.dataset.tiles = state;
    const hint = document.getElementById('tiles-hint');
    if (hint) hint.hidden = state === 'loaded' || state === 'loading';
  }

  /** After the container was hidden or resized. */
  resize() {
    this.map.invalidateSize({ pan: false });
  }

  /** Frames `box` ({south, west, north, east}); the operator's own pan and zoom win until Fit. */
  fitBox(box) {
    this.fitting = true;
    try {
      this.map.fitBounds(
        [
          [box.south, box.west],
          [box.north, box.east],
        ],
        { animate: false, maxZoom: FIT_MAX_ZOOM, padding: [16, 16] },
      );
    } finally {
      this.fitting = false;
    }
    this.userMoved = false;
    this.drawGrid();
  }

  /** Lines every round number of degrees over and around the view, labelled at its edges. */
  drawGrid() {
    const L = this.L;
    const b = this.map.getBounds();
    const view = { south: b.getSouth(), west: b.getWest(), north: b.getNorth(), east: b.getEast() };
    if (!(view.north > view.south && view.east > view.west)) return;
    const latSpan = view.north - view.south;
    const lonSpan = view.east - view.west;
    const around = new Bounds({
      south: Math.max(view.south - latSpan, -85),
      north: Math.min(view.north + latSpan, 85),
      west: view.west - lonSpan,
      east: view.east + lonSpan,
    });
    const { digits, lats, lons } = gridLines(around, GRID_LINES * 3);
    this.grid.clearLayers();
    const line = (points) =>
      L.polyline(points, { renderer: this.gridRenderer, interactive: false, className: 'grid-line', color: '#c9d1db', weight: 1 }).addTo(this.grid);
    const label = (lat, lon, text) =>
      L.marker([lat, lon], {
        pane: 'grid',
        interactive: false,
        keyboard: false,
        icon: L.divIcon({ className: 'grid-label', html: text, iconSize: null }),
      }).addTo(this.grid);
    for (const lat of lats) {
      line([
        [lat, around.west],
        [lat, around.east],
      ]);
      if (lat > view.south && lat < view.north) label(lat, view.west, `${lat.toFixed(digits)}°`);
    }
    for (const lon of lons) {
      line([
        [around.south, lon],
        [around.north, lon],
      ]);
      if (lon > view.west && lon < view.east) label(view.south, lon, `${lon.toFixed(digits)}°`);
    }
  }

  /**
   * Shows or moves a driver (`{id, position, status, heading}` from fleet.js); `hidden` when its
   * status is filtered out, `selected` when it drives the selected trip.
   */
  setDriver(d, { hidden = false, selected = false } = {}) {
    if (!d.position) return;
    const L = this.L;
    let entry = this.drivers.get(d.id);
    const at = [d.position.lat, d.position.lon];
    if (!entry) {
      const dot = document.createElement('span');
      dot.className = 'driver-mark';
      dot.dataset.driverId = d.id;
      const arrow = document.createElement('span');
      arrow.className = 'arrow';
      dot.appendChild(arrow);
      const marker = L.marker(at, {
        icon: L.divIcon({ className: 'driver-icon', html: dot, iconSize: [24, 24] }),
        keyboard: false,
      }).addTo(this.map);
      entry = { marker, dot, arrow };
      this.drivers.set(d.id, entry);
    } else {
      entry.marker.setLatLng(at);
    }
    const { dot, arrow, marker } = entry;
    dot.dataset.lat = String(d.position.lat);
    dot.dataset.lon = String(d.position.lon);
    dot.dataset.status = d.status;
    if (d.heading === null || d.heading === undefined) {
      delete dot.dataset.heading;
      arrow.style.transform = '';
    } else {
      dot.dataset.heading = String(d.heading);
      arrow.style.transform = `rotate(${d.heading}deg)`;
    }
    dot.classList.toggle('selected', selected);
    const heading = d.heading === null || d.heading === undefined ? '' : ` · heading ${Math.round(d.heading)}°`;
    dot.title = `Driver …${d.id.slice(-8)} · ${d.status.replace('_', ' ').toLowerCase()}${heading}`;
    const element = marker.getElement();
    if (element) element.style.display = hidden ? 'none' : '';
    marker.setZIndexOffset(selected ? 1000 : 0);
  }

  /** Pickup (P), dropoff (D) and the line between them for `trip`, or nothing for null. */
  showTrip(trip) {
    const L = this.L;
    this.tripLayer.clearLayers();
    if (!trip || !trip.pickup || !trip.dropoff) return;
    const p = [trip.pickup.latitude, trip.pickup.longitude];
    const d = [trip.dropoff.latitude, trip.dropoff.longitude];
    L.polyline([p, d], { className: 'trip-line', color: '#16202c', weight: 2, dashArray: '6 4', interactive: false }).addTo(this.tripLayer);
    for (const [at, letter, kind] of [
      [p, 'P', 'pickup'],
      [d, 'D', 'dropoff'],
    ]) {
      const mark = document.createElement('span');
      mark.className = 'trip-mark';
      mark.dataset.mark = kind;
      mark.textContent = letter;
      mark.title = kind === 'pickup' ? 'Pickup' : 'Dropoff';
      L.marker(at, {
        icon: L.divIcon({ className: 'trip-mark-icon', html: mark, iconSize: [22, 22] }),
        keyboard: false,
        zIndexOffset: 2000,
      }).addTo(this.tripLayer);
    }
  }

  /** Forgets every driver and trip mark (sign-out). */
  clear() {
    for (const { marker } of this.drivers.values()) marker.remove();
    this.drivers.clear();
    this.tripLayer.clearLayers();
  }
}
