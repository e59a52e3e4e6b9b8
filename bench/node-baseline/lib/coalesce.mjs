// rodando-server's rule for `admin:drivers` (PROTOCOL §6): at most one location update per
// driver per window; the first goes at once, later ones inside the window replace a pending
// update that one timer sends when the window ends, so the latest position is never lost.

export class Coalescer {
  #slots = new Map();

  /** `send(update)` emits to the admins; `windowMs` is the throttle window. */
  constructor(windowMs, send) {
    this.windowMs = windowMs;
    this.send = send;
  }

  offer(driverId, update, now = performance.now()) {
    const slot = this.#slots.get(driverId);
    if (!slot) {
      this.#slots.set(driverId, { lastSent: now, pending: null, timer: null });
      this.send(update);
      return;
    }
    if (now >= slot.lastSent + this.windowMs) {
      slot.lastSent = now;
      slot.pending = null;
      this.send(update);
      return;
    }
    const hadPending = slot.pending !== null;
    slot.pending = update;
    if (!hadPending) {
      slot.timer = setTimeout(() => this.#flush(driverId), slot.lastSent + this.windowMs - now);
    }
  }

  #flush(driverId) {
    const slot = this.#slots.get(driverId);
    if (!slot || slot.pending === null) return;
    const update = slot.pending;
    slot.pending = null;
    slot.timer = null;
    slot.lastSent = performance.now();
    this.send(update);
  }

  /** Forgets drivers idle for four windows, as the Rust coalescer does. */
  sweep(now = performance.now()) {
    for (const [id, slot] of this.#slots) {
      if (slot.pending === null && now >= slot.lastSent + this.windowMs * 4) this.#slots.delete(id);
    }
  }

  get size() {
    return this.#slots.size;
  }
}
