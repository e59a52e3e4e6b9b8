// The part of the map that is plain arithmetic, kept out of map.js so it runs under Node: the box
// the fleet is framed in, and the latitude/longitude grid drawn under the tiles (the whole map
// when tiles cannot load: offline machines, a blocked tile host).

/** The default view: Havana, as the simulator's default city. */
export const HAVANA = Object.freeze({ south: 23.05, west: -82.45, north: 23.16, east: -82.3 });

/** Smallest span shown, in degrees (about 1 km), so one driver alone is not infinitely zoomed. */
export const MIN_SPAN_DEG = 0.01;

/** A latitude/longitude box that only grows, so the map does not jump at every ping. */
export class Bounds {
  /** @param {{south:number, west:number, north:number, east:number}} box */
  constructor(box) {
    this.south = box.south;
    this.west = box.west;
    this.north = box.north;
    this.east = box.east;
  }

  /**
   * The box around `points` (`[{lat, lon}]`) with a margin of `margin` of its span on each side,
   * at least MIN_SPAN_DEG wide and high; `fallback` when there are no points.
   */
  static around(points, { margin = 0.05, fallback = HAVANA } = {}) {
    if (points.length === 0) return new Bounds(fallback);
    let south = Infinity;
    let west = Infinity;
    let north = -Infinity;
    let east = -Infinity;
    for (const { lat, lon } of points) {
      south = Math.min(south, lat);
      north = Math.max(north, lat);
      west = Math.min(west, lon);
      east = Math.max(east, lon);
    }
    const latPad = Math.max((north - south) * margin, (MIN_SPAN_DEG - (north - south)) / 2, 0);
    const lonPad = Math.max((east - west) * margin, (MIN_SPAN_DEG - (east - west)) / 2, 0);
    return new Bounds({ south: south - latPad, west: west - lonPad, north: north + latPad, east: east + lonPad });
  }

  /** Whether the point is inside (edges included). */
  contains(lat, lon) {
    return lat >= this.south && lat <= this.north && lon >= this.west && lon <= this.east;
  }

  /**
   * Grows the box to hold the point, with a margin of `margin` of the new span beyond it, so a
   * driver crossing the edge does not grow the box at every ping. Returns whether it grew.
   */
  extend(lat, lon, margin = 0.1) {
    if (this.contains(lat, lon)) return false;
    const latPad = (Math.max(this.north, lat) - Math.min(this.south, lat)) * margin;
    const lonPad = (Math.max(this.east, lon) - Math.min(this.west, lon)) * margin;
    if (lat < this.south) this.south = lat - latPad;
    if (lat > this.north) this.north = lat + latPad;
    if (lon < this.west) this.west = lon - lonPad;
    if (lon > this.east) this.east = lon + lonPad;
    return true;
  }
}

/** Grid steps in degrees, from about 500 m to about 1000 km. */
const GRID_STEPS = [0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10];

/**
 * Latitude/longitude lines at a round step for `bounds`: at most `maxLines` across its larger
 * span, each with the digits its label needs.
 *
 * @returns {{step:number, digits:number, lats:number[], lons:number[]}}
 */
export function gridLines(bounds, maxLines = 12) {
  const span = Math.max(bounds.north - bounds.south, bounds.east - bounds.west);
  const step = GRID_STEPS.find((s) => span / s <= maxLines) ?? 20;
  const digits = step < 0.01 ? 3 : step < 1 ? 2 : 0;
  const at = (from, to) => {
    const lines = [];
    // Whole multiples of the step, so 23.1 is not 23.100000000000001.
    for (let k = Math.ceil(from / step - 1e-9); k * step <= to + 1e-9; k++) lines.push(Number((k * step).toFixed(6)));
    return lines;
  };
  return { step, digits, lats: at(bounds.south, bounds.north), lons: at(bounds.west, bounds.east) };
}
