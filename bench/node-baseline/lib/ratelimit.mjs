// Per-socket inbound event limit, a token bucket like rodando-server's governor quota
// (RATE_LIMIT_EVENTS_PER_SEC sustained, RATE_LIMIT_BURST at once).

export class TokenBucket {
  #tokens;
  #last;

  constructor(perSec, burst, now = performance.now()) {
    this.perMs = perSec / 1000;
    this.burst = burst;
    this.#tokens = burst;
    this.#last = now;
  }

  /** Takes one token; false when the socket is over its limit. */
  take(now = performance.now()) {
    this.#tokens = Math.min(this.burst, this.#tokens + (now - this.#last) * this.perMs);
    this.#last = now;
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }
}
