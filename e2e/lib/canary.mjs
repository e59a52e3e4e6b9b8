// A healthy client that keeps being served while a test attacks the server: a driver that
// pings its position every 100 ms (half the default rate limit) from before the first hostile
// input to after the last. `stop()` then asserts that every ping was acked ok within WAIT_MS,
// that it was never disconnected nor sent an `exception` or an `auth:*` event, and that
// /health still answers — "the server alive and serving a healthy client throughout".

import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';

import { drainEvents, emitWithAck } from './server.mjs';

/** Starts the canary on `server` as `email` (a driver no attack uses). */
export async function startCanary(server, { email = 'driver3@rodando.local', intervalMs = 100 } = {}) {
  const { socket } = await server.connected(email, '/drivers');
  const state = { rounds: 0, problems: [], maxMs: 0, running: true, startedAt: performance.now() };
  let disconnect = null;
  socket.on('disconnect', (reason) => {
    disconnect = reason;
  });
  const loop = (async () => {
    for (let i = 0; state.running; i++) {
      const started = performance.now();
      try {
        const reply = await emitWithAck(socket, 'driver:location:ping', { latitude: 23 + (i % 100) * 1e-4, longitude: -82.4 });
        if (reply?.ok === true) state.rounds += 1;
        else state.problems.push(`ping ${i}: ${JSON.stringify(reply)}`);
      } catch (e) {
        state.problems.push(`ping ${i}: ${e.message}`);
      }
      state.maxMs = Math.max(state.maxMs, performance.now() - started);
      for (const { event, args } of drainEvents(socket)) {
        if (event === 'exception' || event.startsWith('auth:')) state.problems.push(`${event} ${JSON.stringify(args[0])}`);
      }
      if (disconnect !== null) {
        state.problems.push(`disconnected: ${disconnect}`);
        break;
      }
      await sleep(intervalMs);
    }
  })();

  return {
    socket,
    /** Problems so far (empty while all is well), for a check in the middle of a test. */
    problems: () => [...state.problems],
    /**
     * Stops pinging and asserts the canary was served all along; resolves `{rounds, maxMs,
     * elapsedMs}` (elapsedMs: from the start to the stop, for a check of the pace kept).
     */
    async stop() {
      state.running = false;
      await loop;
      socket.close();
      assert.deepEqual(state.problems, [], 'the healthy client was served throughout');
      assert.ok(state.rounds > 0, 'the healthy client made at least one round trip');
      const health = await fetch(`${server.url}/health`, { signal: AbortSignal.timeout(3000) });
      assert.equal(health.status, 200, 'GET /health');
      const elapsedMs = Math.round(performance.now() - state.startedAt);
      return { rounds: state.rounds, maxMs: Math.round(state.maxMs), elapsedMs };
    },
  };
}
