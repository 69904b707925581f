// Exponential backoff as netbird configures cenkalti/backoff for the
// conntrack listener: 5 s initial, x1.5, +-50 % jitter, at most 5 min, retried
// forever. Randomness is injectable so tests can pin the delays.

export interface BackoffOptions {
  initialMs?: number;
  multiplier?: number;
  randomization?: number;
  maxMs?: number;
  /** A number in [0, 1) (default Math.random). */
  random?: () => number;
}

export const RECONNECT_INITIAL_MS = 5000;
export const RECONNECT_MULTIPLIER = 1.5;
export const RECONNECT_RANDOMIZATION = 0.5;
export const RECONNECT_MAX_MS = 5 * 60 * 1000;

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
