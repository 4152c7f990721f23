import { performance } from 'node:perf_hooks';
import type { MonotonicClock } from './types.js';

/** Process monotonic time: immune to wall-clock jumps (NTP, manual changes, suspend fixes). */
export const systemMonotonicClock: MonotonicClock = {
  now: () => performance.now(),
};

/** A clock that moves only when told to, so tests can cross a TTL without sleeping. */
export class ManualClock implements MonotonicClock {
  #t: number;

  constructor(startMs = 0) {
    if (!Number.isFinite(startMs)) throw new RangeError('ManualClock start must be a finite number');
    this.#t = startMs;
  }

  now(): number {
    return this.#t;
  }

  /** Monotonic by construction: refusing negative steps keeps tests honest about what a real clock can do. */
  advance(ms: number): void {
    if (!Number.isFinite(ms) || ms < 0) throw new RangeError(`ManualClock.advance needs a finite ms >= 0, got ${ms}`);
    this.#t += ms;
  }
}
