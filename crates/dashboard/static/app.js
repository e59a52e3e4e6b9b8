// The dashboard page: sign-in, the `/admin` socket, and painting the fleet and the trips. State
// lives in fleet.js and trips.js; this file only connects events to it and state to the DOM (the
// map through map.js).
// Rendering is batched to one pass per animation frame, so hundreds of pings a second cost one
// repaint.

import { Fleet, STATUSES } from './fleet.js';
import { trackEnRoute } from './en_route.js';
import { Trips, TRIP_EVENTS } from './trips.js';
import { InFlightMarks, missedEndings, requestTripsSnapshot } from './in_flight.js';
import { FleetMap } from './map.js';
import { Bounds } from './projection.js';
import { ApiError, Session, explain } from './session.js';

const ACK_TIMEOUT_MS = 5000;
const TRIP_ROWS_SHOWN = 100;
/** Trips kept: room for a full `admin:trips:snapshot` (500) and those requested after it. */
const TRIPS_KEPT = 600;
/** Known trips the snapshot missed (they ended meanwhile) re-read by a watch, at most. */
const ENDED_REREAD = 30;
/** Refused handshakes that a fresh access token cures (PROTOCOL §3). */
const CURABLE_BY_REFRESH = new Set(['token_expired', 'session_expired']);

const $ = (id) => document.getElementById(id);

const state = {
  session: null,
  socket: null,
  fleet: new Fleet(),
  trips: new Trips({ limit: TRIPS_KEPT }),
  map: null,
  bounds: null,
  hiddenStatuses: new Set(),
  selectedTripId: null,
  connects: 0,
  refreshTimer: null,
  renderQueued: false,
  fullRender: true,
  tripsDirty: true,
  rows: new Map(),
};

// ---------------------------------------------------------------------------------------------
// Sign-in and session

function showLogin(message = '') {
  $('live-view').hidden = true;
  $('who').hidden = true;
  $('login-view').hidden = false;
  $('login-error').textContent = message;
  $('login-submit').disabled = false;
  setConnection('offline', 'Signed out');
  $('password').value = '';
  $('email').focus();
}

function showLive() {
  $('login-view').hidden = true;
  $('live-view').hidden = false;
  $('who').hidden = false;
  $('who-name').textContent = state.session.user?.name ?? 'Operator';
  // Leaflet measures its container: made once it is shown, told when shown again.
  if (state.map) state.map.resize();
  else if (globalThis.L) state.map = new FleetMap($('map'));
  else $('map-hint').textContent = 'The map library did not load.';
}

async function onLogin(event) {
  event.preventDefault();
  const email = $('email').value.trim();
  const password = $('password').value;
  if (!email || !password) {
    $('login-error').textContent = explain({ code: 'validation_failed' });
    return;
  }
  $('login-submit').disabled = true;
  $('login-error').textContent = '';
  try {
    state.session = await Session.login(email, password);
  } catch (e) {
    $('login-submit').disabled = false;
    $('login-error').textContent = explain(e instanceof ApiError ? e : { code: 'network' });
    return;
  }
  $('password').value = '';
  showLive();
  scheduleRefresh();
  connect();
}

async function signOut(message = '') {
  const { session, socket } = state;
  clearTimeout(state.refreshTimer);
  state.session = null;
  state.socket = null;
  if (socket) {
    socket.removeAllListeners();
    socket.io.removeAllListeners();
    socket.disconnect();
  }
  if (session && !message) {
    await session.logout().catch(() => {});
  }
  resetView();
  showLogin(message);
}

function resetView() {
  state.fleet = new Fleet();
  state.trips = new Trips({ limit: TRIPS_KEPT });
  state.bounds = null;
  state.selectedTripId = null;
  state.connects = 0;
  state.map?.clear();
  state.enRoute?.clear();
  state.inFlight?.clear();
  for (const row of state.rows.values()) row.remove();
  state.rows.clear();
  state.fullRender = true;
  state.tripsDirty = true;
  render();
}

/** Refreshes the tokens a minute before the access token expires, and tells the socket. */
function scheduleRefresh() {
  clearTimeout(state.refreshTimer);
  const delay = state.session?.refreshDelay();
  if (delay === null || delay === undefined) return;
  state.refreshTimer = setTimeout(refreshNow, delay);
}

async function refreshNow() {
  const session = state.session;
  if (!session) return false;
  try {
    await session.refresh();
  } catch (e) {
    if (e instanceof ApiError && (e.code === 'network' || e.status >= 500)) {
      state.refreshTimer = setTimeout(refreshNow, 15_000);
      return false;
    }
    await signOut('Your session ended; sign in again.');
    return false;
  }
  scheduleRefresh();
  const socket = state.socket;
  if (socket?.connected) {
    socket.timeout(ACK_TIMEOUT_MS).emit('auth:refresh', { accessToken: session.accessToken }, () => {});
  }
  return true;
}

// ---------------------------------------------------------------------------------------------
// The /admin socket

function setConnection(kind, text, detail = '') {
  const box = $('connection');
  box.dataset.state = kind;
  box.dataset.reconnects = String(Math.max(state.connects - 1, 0));
  $('connection-text').textContent = text;
  $('connection-detail').textContent = detail;
}

function reconnectDetail() {
  const n = Math.max(state.connects - 1, 0);
  const transport = state.socket?.io?.engine?.transport?.name;
  const parts = [];
  if (transport) parts.push(transport);
  parts.push(n === 1 ? '1 reconnect' : `${n} reconnects`);
  return parts.join(' · ');
}

function connect() {
  if (typeof globalThis.io !== 'function') {
    setConnection('disconnected', 'socket.io client missing');
    return;
  }
  setConnection('connecting', 'Connecting…');
  // `auth` as a function: every (re)connection sends the current access token.
  const socket = globalThis.io('/admin', {
    auth: (cb) => cb({ token: state.session?.accessToken ?? '' }),
    reconnectionDelay: 500,
    reconnectionDelayMax: 5000,
  });
  state.socket = socket;
  state.enRoute = trackEnRoute(socket, { mapOf: () => state.map, tripOf: (id) => state.trips.trips.get(id) });

  socket.on('connect', () => {
    state.connects += 1;
    setConnection('connecting', 'Joining…', reconnectDetail());
  });
  socket.on('hello', () => {
    setConnection('live', 'Live', reconnectDetail());
    requestSnapshot(socket);
    requestInFlight(socket);
  });
  socket.io.on('reconnect_attempt', (attempt) => {
    setConnection('reconnecting', `Reconnecting (attempt ${attempt})…`, reconnectDetail());
  });
  socket.io.on('open', () => {
    socket.io.engine.on('upgrade', () => {
      if (socket.connected) setConnection('live', 'Live', reconnectDetail());
    });
  });
  socket.on('disconnect', (reason) => {
    setConnection('disconnected', 'Disconnected', reason);
    if (reason === 'io server disconnect' && state.socket === socket) {
      // The server closed this socket (its access token expired, or the server is going away):
      // connect again. A refusal for an expired token is cured in `connect_error` below; a
      // revoked session ends the page's session there (or in `auth:session_revoked`).
      socket.connect();
    }
  });
  socket.on('connect_error', async (err) => {
    if (socket.active) {
      setConnection('reconnecting', 'Server unreachable, retrying…', err.message);
      return;
    }
    if (CURABLE_BY_REFRESH.has(err.message) && (await refreshNow())) {
      socket.connect();
      return;
    }
    await signOut(`Connection refused: ${err.message}.`);
  });
  socket.on('auth:session_revoked', () => {
    signOut('Your session was revoked; sign in again.');
  });

  socket.on('driver:availability:update', (s) => state.fleet.availability(s) && queueRender());
  socket.on('driver:location:update', (u) => state.fleet.location(u) && queueRender());
  socket.on('driver:trip:update', (u) => state.fleet.trip(u) && queueRender());
  for (const name of Object.keys(TRIP_EVENTS)) {
    socket.on(name, (payload) => {
      const trip = state.trips.apply(name, payload);
      if (!trip) return;
      if (name === 'trip:requested') watchTrip(socket, trip.id);
      state.tripsDirty = true;
      queueRender();
    });
  }
}

function requestSnapshot(socket) {
  socket.timeout(ACK_TIMEOUT_MS).emit('admin:drivers:snapshot', {}, (err, ack) => {
    if (err || !ack?.ok) {
      setConnection('live', 'Live (snapshot failed)', err ? 'timeout' : ack?.error?.code ?? '');
      return;
    }
    state.fleet.replaceAll(ack.data?.drivers);
    queueRender();
  });
}

/**
 * The trips in flight, watched by the same event (in_flight.js): the first paint of a dashboard
 * opened mid-day, and the catch-up after a reconnect. Known trips it no longer lists ended
 * meanwhile; a watch reads them once more.
 */
function requestInFlight(socket) {
  requestTripsSnapshot(socket, {
    timeoutMs: ACK_TIMEOUT_MS,
    onTrips: (trips) => {
      const ended = missedEndings(state.trips.list(), trips);
      // Oldest first, so the newest is listed first (trips.js lists the latest known first).
      for (const trip of [...trips].reverse()) state.trips.merge(trip);
      for (const id of ended.slice(0, ENDED_REREAD)) watchTrip(socket, id);
      state.tripsDirty = true;
      queueRender();
    },
    onError: (reason) => setConnection('live', 'Live (trips snapshot failed)', reason),
  });
}

/** Joins the trip's room; the ack's trip catches up on events sent before the watch. */
function watchTrip(socket, tripId) {
  socket.timeout(ACK_TIMEOUT_MS).emit('admin:trip:watch', { tripId }, (err, ack) => {
    if (err || !ack?.ok) return;
    state.trips.merge(ack.data?.trip);
    state.tripsDirty = true;
    queueRender();
  });
}

// ---------------------------------------------------------------------------------------------
// Rendering

function queueRender() {
  if (state.renderQueued) return;
  state.renderQueued = true;
  requestAnimationFrame(() => {
    state.renderQueued = false;
    render();
  });
}

function render() {
  renderCounts();
  renderMap();
  if (state.tripsDirty) {
    state.tripsDirty = false;
    renderTrips();
    renderTripMarks();
    renderInFlight();
  }
  const socket = state.socket;
  for (const id of state.trips.takeDropped()) {
    if (socket?.connected) socket.emit('admin:trip:unwatch', { tripId: id });
  }
}

function renderCounts() {
  const counts = state.fleet.counts();
  for (const status of STATUSES) {
    const el = $(`count-${status}`);
    el.textContent = String(counts[status]);
    el.dataset.count = String(counts[status]);
  }
  const online = counts.AVAILABLE + counts.BUSY + counts.ON_TRIP;
  $('count-online').textContent = String(online);
  $('count-online').dataset.count = String(online);
}

function positions() {
  const points = [];
  for (const d of state.fleet.drivers.values()) if (d.position) points.push(d.position);
  return points;
}

function renderMap() {
  const changed = state.fleet.takeChanged();
  const map = state.map;
  if (!map) return;
  if (!state.bounds) {
    const points = positions();
    if (points.length === 0) {
      $('map-hint').hidden = false;
      return;
    }
    state.bounds = Bounds.around(points);
    map.fitBox(state.bounds);
    state.fullRender = true;
  } else {
    // The fleet's box only grows; the view follows it until the operator pans or zooms.
    let grew = false;
    for (const id of changed) {
      const p = state.fleet.drivers.get(id)?.position;
      if (p && state.bounds.extend(p.lat, p.lon)) grew = true;
    }
    if (grew && !map.userMoved) map.fitBox(state.bounds);
  }
  $('map-hint').hidden = true;
  const ids = state.fullRender ? [...state.fleet.drivers.keys()] : changed;
  if (state.fullRender) renderTripMarks();
  state.fullRender = false;
  const selectedDriver = selectedTrip()?.driverId ?? null;
  for (const id of ids) {
    const d = state.fleet.drivers.get(id);
    if (d) map.setDriver(d, { hidden: state.hiddenStatuses.has(d.status), selected: id === selectedDriver });
  }
}

function selectedTrip() {
  return state.selectedTripId ? state.trips.trips.get(state.selectedTripId) ?? null : null;
}

/** A mark at the pickup of every trip in flight (in_flight.js). */
function renderInFlight() {
  if (!state.inFlight && state.map) state.inFlight = new InFlightMarks(state.map);
  state.inFlight?.update(state.trips.list());
}

/** Pickup (P), dropoff (D) and the line between them for the selected trip. */
function renderTripMarks() {
  state.map?.showTrip(selectedTrip());
}

const STATUS_LABELS = {
  pending: 'pending',
  assigning: 'assigning',
  accepted: 'accepted',
  arriving: 'arriving',
  in_progress: 'in progress',
  completed: 'completed',
  cancelled: 'cancelled',
  no_drivers_found: 'no driver',
};

function clock(iso) {
  const t = Date.parse(iso ?? '');
  return Number.isNaN(t) ? '' : new Date(t).toLocaleTimeString([], { hour12: false });
}

function fare(trip) {
  const amount = trip.fareTotal ?? trip.fareEstimate;
  if (typeof amount !== 'number') return '';
  return `${amount.toFixed(2)} ${trip.currency ?? ''}`;
}

/** The trip rows, keyed by trip id and updated in place, so keyboard focus survives updates. */
function renderTrips() {
  const list = state.trips.list().slice(0, TRIP_ROWS_SHOWN);
  const body = $('trip-rows');
  const keep = new Set(list.map((t) => t.id));
  for (const [id, row] of state.rows) {
    if (!keep.has(id)) {
      row.remove();
      state.rows.delete(id);
    }
  }
  let previous = null;
  for (const trip of list) {
    let row = state.rows.get(trip.id);
    if (!row) {
      row = document.createElement('tr');
      row.dataset.tripId = trip.id;
      row.tabIndex = 0;
      for (let i = 0; i < 5; i++) row.appendChild(document.createElement('td'));
      row.cells[0].className = 'id';
      row.cells[0].textContent = trip.id.slice(-8);
      row.cells[0].title = trip.id;
      row.cells[1].appendChild(document.createElement('span'));
      row.cells[2].className = 'driver';
      row.cells[4].className = 'fare';
      state.rows.set(trip.id, row);
    }
    const status = trip.status ?? 'pending';
    row.dataset.status = status;
    row.setAttribute('aria-selected', String(trip.id === state.selectedTripId));
    const badge = row.cells[1].firstChild;
    badge.className = `status ${status}`;
    badge.textContent = STATUS_LABELS[status] ?? status;
    row.cells[2].textContent = trip.driverName ?? (trip.driverId ? trip.driverId.slice(-8) : '—');
    row.cells[2].title = row.cells[2].textContent;
    row.cells[3].textContent = clock(trip.requestedAt);
    row.cells[4].textContent = fare(trip);
    const estimate = trip.fareTotal === null || trip.fareTotal === undefined;
    row.cells[4].classList.toggle('estimate', estimate);
    row.cells[4].title = estimate ? 'Estimate' : 'Final fare';
    const expectedPosition = previous ? previous.nextSibling : body.firstChild;
    if (expectedPosition !== row) body.insertBefore(row, expectedPosition);
    previous = row;
  }
  $('trips-empty').hidden = list.length > 0;
  const counts = state.trips.counts();
  const active = list.length - counts.completed - counts.cancelled - counts.no_drivers_found;
  $('trip-summary').textContent = list.length
    ? `· ${active} active · ${counts.completed} completed · ${counts.no_drivers_found} without driver`
    : '';
}

function selectTrip(tripId) {
  state.selectedTripId = state.selectedTripId === tripId ? null : tripId;
  state.tripsDirty = true;
  state.fullRender = true;
  queueRender();
}

// ---------------------------------------------------------------------------------------------
// Keyboard and controls

function onTripKey(event) {
  const row = event.target.closest('tr[data-trip-id]');
  if (!row) return;
  switch (event.key) {
    case 'Enter':
    case ' ':
      event.preventDefault();
      selectTrip(row.dataset.tripId);
      break;
    case 'ArrowDown':
      event.preventDefault();
      row.nextElementSibling?.focus();
      break;
    case 'ArrowUp':
      event.preventDefault();
      row.previousElementSibling?.focus();
      break;
    default:
      break;
  }
}

function onFilter(event) {
  const button = event.target.closest('button.filter');
  if (!button) return;
  const status = button.dataset.status;
  const shown = button.getAttribute('aria-pressed') === 'true';
  button.setAttribute('aria-pressed', String(!shown));
  if (shown) state.hiddenStatuses.add(status);
  else state.hiddenStatuses.delete(status);
  state.fullRender = true;
  queueRender();
}

function onFit() {
  const points = positions();
  state.bounds = points.length ? Bounds.around(points) : null;
  if (state.bounds) state.map?.fitBox(state.bounds);
  state.fullRender = true;
  queueRender();
}

function start() {
  $('login-form').addEventListener('submit', onLogin);
  $('logout').addEventListener('click', () => signOut());
  $('trip-rows').addEventListener('keydown', onTripKey);
  $('trip-rows').addEventListener('click', (e) => {
    const row = e.target.closest('tr[data-trip-id]');
    if (row) selectTrip(row.dataset.tripId);
  });
  document.querySelector('.filters').addEventListener('click', onFilter);
  $('fit').addEventListener('click', onFit);
  document.addEventListener('keydown', (e) => {
    if (e.key === 'Escape' && state.selectedTripId) selectTrip(state.selectedTripId);
  });
  showLogin();
}

start();
