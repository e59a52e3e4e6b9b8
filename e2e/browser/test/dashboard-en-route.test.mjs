// The dashboard's live-tracking module (crates/dashboard/static/en_route.js) under Node: the ETA
// label and what it keeps of `trip:driver_en_route`, without a browser or a server.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { EnRoutes, etaLabel } from '../../../crates/dashboard/static/en_route.js';

const T1 = '0190a1b2-0000-7000-8000-0000000000a1';
const D1 = '0190a1b2-0000-7000-8000-000000000001';

function enRoute(fields = {}) {
  return {
    tripId: T1,
    driverId: D1,
    driverPosition: { latitude: 23.1365, longitude: -82.359, heading: 90 },
    distanceM: 2662,
    etaSec: 342,
    phase: 'to_pickup',
    at: '2026-05-01T10:00:12Z',
    ...fields,
  };
}

describe('en-route', () => {
  it('labels the ETA in whole minutes, rounded up, never 0 for a driver on the way', () => {
    assert.equal(etaLabel(342), 'ETA 6 min');
    assert.equal(etaLabel(360), 'ETA 6 min');
    assert.equal(etaLabel(361), 'ETA 7 min');
    assert.equal(etaLabel(0), 'ETA 1 min');
    assert.equal(etaLabel(59), 'ETA 1 min');
    for (const bad of [undefined, null, -1, Number.NaN, 'soon']) assert.equal(etaLabel(bad), 'ETA —', String(bad));
  });

  it('keeps the latest position per trip, and forgets a trip that ended', () => {
    const state = new EnRoutes();
    state.apply(enRoute());
    const later = state.apply(enRoute({ driverPosition: { latitude: 23.13, longitude: -82.36 }, etaSec: 120, phase: 'to_dropoff' }));
    assert.deepEqual(later, {
      tripId: T1,
      driverId: D1,
      lat: 23.13,
      lon: -82.36,
      phase: 'to_dropoff',
      distanceM: 2662,
      etaSec: 120,
      at: '2026-05-01T10:00:12Z',
    });
    assert.equal(state.trips.size, 1);
    assert.equal(state.end(T1), true);
    assert.equal(state.end(T1), false);
    assert.equal(state.trips.size, 0);
  });

  it('ignores payloads without a trip or a finite position', () => {
    const state = new EnRoutes();
    for (const bad of [null, {}, enRoute({ tripId: 7 }), enRoute({ driverPosition: null }), enRoute({ driverPosition: { latitude: 'x', longitude: 1 } })]) {
      assert.equal(state.apply(bad), null, JSON.stringify(bad));
    }
    assert.equal(state.trips.size, 0);
  });
});
