/**
 * Time for the benchmarks. `elapsedMs` is the real clock, saved before any store patches the
 * globals. `OffsetClock` is the clock the stores see: real monotonic time plus an offset that a
 * benchmark can jump forward, so a TTL passes instantly while time still flows between operations
 * (@isaacs/ttlcache buckets keys per millisecond; a frozen clock would put 1,000,000 keys into one
 * bucket and make each of its touches O(N), which no real deployment sees).
 */
import { performance } from 'node:perf_hooks';

const realPerfNow = performance.now.bind(performance);
const realDateNow = Date.now;

/** Real monotonic milliseconds, immune to the patches below. */
export const elapsedMs = () => realPerfNow();

export class OffsetClock {
  offset = 0;
  /** Bound, so it can be handed around as `{ now }` or as a bare function. */
  now = () => realPerfNow() + this.offset;

  advance(ms) {
    this.offset += ms;
  }
}

/**
 * For stores that read the global clocks themselves (node-cache: Date.now; @isaacs/ttlcache:
 * performance.now). Each store runs in its own child process, so this touches nothing else.
 */
export function patchGlobalClocks(clock) {
  // Installed once per process; later calls only switch the clock read. Replacing the globals
  // again would hand the store's compiled code a new function to deoptimize on.
  patchedClock = clock;
  if (patched) return;
  patched = true;
  performance.now = () => realPerfNow() + patchedClock.offset;
  Date.now = () => realDateNow() + patchedClock.offset;
}
let patched = false;
let patchedClock;

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
