// Where a latitude/longitude lands on the map: a local equirectangular projection of a bounding
// box onto the SVG, the longitude scaled by cos(latitude) so a city keeps its shape. No tiles and
// no library: the machines are offline, and at city scale this is accurate to a few metres.

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

/**
 * The projection of `bounds` onto a `width` × `height` drawing with `padding` pixels on each
 * side, centred, with one scale for both axes (north up, east right).
 *
 * @returns {{project: (lat:number, lon:number) => {x:number, y:number}, scale:number}}
 */
export function projection(bounds, width, height, padding = 16) {
  const midLat = ((bounds.south + bounds.north) / 2) * (Math.PI / 180);
  const kx = Math.cos(midLat);
  const spanX = Math.max((bounds.east - bounds.west) * kx, 1e-9);
  const spanY = Math.max(bounds.north - bounds.south, 1e-9);
  const innerW = Math.max(width - 2 * padding, 1);
  const innerH = Math.max(height - 2 * padding, 1);
  const scale = Math.min(innerW / spanX, innerH / spanY);
  const offsetX = padding + (innerW - spanX * scale) / 2;
  const offsetY = padding + (innerH - spanY * scale) / 2;
  return {
    scale,
    project(lat, lon) {
      return {
        x: offsetX + (lon - bounds.west) * kx * scale,
        y: offsetY + (bounds.north - lat) * scale,
      };
    },
  };
}
