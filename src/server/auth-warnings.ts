import { LRUCache } from 'lru-cache';

/**
 * Remembers which bad tokens were already warned about, so a client retrying a stale token
 * in a loop yields one log line, not thousands (freenet-core#2633). Bounded: an attacker
 * cycling through made-up tokens can push old entries out but never grow memory.
 */
export class AuthWarningLimiter {
  private readonly seen: LRUCache<string, true>;
  private suppressedCount = 0;

  constructor(readonly capacity = 10_000) {
    this.seen = new LRUCache<string, true>({ max: capacity });
  }

  /** True the first time a fingerprint is seen (while it is remembered). */
  shouldWarn(fingerprint: string): boolean {
    if (this.seen.has(fingerprint)) {
      this.suppressedCount++;
      return false;
    }
    this.seen.set(fingerprint, true);
    return true;
  }

  get size(): number {
    return this.seen.size;
  }

  get suppressed(): number {
    return this.suppressedCount;
  }
}
