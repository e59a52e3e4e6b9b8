// Hostile payloads through the official client (PROTOCOL §5, issue 8 item 2): for every inbound
// event of every namespace, garbage of every shape (missing fields, wrong types, NaN/Infinity as
// strings, huge numbers, arrays, nested objects, 60 KB strings (just under the 64 KiB packet
// limit; a larger packet costs the connection: hostile-frames.test.mjs), binary attachments), and unknown
// event names. Each gets its documented code in the ack and in an `exception` to the offending
// socket only; the offender stays connected and served, nothing is broadcast, a second socket
// of the same session hears nothing, and a healthy client of someone else is served throughout.
// Frames the official client cannot send: hostile-frames.test.mjs.

import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';

import { startCanary } from '../lib/canary.mjs';
import { assertErrorAck, assertOkAck } from '../lib/payloads.mjs';
import { drainEvents, expectEvent, recorded, startServer, WAIT_MS } from '../lib/server.mjs';

/** The largest string an event can carry: the packet limit is 64 KiB (docs/protocol.md). */
const BIG = 'x'.repeat(60_000);
/** No argument at all: `socket.emit(event, ack)`. */
const NONE = Symbol('no payload');

/** Garbage in place of the whole payload: every event that reads one refuses it. */
const GARBAGE = [
  ['no payload', NONE],
  ['null', null],
  ['true', true],
  ['a number', 42],
  ['a string', 'AVAILABLE'],
  ['an empty string', ''],
  ['an empty array', []],
  ['an array of objects', [{ tripId: randomUUID() }, {}]],
  ['nested garbage', { a: { b: { c: [1, [2, [3, { d: null }]]] } } }],
  ['a 60 KB string', BIG],
  ['a binary attachment', Buffer.from([0xde, 0xad, 0xbe, 0xef])],
  ['an object holding a binary attachment', { data: Buffer.from([1, 2, 3]) }],
  ['NaN and Infinity values (null on the wire)', { latitude: NaN, longitude: Infinity }],
];

const UUID = () => randomUUID();

/**
 * Field-level garbage per event: [label, payload, code, field?]. `field` (when given) must be
 * named in `details.fields`.
 */
const FIELD_CASES = {
  'driver:status:update': [
    ['status "NaN"', { availabilityStatus: 'NaN' }, 'validation_failed', 'availabilityStatus'],
    ['status 1e308', { availabilityStatus: 1e308 }, 'validation_failed', 'availabilityStatus'],
    ['status as a nested object', { availabilityStatus: { value: 'AVAILABLE' } }, 'validation_failed', 'availabilityStatus'],
    ['status of 60 KB', { availabilityStatus: BIG }, 'validation_failed', 'availabilityStatus'],
    ['old-client flags as strings', { isOnline: 'true', isAvailableForTrips: 'true' }, 'validation_failed'],
    ['old-client flags as huge numbers', { isOnline: 1e308, isAvailableForTrips: -1e308 }, 'validation_failed'],
  ],
  'driver:location:ping': [
    ['latitude "1e309"', { latitude: '1e309', longitude: 10 }, 'validation_failed', 'latitude'],
    ['longitude "-Infinity"', { latitude: 10, longitude: '-Infinity' }, 'validation_failed', 'longitude'],
    ['latitude 1e308', { latitude: 1e308, longitude: 10 }, 'validation_failed', 'latitude'],
    ['longitude -1e308', { latitude: 10, longitude: -1e308 }, 'validation_failed', 'longitude'],
    ['latitude 2^60', { latitude: 2 ** 60, longitude: 10 }, 'validation_failed', 'latitude'],
    ['latitude of 60 KB', { latitude: BIG, longitude: 10 }, 'validation_failed', 'latitude'],
    ['longitude as an array', { latitude: 10, longitude: [10] }, 'validation_failed', 'longitude'],
    ['accuracyMeters "NaN"', { latitude: 10, longitude: 10, accuracyMeters: 'NaN' }, 'validation_failed', 'accuracyMeters'],
    ['accuracyMeters 1e308', { latitude: 10, longitude: 10, accuracyMeters: 1e308 }, 'validation_failed', 'accuracyMeters'],
    ['heading as an object', { latitude: 10, longitude: 10, heading: { deg: 90 } }, 'validation_failed', 'heading'],
    ['speedKph "fast"', { latitude: 10, longitude: 10, speedKph: 'fast' }, 'validation_failed', 'speedKph'],
    ['recordedAt "yesterday"', { latitude: 10, longitude: 10, recordedAt: 'yesterday' }, 'validation_failed', 'recordedAt'],
    ['recordedAt 1e308', { latitude: 10, longitude: 10, recordedAt: 1e308 }, 'validation_failed', 'recordedAt'],
    ['recordedAt of 60 KB', { latitude: 10, longitude: 10, recordedAt: BIG }, 'validation_failed', 'recordedAt'],
    ['old-client lat/lng as strings', { lat: 'NaN', lng: 'Infinity' }, 'validation_failed'],
  ],
  'driver:trip:set': [
    ['tripId "NaN"', { tripId: 'NaN' }, 'validation_failed', 'tripId'],
    ['tripId 1e308', { tripId: 1e308 }, 'validation_failed', 'tripId'],
    ['tripId of 60 KB', { tripId: BIG }, 'validation_failed', 'tripId'],
    ['tripId as an object', { tripId: { id: UUID() } }, 'validation_failed', 'tripId'],
    ['tripId as an array', { tripId: [UUID()] }, 'validation_failed', 'tripId'],
    ['tripId true', { tripId: true }, 'validation_failed', 'tripId'],
    ['old-client currentTripId 42', { currentTripId: 42 }, 'validation_failed'],
  ],
  'driver:offer:accept': offerCases(),
  'driver:offer:reject': offerCases(),
  'trip:request': [
    ['no pickup', { dropoff: { latitude: 23.13, longitude: -82.38 } }, 'validation_failed', 'pickup'],
    ['pickup as a string', { pickup: 'here', dropoff: { latitude: 23.13, longitude: -82.38 } }, 'validation_failed', 'pickup'],
    ['pickup as an array', { pickup: [23.13, -82.35], dropoff: { latitude: 23.13, longitude: -82.38 } }, 'validation_failed', 'pickup'],
    ['pickup "NaN"/"Infinity"', { pickup: { latitude: 'NaN', longitude: 'Infinity' }, dropoff: { latitude: 23.13, longitude: -82.38 } }, 'validation_failed', 'pickup.latitude'],
    ['pickup latitude 1e308', { pickup: { latitude: 1e308, longitude: -82.35 }, dropoff: { latitude: 23.13, longitude: -82.38 } }, 'validation_failed', 'pickup.latitude'],
    ['pickup latitude of 60 KB', { pickup: { latitude: BIG, longitude: -82.35 }, dropoff: { latitude: 23.13, longitude: -82.38 } }, 'validation_failed', 'pickup.latitude'],
    ['pickup latitude nested', { pickup: { latitude: { deg: 23 }, longitude: -82.35 }, dropoff: { latitude: 23.13, longitude: -82.38 } }, 'validation_failed', 'pickup.latitude'],
    ['an address of 60 KB', { pickup: { latitude: 23.13, longitude: -82.35, address: BIG }, dropoff: { latitude: 23.13, longitude: -82.38 } }, 'validation_failed', 'pickup.address'],
    ['an address that is a number', { pickup: { latitude: 23.13, longitude: -82.35, address: 42 }, dropoff: { latitude: 23.13, longitude: -82.38 } }, 'validation_failed', 'pickup.address'],
    ['dropoff null', { pickup: { latitude: 23.13, longitude: -82.35 }, dropoff: null }, 'validation_failed', 'dropoff'],
    ['paymentMethod "bitcoin"', { ...trip(), paymentMethod: 'bitcoin' }, 'validation_failed', 'paymentMethod'],
    ['paymentMethod 5', { ...trip(), paymentMethod: 5 }, 'validation_failed', 'paymentMethod'],
    ['paymentMethod of 60 KB', { ...trip(), paymentMethod: BIG }, 'validation_failed', 'paymentMethod'],
    ['a passengerId smuggled in', { ...trip(), passengerId: UUID() }, 'validation_failed', 'passengerId'],
  ],
  'trip:cancel': tripRefCases(),
  'admin:trip:watch': tripRefCases(),
  'admin:trip:unwatch': tripRefCases(),
  'auth:refresh': [
    ['accessToken 42', { accessToken: 42 }, 'validation_failed', 'accessToken'],
    ['accessToken null', { accessToken: null }, 'validation_failed', 'accessToken'],
    ['accessToken as an array', { accessToken: ['a.b.c'] }, 'validation_failed', 'accessToken'],
    ['accessToken garbage', { accessToken: 'garbage' }, 'invalid_token'],
    ['accessToken of 60 KB', { accessToken: BIG }, 'invalid_token'],
  ],
};

function trip() {
  return { pickup: { latitude: 23.1367, longitude: -82.3594 }, dropoff: { latitude: 23.133, longitude: -82.383 } };
}

function offerCases() {
  return [
    ['no assignmentId', { reason: 'x' }, 'validation_failed', 'assignmentId'],
    ['assignmentId 42', { assignmentId: 42 }, 'validation_failed', 'assignmentId'],
    ['assignmentId "NaN"', { assignmentId: 'NaN' }, 'validation_failed', 'assignmentId'],
    ['assignmentId of 60 KB', { assignmentId: BIG }, 'validation_failed', 'assignmentId'],
    ['assignmentId as an array', { assignmentId: [UUID()] }, 'validation_failed', 'assignmentId'],
    ['reason 42', { assignmentId: UUID(), reason: 42 }, 'validation_failed', 'reason'],
    ['reason of 60 KB', { assignmentId: UUID(), reason: BIG }, 'validation_failed', 'reason'],
    ['reason with a NUL', { assignmentId: UUID(), reason: 'a\u0000b' }, 'validation_failed', 'reason'],
    ['an offer that does not exist', { assignmentId: UUID() }, 'not_found'],
  ];
}

function tripRefCases() {
  return [
    ['no tripId', { reason: 'x' }, 'validation_failed', 'tripId'],
    ['tripId 1e308', { tripId: 1e308 }, 'validation_failed', 'tripId'],
    ['tripId "Infinity"', { tripId: 'Infinity' }, 'validation_failed', 'tripId'],
    ['tripId of 60 KB', { tripId: BIG }, 'validation_failed', 'tripId'],
    ['tripId nested', { tripId: { id: UUID() } }, 'validation_failed', 'tripId'],
    ['a trip that does not exist', { tripId: UUID() }, 'not_found'],
  ];
}

/** The namespace and role (fleet key) that sends each inbound event. */
const INBOUND = {
  'driver:status:update': 'driver',
  'driver:location:ping': 'driver',
  'driver:trip:set': 'driver',
  'driver:offer:accept': 'driver',
  'driver:offer:reject': 'driver',
  'trip:request': 'passenger',
  'trip:cancel': 'passenger',
  'admin:trip:watch': 'admin',
  'admin:trip:unwatch': 'admin',
  'auth:refresh': 'driver',
};

/** Received events that are not the healthy driver's moves (which every admin hears). */
let canaryDriverId = null;
const unexpected = (events) =>
  events.filter((e) => !(e.event === 'driver:location:update' && e.args[0]?.driverId === canaryDriverId)).map((e) => e.event);

/** Emits `payload` (or nothing) with an ack and a generous timeout (60 KB payloads take a moment). */
function send(socket, event, payload) {
  const timed = socket.timeout(WAIT_MS * 2);
  return payload === NONE ? timed.emitWithAck(event) : timed.emitWithAck(event, payload);
}

describe('hostile payloads', { skip: process.env.SERVER_URL ? 'needs a spawned server with the rate limit lifted (SERVER_URL is set)' : false }, () => {
  let server;
  let canary;
  /** role → {socket, sibling, login}; sibling: a second socket of the same session. */
  const fleet = {};
  before(async () => {
    // The suite sends hundreds of events from one socket: the rate limit is tested elsewhere.
    server = await startServer({ env: { RATE_LIMIT_EVENTS_PER_SEC: '100000', RATE_LIMIT_BURST: '100000' } });
    canary = await startCanary(server);
    canaryDriverId = canary.socket.hello.userId;
    for (const [role, email, ns] of [
      ['driver', 'driver1@rodando.local', '/drivers'],
      ['passenger', 'passenger1@rodando.local', '/passengers'],
      ['admin', 'admin@rodando.local', '/admin'],
    ]) {
      const login = await server.login(email);
      fleet[role] = {
        login,
        socket: await server.connect(ns, login.accessToken),
        sibling: await server.connect(ns, login.accessToken),
      };
    }
  });
  after(async () => {
    await server?.close();
  });

  /**
   * Sends one hostile payload and asserts the documented answer: the ack's code (and the named
   * field), the same code in an `exception` naming the event, the offender still connected.
   */
  async function refused(role, event, payload, code, field, what) {
    const { socket } = fleet[role];
    const reply = await send(socket, event, payload);
    const error = assertErrorAck(reply, code, what);
    if (code === 'validation_failed') {
      const fields = error.details?.fields;
      assert.ok(Array.isArray(fields) && fields.length > 0, `${what}: details.fields ${JSON.stringify(error.details)}`);
      for (const f of fields) assert.equal(typeof f.field, 'string', what);
      if (field) assert.ok(fields.some((f) => f.field === field), `${what}: ${field} is named in ${JSON.stringify(fields)}`);
    }
    const exception = await expectEvent(socket, 'exception');
    assert.deepEqual(
      [exception.status, exception.event, exception.code],
      ['error', event, code],
      `${what}: exception ${JSON.stringify(exception).slice(0, 300)}`,
    );
    assert.equal(socket.connected, true, `${what}: the offender is still connected`);
  }

  for (const [event, role] of Object.entries(INBOUND)) {
    test(`${event}: garbage payloads and bad fields get their codes, only on the offending socket`, async () => {
      const cases = [...GARBAGE.map(([label, payload]) => [label, payload, 'validation_failed']), ...FIELD_CASES[event]];
      for (const [label, payload, code, field] of cases) {
        await refused(role, event, payload, code, field, `${event} with ${label}`);
      }
      // Nothing was changed or broadcast by any of it; the socket still works.
      const { socket, sibling, login } = fleet[role];
      assert.deepEqual(unexpected(drainEvents(socket)), [], `${event}: nothing else reached the offender`);
      assert.deepEqual(unexpected(recorded(sibling)), [], `${event}: the other socket of the same session heard nothing`);
      assert.equal(sibling.connected, true);
      const healthy = await send(socket, 'auth:refresh', { accessToken: login.accessToken });
      assert.equal(healthy?.ok, true, `${event}: the offender is still served: ${JSON.stringify(healthy)}`);
      assert.deepEqual(canary.problems(), [], 'the healthy client is still served');
    });
  }

  test('admin:drivers:snapshot ignores its payload, whatever it is, and answers the fleet', async () => {
    const { socket } = fleet.admin;
    for (const [label, payload] of GARBAGE) {
      const reply = await send(socket, 'admin:drivers:snapshot', payload);
      const data = assertOkAck(reply, `admin:drivers:snapshot with ${label}`);
      assert.ok(Array.isArray(data.drivers), label);
    }
    assert.deepEqual(recorded(socket).filter((e) => e.event === 'exception'), []);
  });

  test('unknown events get unknown_event on every namespace, the name echoed at most 100 characters', async () => {
    const unknown = [
      'driver:teleport',
      'trip:request:now',
      '',
      ' ',
      '__proto__',
      'constructor',
      'hello',
      'exception',
      'auth:token_expired',
      '😀'.repeat(50),
      'e'.repeat(10_000),
    ];
    const foreign = {
      driver: ['trip:request', 'trip:cancel', 'admin:drivers:snapshot', 'admin:trip:watch'],
      passenger: ['driver:location:ping', 'driver:offer:accept', 'admin:drivers:snapshot'],
      admin: ['driver:status:update', 'trip:request', 'trip:cancel'],
    };
    for (const role of ['driver', 'passenger', 'admin']) {
      const { socket } = fleet[role];
      for (const event of [...unknown, ...foreign[role]]) {
        const what = `${role} ${JSON.stringify(event).slice(0, 40)}`;
        const reply = await send(socket, event, { latitude: 1, longitude: 1 });
        assertErrorAck(reply, 'unknown_event', what);
        const exception = await expectEvent(socket, 'exception');
        assert.equal(exception.code, 'unknown_event', what);
        assert.equal(exception.event, [...event].slice(0, 100).join(''), `${what}: the echoed name`);
        assert.ok(reply.error.message.length < 600, `${what}: message of ${reply.error.message.length} chars`);
      }
      assert.equal(socket.connected, true);
      assert.deepEqual(unexpected(recorded(fleet[role].sibling)), [], `${role}: the sibling heard nothing`);
    }
  });

  // socketioxide-parser-common 0.17.3 reads the event name as a borrowed &str, which serde_json
  // cannot give for a string with an escape: the packet is unparseable and the connection is
  // dropped, so no unknown_event is sent (an upstream limit, documented in docs/protocol.md).
  // What must hold either way is checked below.
  const ESCAPED_NAMES = ['a\nb', 'a"b', 'a\\b', 'driver:location:ping\u0000'];

  test('an event name with a JSON escape costs the offender its connection, and nobody else anything', async () => {
    for (const event of ESCAPED_NAMES) {
      const { socket } = await server.connected('driver2@rodando.local', '/drivers');
      const outcome = await send(socket, event, {}).then(
        (reply) => ({ reply }),
        (e) => ({ error: e.message }),
      );
      if (outcome.reply) {
        assertErrorAck(outcome.reply, 'unknown_event', JSON.stringify(event));
      } else {
        assert.equal(outcome.error, 'socket has been disconnected', JSON.stringify(event));
      }
      socket.close();
      for (const role of ['driver', 'passenger', 'admin']) {
        assert.equal(fleet[role].socket.connected, true, `${role} still connected after ${JSON.stringify(event)}`);
      }
    }
    assert.deepEqual(canary.problems(), [], 'the healthy client is still served');
  });

  test('a payload of 4 000 unknown fields (50 KB) is refused without an answer many times its size', async () => {
    const { socket } = fleet.passenger;
    const payload = Object.fromEntries(Array.from({ length: 4_000 }, (_, i) => [`k${i}`, i]));
    const inBytes = JSON.stringify(payload).length;
    const reply = await send(socket, 'trip:request', payload);
    assertErrorAck(reply, 'validation_failed', 'trip:request with 4 000 unknown fields');
    await expectEvent(socket, 'exception');
    const outBytes = JSON.stringify(reply).length;
    assert.ok(outBytes <= inBytes, `answered ${outBytes} bytes to ${inBytes} bytes`);
  });

  test('through all of it the healthy client was served and nothing reached the admins from the offenders', async (t) => {
    const offenderId = fleet.driver.login.user.id;
    const heard = recorded(fleet.admin.sibling).filter((e) => e.event !== 'driver:location:update' || e.args[0]?.driverId === offenderId);
    assert.deepEqual(heard.map((e) => e.event), [], 'no broadcast about the offenders (only the healthy driver moved)');
    const stats = await canary.stop();
    t.diagnostic(`healthy client: ${stats.rounds} round trips in ${stats.elapsedMs} ms, slowest ${stats.maxMs} ms`);
    // It kept its pace (a ping every 100 ms plus the round trip), at least half of it, however
    // long the attacks took: a fixed count failed once the payloads shrank to 64 KiB and the
    // suite took 1.3 s.
    const pace = Math.floor(stats.elapsedMs / 200);
    assert.ok(stats.rounds >= pace, `${stats.rounds} healthy round trips in ${stats.elapsedMs} ms (at least ${pace})`);
  });
});
