import { performance } from 'node:perf_hooks';
import { LRUCache } from 'lru-cache';

export interface AuthWarningLimiterOptions {
  /** Fingerprints remembered (each warned about once while remembered). */
  readonly capacity?: number;
  /** Warnings about distinct tokens per window (fixed windows); past it, refusals are counted, not logged. */
  readonly budget?: number;
  readonly windowMs?: number;
  /** Monotonic milliseconds; injectable for tests. */
  readonly now?: () => number;
}

/**
 * Remembers which bad tokens were already warned about, so a client retrying a stale token
 * in a loop yields one log line, not thousands (freenet-core#2633). Bounded: an attacker
 * cycling through made-up tokens can push old entries out but never grow memory, and a budget
 * per window caps the lines such a flood writes; what it held back is told in one line later.
 */
export class AuthWarningLimiter {
  private readonly seen: LRUCache<string, true>;
  private readonly budget: number;
  private readonly windowMs: number;
  private readonly now: () => number;
  private windowStart = -Infinity;
  private warnedInWindow = 0;
  private droppedInWindow = 0;
  private droppedToReport = 0;
  private suppressedCount = 0;

  constructor(opts: AuthWarningLimiterOptions = {}) {
    this.seen = new LRUCache<string, true>({ max: opts.capacity ?? 10_000 });
    this.budget = opts.budget ?? 100;
    this.windowMs = opts.windowMs ?? 60_000;
    this.now = opts.now ?? (() => performance.now());
  }

  /** True the first time a fingerprint is seen (while it is remembered), within the budget. */
  shouldWarn(fingerprint: string): boolean {
    // The window rolls on every refusal, so an ended window's count is told by the next one.
    const now = this.now();
    if (now - this.windowStart >= this.windowMs) {
      this.windowStart = now;
      this.warnedInWindow = 0;
      this.droppedToReport += this.droppedInWindow;
      this.droppedInWindow = 0;
    }
    if (this.seen.has(fingerprint)) {
      this.suppressedCount++;
      return false;
    }
    if (this.warnedInWindow >= this.budget) {
      // Not remembered: once the flood is over, this token may still get its own line.
      this.droppedInWindow++;
      this.suppressedCount++;
      return false;
    }
    this.seen.set(fingerprint, true);
    this.warnedInWindow++;
    return true;
  }

  /**
   * Refusals whose warning the budget held back in windows that have ended (a held-back token
   * that retries counts each time): the caller logs the number, then it starts again from zero.
   */
  takeDropped(): number {
    const n = this.droppedToReport;
    this.droppedToReport = 0;
    return n;
  }

  get size(): number {
    return this.seen.size;
  }

  get suppressed(): number {
    return this.suppressedCount;
  }
}
