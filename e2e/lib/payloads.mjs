// The payload shapes of PROTOCOL §5–§8, as checks: every key present, no key more, each value
// of its type. The scripts and tests assert every event they see against these, so a renamed or
// missing field fails loudly wherever it appears.

import assert from 'node:assert/strict';

export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
export const RFC3339_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;

// ---- value checks: each throws with the path of the bad value --------------------------------

const check = (test, expected) => (value, path) => {
  if (!test(value)) assert.fail(`${path}: expected ${expected}, got ${JSON.stringify(value)}`);
};

export const uuid = check((v) => typeof v === 'string' && UUID.test(v), 'a lowercase UUID');
export const time = check((v) => typeof v === 'string' && RFC3339_UTC.test(v) && !Number.isNaN(Date.parse(v)), 'an RFC 3339 UTC time');
export const number = check((v) => typeof v === 'number' && Number.isFinite(v), 'a finite number');
export const positiveInt = check((v) => Number.isInteger(v) && v > 0, 'a positive integer');
export const string = check((v) => typeof v === 'string', 'a string');
export const boolean = check((v) => typeof v === 'boolean', 'a boolean');

/** Exactly `expected`. */
export const is = (expected) => (value, path) => assert.deepEqual(value, expected, `${path}`);
/** One of the listed literals. */
export const oneOf = (...values) => check((v) => values.includes(v), `one of ${values.join('|')}`);
/** `null` or what `inner` accepts. */
export const nullable = (inner) => (value, path) => {
  if (value !== null) inner(value, path);
};
/** An object with exactly these keys, each checked by its check. */
export const object = (fields) => (value, path) => {
  assert.ok(value !== null && typeof value === 'object' && !Array.isArray(value), `${path}: expected an object, got ${JSON.stringify(value)}`);
  assert.deepEqual(Object.keys(value).sort(), Object.keys(fields).sort(), `${path}: keys`);
  for (const [key, fieldCheck] of Object.entries(fields)) fieldCheck(value[key], `${path}.${key}`);
};

// ---- protocol values -------------------------------------------------------------------------

const latitude = check((v) => typeof v === 'number' && v >= -90 && v <= 90, 'a latitude');
const longitude = check((v) => typeof v === 'number' && v >= -180 && v <= 180, 'a longitude');

/** GeoJSON `{type:"Point", coordinates:[longitude, latitude]}`. */
export const point = (value, path) => {
  object({ type: is('Point'), coordinates: check((c) => Array.isArray(c) && c.length === 2, '[longitude, latitude]') })(value, path);
  longitude(value.coordinates[0], `${path}.coordinates[0]`);
  latitude(value.coordinates[1], `${path}.coordinates[1]`);
};
/** A trip place `{latitude, longitude, address}`. */
export const place = object({ latitude, longitude, address: nullable(string) });

const TRIP_STATUS = ['pending', 'assigning', 'accepted', 'arriving', 'in_progress', 'completed', 'cancelled', 'no_drivers_found'];

// ---- PROTOCOL §5, §6: acks and driver broadcasts ----------------------------------------------

/** The availability snapshot (§6), also each driver ack's `data`. */
export const availabilitySnapshot = object({
  driverId: uuid,
  isOnline: boolean,
  isAvailableForTrips: boolean,
  availabilityStatus: oneOf('AVAILABLE', 'BUSY', 'OFFLINE'),
  availabilityReason: nullable(oneOf('OFFLINE', 'ON_TRIP', 'UNAVAILABLE')),
  lastLocation: nullable(point),
  lastLocationTimestamp: nullable(time),
  currentTripId: nullable(uuid),
  currentVehicleId: nullable(string),
  lastOnlineTimestamp: nullable(time),
  lastPresenceTimestamp: nullable(time),
  updatedAt: time,
});

/** A failed ack's `error` (§5): `{code, message, details?}`. */
export const errorBody = (value, path) => {
  assert.ok(value && typeof value === 'object', `${path}: expected an error object, got ${JSON.stringify(value)}`);
  const keys = Object.keys(value).filter((k) => k !== 'details').sort();
  assert.deepEqual(keys, ['code', 'message'], `${path}: keys`);
  string(value.code, `${path}.code`);
  string(value.message, `${path}.message`);
};

// ---- PROTOCOL §8: trips ----------------------------------------------------------------------

/** A trip as REST returns it and `trip:request` acks it. */
export const trip = object({
  id: uuid,
  passengerId: uuid,
  driverId: nullable(uuid),
  status: oneOf(...TRIP_STATUS),
  pickup: place,
  dropoff: place,
  requestedAt: time,
  acceptedAt: nullable(time),
  arrivedPickupAt: nullable(time),
  startedAt: nullable(time),
  completedAt: nullable(time),
  cancelledAt: nullable(time),
  fareEstimate: number,
  fareTotal: nullable(number),
  currency: string,
  paymentMethod: oneOf('cash', 'card'),
});

/** `seq` of an event of a trip's stream (issue 15): 1 for trip:requested, then one more each. */
const seq = positiveInt;
const offerClosed = object({ assignmentId: uuid, tripId: uuid, driverId: uuid, reason: nullable(string), at: time, seq });
const driverStep = object({ tripId: uuid, driverId: uuid, at: time, seq });

/** Every server → client event of §6–§8, by name. */
export const EVENTS = {
  'driver:availability:update': availabilitySnapshot,
  'driver:location:update': object({ driverId: uuid, lastLocation: point, lastLocationTimestamp: time }),
  'driver:trip:update': object({
    driverId: uuid,
    currentTripId: nullable(uuid),
    availabilityReason: nullable(oneOf('OFFLINE', 'ON_TRIP', 'UNAVAILABLE')),
    isAvailableForTrips: boolean,
  }),
  'trip:requested': object({
    tripId: uuid,
    passengerId: uuid,
    pickup: place,
    dropoff: place,
    requestedAt: time,
    fareEstimate: number,
    currency: string,
    status: oneOf(...TRIP_STATUS),
    seq,
  }),
  'trip:assigning_started': object({ tripId: uuid, at: time, seq }),
  'trip:assignment:offered': object({
    assignmentId: uuid,
    tripId: uuid,
    pickup: place,
    dropoff: place,
    distanceToPickupM: number,
    fareEstimate: number,
    currency: string,
    ttlSec: positiveInt,
    expiresAt: time,
    seq,
  }),
  'trip:assignment:accepted': offerClosed,
  'trip:assignment:rejected': offerClosed,
  'trip:assignment:expired': offerClosed,
  'trip:no_drivers_found': object({ tripId: uuid, reason: string, seq }),
  'trip:driver_assigned': object({
    tripId: uuid,
    driverId: uuid,
    driver: object({ id: uuid, name: string }),
    at: time,
    currentStatus: oneOf(...TRIP_STATUS),
    seq,
  }),
  'trip:arriving_started': object({ tripId: uuid, driverId: uuid, etaSec: number, driverPosition: nullable(point), seq }),
  'trip:driver_arrived_pickup': driverStep,
  'trip:started': driverStep,
  'trip:completed': object({ tripId: uuid, driverId: uuid, at: time, fareTotal: number, currency: string, seq }),
  'trip:cancelled': object({ tripId: uuid, cancelledBy: nullable(string), reason: nullable(string), at: time, seq }),
  exception: (value, path) => {
    assert.ok(value && typeof value === 'object', `${path}: expected an object`);
    assert.equal(value.status, 'error', `${path}.status`);
    string(value.event, `${path}.event`);
    string(value.code, `${path}.code`);
    string(value.message, `${path}.message`);
  },
};

/** Events that end a trip: nothing about it follows. */
export const TERMINAL_TRIP_EVENTS = new Set(['trip:completed', 'trip:cancelled', 'trip:no_drivers_found']);

/** Asserts that `payload` is what PROTOCOL says event `name` carries (unknown names fail). */
export function assertEventShape(name, payload) {
  const shape = EVENTS[name];
  assert.ok(shape, `no payload shape is known for event '${name}'`);
  shape(payload, name);
}

/** Asserts `{ok:true, data}` and the shape of `data` (when a check is given); returns `data`. */
export function assertOkAck(reply, what, dataShape) {
  assert.equal(reply?.ok, true, `${what} → ${JSON.stringify(reply)}`);
  assert.deepEqual(Object.keys(reply).sort(), ['data', 'ok'], `${what}: ack keys`);
  if (dataShape) dataShape(reply.data, `${what}.data`);
  return reply.data;
}

/** Asserts `{ok:false, error:{code, message, details?}}` with `code`; returns `error`. */
export function assertErrorAck(reply, code, what) {
  assert.equal(reply?.ok, false, `${what} → ${JSON.stringify(reply)?.slice(0, 500)}`);
  errorBody(reply.error, `${what}.error`);
  assert.equal(reply.error.code, code, `${what} → ${JSON.stringify(reply).slice(0, 500)}`);
  return reply.error;
}
