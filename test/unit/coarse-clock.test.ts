import { describe, expect, it } from 'vitest';
import { setTimeout as sleep } from 'node:timers/promises';
import { CoarseClock, ManualClock } from '../../src/tokens/clock.js';
import { MemoryTokenStore } from '../../src/tokens/memory-store.js';

describe('CoarseClock', () => {
  it('reuses one reading within a synchronous stretch and reads again once timers have run', async () => {
    const source = new ManualClock(1000);
    let reads = 0;
    const clock = new CoarseClock({ now: () => (reads++, source.now()) }, 1);
    expect(clock.now()).toBe(1000);
    source.advance(500);
    expect(clock.now()).toBe(1000); // same turn: the reading stands
    expect(reads).toBe(1);
    await sleep(5);
    expect(clock.now()).toBe(1500);
    expect(reads).toBe(2);
  });

  it('reads whole milliseconds (small integers stay unboxed in the records)', async () => {
    let t = 1000.75;
    const clock = new CoarseClock({ now: () => t }, 1);
    expect(clock.now()).toBe(1000);
    t = 1001.999;
    await sleep(5);
    expect(clock.now()).toBe(1001);
  });

  it('a store on a clock that starts below zero keeps its times (no clamp to a made-up start)', () => {
    const clock = new ManualClock(-5000);
    const store = new MemoryTokenStore({ ttlMs: 100, maxTokens: 10, clock });
    const minted = store.mintSync('c');
    if (!minted.ok) throw new Error('mint refused');
    expect(minted.record.lastAccessed).toBe(-5000);
    clock.advance(99);
    expect(store.resolveSync(minted.token)).toBeDefined();
    clock.advance(1);
    expect(store.resolveSync(minted.token)).toBeUndefined();
  });

  it('refuses a resolution that is not a finite number > 0', () => {
    const source = new ManualClock();
    for (const bad of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => new CoarseClock(source, bad)).toThrow(RangeError);
    }
  });

  it('is the memory store default, and a token still expires on time across turns', async () => {
    const store = new MemoryTokenStore({ ttlMs: 40, maxTokens: 10 });
    const minted = store.mintSync('c');
    if (!minted.ok) throw new Error('mint refused');
    expect(store.resolveSync(minted.token)).toBeDefined();
    await sleep(80);
    expect(store.resolveSync(minted.token)).toBeUndefined();
  });
});
