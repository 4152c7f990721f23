import { afterEach, describe, it, expect, vi } from 'vitest';
import { CleanupLoop, MAX_TIMER_DELAY_MS, type CleanupRun } from '../../src/tokens/cleanup-loop.js';
import type { SweepResult } from '../../src/tokens/types.js';

const ok = async (): Promise<SweepResult> => ({ removed: 0, remaining: 0 });
const tick = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function captureWarnings(): { warnings: Error[]; done: () => void } {
  const warnings: Error[] = [];
  const on = (w: Error) => warnings.push(w);
  process.on('warning', on);
  return { warnings, done: () => process.off('warning', on) };
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('CleanupLoop construction', () => {
  it.each([0, -1, 1.5, Number.NaN, Infinity, 2_592_000_000, MAX_TIMER_DELAY_MS + 1])(
    'rejects intervalMs %s with a RangeError',
    (ms) => {
      expect(() => new CleanupLoop({ intervalMs: ms, sweep: ok })).toThrow(RangeError);
    },
  );

  it('accepts 1 and 2^31-1 and never emits TimeoutOverflowWarning (C4)', async () => {
    const cap = captureWarnings();
    try {
      expect(() => new CleanupLoop({ intervalMs: 2_592_000_000, sweep: ok })).toThrow(/1\.\.2147483647/);
      for (const ms of [1, MAX_TIMER_DELAY_MS]) {
        const loop = new CleanupLoop({ intervalMs: ms, sweep: ok });
        loop.start();
        await tick(5);
        await loop.stop();
      }
      await tick(5); // warnings are emitted on nextTick
      expect(cap.warnings.filter((w) => w.name === 'TimeoutOverflowWarning')).toEqual([]);
    } finally {
      cap.done();
    }
  });
});

describe('CleanupLoop running', () => {
  it('runs periodically and reports each run', async () => {
    const runs: CleanupRun[] = [];
    let n = 0;
    const loop = new CleanupLoop({
      intervalMs: 2,
      sweep: async () => ({ removed: ++n, remaining: 10 - n }),
      onRun: (r) => runs.push(r),
    });
    loop.start();
    await vi.waitFor(() => expect(runs.length).toBeGreaterThanOrEqual(3), { timeout: 2000, interval: 2 });
    await loop.stop();
    expect(runs[0]).toMatchObject({ removed: 1, remaining: 9 });
    expect(runs[0]!.durationMs).toBeGreaterThanOrEqual(0);
  });

  it('unrefs its timer so it never keeps the process alive', () => {
    const spy = vi.spyOn(globalThis, 'setTimeout');
    const loop = new CleanupLoop({ intervalMs: 60_000, sweep: ok });
    loop.start();
    const timer = spy.mock.results.at(-1)?.value as NodeJS.Timeout;
    expect(timer.hasRef()).toBe(false);
    void loop.stop();
  });

  it('never overlaps runs, however slow a sweep is', async () => {
    let active = 0;
    let maxActive = 0;
    let calls = 0;
    const loop = new CleanupLoop({
      intervalMs: 1,
      sweep: async () => {
        calls++;
        active++;
        maxActive = Math.max(maxActive, active);
        await tick(10);
        active--;
        return { removed: 0, remaining: 0 };
      },
    });
    loop.start();
    await vi.waitFor(() => expect(calls).toBeGreaterThanOrEqual(3), { timeout: 2000, interval: 2 });
    await loop.stop();
    expect(maxActive).toBe(1);
  });

  it('stop() waits for an in-flight run and then nothing more runs', async () => {
    let calls = 0;
    let finished = 0;
    let release!: () => void;
    const loop = new CleanupLoop({
      intervalMs: 1,
      sweep: async () => {
        calls++;
        await new Promise<void>((r) => (release = r));
        finished++;
        return { removed: 0, remaining: 0 };
      },
    });
    loop.start();
    await vi.waitFor(() => expect(calls).toBe(1), { timeout: 2000, interval: 1 });
    let stopped = false;
    const stopping = loop.stop().then(() => (stopped = true));
    await tick(5);
    expect(stopped).toBe(false);
    release();
    await stopping;
    expect(finished).toBe(1);
    await tick(10);
    expect(calls).toBe(1);
    expect(loop.running).toBe(false);
  });

  it('stop() before the first run cancels it', async () => {
    let calls = 0;
    const loop = new CleanupLoop({ intervalMs: 5, sweep: async () => ({ removed: calls++, remaining: 0 }) });
    loop.start();
    await loop.stop();
    await tick(20);
    expect(calls).toBe(0);
  });

  it('a failing sweep goes to onError and the loop carries on', async () => {
    const errors: unknown[] = [];
    let calls = 0;
    const loop = new CleanupLoop({
      intervalMs: 1,
      sweep: async () => {
        calls++;
        throw new Error('boom');
      },
      onError: (e) => errors.push(e),
    });
    loop.start();
    await vi.waitFor(() => expect(calls).toBeGreaterThanOrEqual(2), { timeout: 2000, interval: 2 });
    await loop.stop();
    expect(errors.length).toBeGreaterThanOrEqual(2);
    expect((errors[0] as Error).message).toBe('boom');
  });

  it('a throwing onError does not produce an unhandled rejection', async () => {
    let calls = 0;
    const loop = new CleanupLoop({
      intervalMs: 1,
      sweep: async () => {
        calls++;
        throw new Error('boom');
      },
      onError: () => {
        throw new Error('handler broke');
      },
    });
    loop.start();
    await vi.waitFor(() => expect(calls).toBeGreaterThanOrEqual(2), { timeout: 2000, interval: 2 });
    await loop.stop();
  });
});
