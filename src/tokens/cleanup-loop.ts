import { performance } from 'node:perf_hooks';
import type { SweepResult } from './types.js';

/** Node clamps any delay above this to 1 ms (TimeoutOverflowWarning) and the loop would spin (case C4). */
export const MAX_TIMER_DELAY_MS = 2_147_483_647;

export type CleanupRun = SweepResult & { readonly durationMs: number };

export interface CleanupLoopOptions {
  readonly intervalMs: number;
  readonly sweep: () => Promise<SweepResult>;
  readonly onRun?: (run: CleanupRun) => void;
  /** Defaults to a process warning, so a failing sweep is never silent. */
  readonly onError?: (err: unknown) => void;
}

/**
 * Periodic sweep (§3). The next run is scheduled only after the previous one settles, so runs never
 * overlap however slow a sweep gets; the timer is unref'd so it never keeps the process alive.
 */
export class CleanupLoop {
  readonly intervalMs: number;
  readonly #sweep: () => Promise<SweepResult>;
  readonly #onRun: ((run: CleanupRun) => void) | undefined;
  readonly #onError: (err: unknown) => void;
  #timer: NodeJS.Timeout | undefined;
  #inFlight: Promise<void> | undefined;
  #running = false;

  constructor(opts: CleanupLoopOptions) {
    const ms = opts.intervalMs;
    if (!Number.isInteger(ms) || ms < 1 || ms > MAX_TIMER_DELAY_MS) {
      throw new RangeError(`cleanup intervalMs must be an integer in 1..${MAX_TIMER_DELAY_MS}, got ${ms}`);
    }
    this.intervalMs = ms;
    this.#sweep = opts.sweep;
    this.#onRun = opts.onRun;
    this.#onError = opts.onError ?? defaultOnError;
  }

  get running(): boolean {
    return this.#running;
  }

  start(): void {
    if (this.#running) return;
    this.#running = true;
    // If a run from before a stop() is still settling, it schedules the next one itself.
    if (this.#inFlight === undefined) this.#schedule();
  }

  /** Stop scheduling; resolves once a run already under way has finished. */
  async stop(): Promise<void> {
    this.#running = false;
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    await this.#inFlight;
  }

  #schedule(): void {
    const t = setTimeout(() => {
      this.#timer = undefined;
      this.#inFlight = this.#runOnce().finally(() => {
        this.#inFlight = undefined;
        if (this.#running) this.#schedule();
      });
    }, this.intervalMs);
    t.unref();
    this.#timer = t;
  }

  async #runOnce(): Promise<void> {
    const t0 = performance.now();
    try {
      const r = await this.#sweep();
      this.#onRun?.({ removed: r.removed, remaining: r.remaining, durationMs: performance.now() - t0 });
    } catch (err) {
      try {
        this.#onError(err);
      } catch {
        // A throwing error handler must not turn into an unhandled rejection that kills the daemon.
      }
    }
  }
}

function defaultOnError(err: unknown): void {
  const msg = err instanceof Error ? err.message : String(err);
  process.emitWarning(`token cleanup run failed: ${msg}`, 'CleanupLoopWarning');
}
