// Exponential backoff as netbird configures cenkalti/backoff for the
// conntrack listener: 5 s initial, x1.5, +-50 % jitter, at most 5 min, retried
// forever. Randomness is injectable so tests can pin the delays.

/** Options of an {@link ExponentialBackoff}; the defaults are netbird's. */
export interface BackoffOptions {
  /** First delay in ms, before jitter (default 5000). */
  initialMs?: number;
  /** Growth of the delay per attempt (default 1.5). */
  multiplier?: number;
  /** Jitter: each delay is uniform within +- this fraction of the current delay (default 0.5). */
  randomization?: number;
  /** Cap of the un-jittered delay in ms (default 300000, 5 min). */
  maxMs?: number;
  /** A number in [0, 1) (default Math.random). */
  random?: () => number;
}

export const RECONNECT_INITIAL_MS = 5000;
export const RECONNECT_MULTIPLIER = 1.5;
export const RECONNECT_RANDOMIZATION = 0.5;
export const RECONNECT_MAX_MS = 5 * 60 * 1000;

/**
 * Exponential backoff with jitter, as netbird configures cenkalti/backoff for
 * its conntrack listener (5 s initial, x1.5, +-50 %, at most 5 min, retried
 * forever). `next()` gives the next delay, `reset()` starts over after success.
 */
export class ExponentialBackoff {
  private readonly initial: number;
  private readonly multiplier: number;
  private readonly randomization: number;
  private readonly max: number;
  private readonly random: () => number;
  private current: number;

  constructor(o: BackoffOptions = {}) {
    this.initial = o.initialMs ?? RECONNECT_INITIAL_MS;
    this.multiplier = o.multiplier ?? RECONNECT_MULTIPLIER;
    this.randomization = o.randomization ?? RECONNECT_RANDOMIZATION;
    this.max = o.maxMs ?? RECONNECT_MAX_MS;
    this.random = o.random ?? Math.random;
    this.current = this.initial;
  }

  /** Start over from `initialMs` (after a success). */
  reset(): void {
    this.current = this.initial;
  }

  /**
   * The next delay: uniformly within current +- randomization * current; then
   * current grows by the multiplier, capped at max (the cap applies to the
   * un-jittered interval, so a delay can exceed max by the jitter, as in cenkalti).
   */
  next(): number {
    const delta = this.randomization * this.current;
    const min = this.current - delta;
    const delay = min + this.random() * (2 * delta + 1);
    this.current = this.current >= this.max / this.multiplier ? this.max : this.current * this.multiplier;
    return Math.floor(delay);
  }
}
