import { describe, it, expect } from 'vitest';
import { execFileSync } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { ManualClock } from '../../src/tokens/clock.js';
import { MemoryTokenStore, type MemoryTokenStoreOptions } from '../../src/tokens/memory-store.js';
import { isWellFormedToken } from '../../src/tokens/token.js';
import type { SnapshotEntry } from '../../src/tokens/types.js';

const TTL = 1000;
const CONTRACT = 'DCBi7HNZC3rGsNbGwJqFjMbJ5vpPdW2ZbBjWx7NJ7xEN';

function setup(over: Partial<MemoryTokenStoreOptions> = {}) {
  const clock = new ManualClock(1_000_000);
  let wall = Date.UTC(2025, 0, 1);
  const store = new MemoryTokenStore({
    ttlMs: TTL,
    maxTokens: 1_000_000,
    clock,
    wallClock: () => wall,
    ...over,
  });
  const mint = (): string => {
    const r = store.mintSync(CONTRACT);
    if (!r.ok) throw new Error('mint refused');
    return r.token;
  };
  return { clock, store, mint, moveWall: (ms: number) => (wall += ms) };
}

/** Cheap distinct well-formed tokens, so big tests measure the store and not the RNG. */
function counterTokens(): () => string {
  let i = 0;
  return () => `tok${(i++).toString(36).padStart(37, 'z')}`.replace(/[0OIl]/g, 'x');
}

describe('mint', () => {
  it('records the named fields; issuedAt from the wall clock, lastAccessed from the monotonic clock', () => {
    const { store, clock } = setup();
    const r = store.mintSync(CONTRACT, 'client-1');
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(isWellFormedToken(r.token)).toBe(true);
    expect(r.record).toMatchObject({
      contractId: CONTRACT,
      clientId: 'client-1',
      issuedAt: Date.UTC(2025, 0, 1),
      lastAccessed: clock.now(),
    });
    expect(store.resolveSync(r.token)?.contractId).toBe(CONTRACT);
    expect(store.stats().issued).toBe(1);
  });

  it('gives each mint its own clientId by default', async () => {
    const { store } = setup();
    const a = await store.mint(CONTRACT);
    const b = await store.mint(CONTRACT);
    expect(a.ok && b.ok).toBe(true);
    if (a.ok && b.ok) expect(a.record.clientId).not.toBe(b.record.clientId);
  });

  it('hands out copies holding only the public fields: never the token, nothing to corrupt expiry with', () => {
    const { store, clock, mint } = setup();
    const t = mint();
    const rec = store.resolveSync(t) as { lastAccessed: number };
    expect(Object.keys(rec).sort()).toEqual(['clientId', 'contractId', 'issuedAt', 'lastAccessed']);
    expect(JSON.stringify(store.acquireSync(t))).not.toContain(t);
    store.release(t);
    rec.lastAccessed = Number.POSITIVE_INFINITY;
    clock.advance(TTL);
    expect(store.resolveSync(t)).toBeUndefined();
  });
});

describe('expiry boundary', () => {
  it('idle == TTL is expired, TTL - 1 is not', () => {
    const { store, clock, mint } = setup();
    const t = mint();
    clock.advance(TTL - 1);
    expect(store.resolveSync(t)).toBeDefined();
    clock.advance(1);
    expect(store.resolveSync(t)).toBeUndefined();
  });

  it('sweep agrees with lookups at the boundary', () => {
    const { store, clock, mint } = setup();
    mint();
    clock.advance(TTL - 1);
    expect(store.sweepSync()).toEqual({ removed: 0, remaining: 1 });
    clock.advance(1);
    expect(store.sweepSync()).toEqual({ removed: 1, remaining: 0 });
  });
});

describe('C5 wall-clock independence', () => {
  it('a 2-day wall-clock jump forwards changes nothing; monotonic idle time decides', async () => {
    const { store, clock, mint, moveWall } = setup({ ttlMs: 60_000 });
    const t = mint();
    moveWall(2 * 24 * 3600 * 1000);
    expect(await store.sweep()).toEqual({ removed: 0, remaining: 1 });
    expect(store.resolveSync(t)).toBeDefined();
    clock.advance(59_999);
    expect((await store.sweep()).removed).toBe(0);
    clock.advance(1);
    expect(await store.sweep()).toEqual({ removed: 1, remaining: 0 });
  });

  it('a wall-clock jump backwards changes nothing either', async () => {
    const { store, clock, mint, moveWall } = setup();
    const t = mint();
    moveWall(-10 * 24 * 3600 * 1000);
    clock.advance(TTL - 1);
    await store.sweep();
    expect(store.resolveSync(t)).toBeDefined();
  });
});

describe('sliding expiry', () => {
  it('a token in use never expires, across many TTLs', async () => {
    const { store, clock, mint } = setup();
    const t = mint();
    expect(store.acquireSync(t)).toBeDefined();
    for (let i = 0; i < 50; i++) {
      clock.advance(TTL);
      expect((await store.sweep()).removed).toBe(0);
    }
    expect(store.resolveSync(t)).toBeDefined();
    expect(store.acquireSync(t)).toBeDefined(); // a second connection with the same token
  });

  it('after release it expires one TTL later', () => {
    const { store, clock, mint } = setup();
    const t = mint();
    store.acquireSync(t);
    clock.advance(TTL * 10);
    store.release(t);
    clock.advance(TTL - 1);
    expect(store.sweepSync().removed).toBe(0);
    expect(store.resolveSync(t)).toBeDefined();
    clock.advance(1);
    expect(store.sweepSync().removed).toBe(1);
    expect(store.acquireSync(t)).toBeUndefined();
  });

  it('the idle clock starts only when the last connection closes', () => {
    const { store, clock, mint } = setup();
    const t = mint();
    store.acquireSync(t);
    store.acquireSync(t);
    store.release(t);
    clock.advance(TTL * 3);
    expect(store.sweepSync().removed).toBe(0);
    store.release(t);
    clock.advance(TTL - 1);
    expect(store.resolveSync(t)).toBeDefined();
    clock.advance(1);
    expect(store.resolveSync(t)).toBeUndefined();
  });

  it('releasing more often than acquired does not underflow', () => {
    const { store, clock, mint } = setup();
    const t = mint();
    store.acquireSync(t);
    store.release(t);
    store.release(t);
    store.release('unknown');
    expect(store.acquireSync(t)).toBeDefined();
    clock.advance(TTL * 2);
    expect(store.resolveSync(t)).toBeDefined(); // still held by that one connection
  });

  it('touch extends an idle token; it does not revive an expired one', () => {
    const { store, clock, mint } = setup();
    const t = mint();
    for (let i = 0; i < 10; i++) {
      clock.advance(TTL - 1);
      store.touch(t);
    }
    expect(store.resolveSync(t)).toBeDefined();
    clock.advance(TTL);
    store.touch(t);
    expect(store.resolveSync(t)).toBeUndefined();
  });

  it('resolve is not an access', () => {
    const { store, clock, mint } = setup();
    const t = mint();
    clock.advance(TTL - 1);
    expect(store.resolveSync(t)).toBeDefined();
    clock.advance(1);
    expect(store.resolveSync(t)).toBeUndefined();
  });

  it('a disconnect keeps the token for a reconnect', () => {
    const { store, mint } = setup();
    const t = mint();
    store.acquireSync(t);
    store.release(t);
    expect(store.acquireSync(t)?.contractId).toBe(CONTRACT);
  });
});

describe('lazy refusal', () => {
  it('acquire refuses an expired token before any sweep, and removes it', async () => {
    const { store, clock, mint } = setup();
    const t = mint();
    clock.advance(TTL);
    expect(store.sizeSync()).toBe(1);
    expect(await store.acquire(t)).toBeUndefined();
    expect(store.sizeSync()).toBe(0);
    expect(store.stats().expired).toBe(1);
  });

  it('unknown tokens are refused', async () => {
    const { store } = setup();
    expect(await store.acquire('nope')).toBeUndefined();
    expect(store.resolveSync('nope')).toBeUndefined();
  });
});

describe('sweep order and cost', () => {
  it('walks from the oldest and stops at the first live token: N live + K expired visits ~K', async () => {
    const { store, clock } = setup({ generateToken: counterTokens() });
    const K = 100;
    const N = 10_000;
    for (let i = 0; i < K; i++) store.mintSync(CONTRACT);
    clock.advance(TTL / 2);
    const live: string[] = [];
    for (let i = 0; i < N; i++) {
      const r = store.mintSync(CONTRACT);
      if (r.ok) live.push(r.token);
    }
    clock.advance(TTL / 2); // first K reach idle == TTL, the rest are at TTL/2
    const before = store.stats().sweepVisited;
    expect(await store.sweep()).toEqual({ removed: K, remaining: N });
    const visited = store.stats().sweepVisited - before;
    expect(visited).toBeGreaterThanOrEqual(K);
    expect(visited).toBeLessThanOrEqual(K + 1);
  });

  it('an access moves a token to the back, so an old-but-touched token does not stop the sweep early', () => {
    const { store, clock, mint } = setup();
    const a = mint();
    const b = mint();
    const c = mint();
    clock.advance(TTL / 2);
    store.touch(a); // a is now the newest
    clock.advance(TTL / 2);
    expect(store.sweepSync().removed).toBe(2); // b and c, without visiting past a
    expect(store.resolveSync(a)).toBeDefined();
    expect(store.resolveSync(b)).toBeUndefined();
    expect(store.resolveSync(c)).toBeUndefined();
  });

  it('a bucket that is only partly expired loses exactly its expired tokens, one sweep at a time', () => {
    // TTL 1000 ms: a bucket spans 1000/256 ≈ 3.9 ms, so these three share one.
    const { store, clock, mint } = setup();
    const a = mint();
    clock.advance(1);
    const b = mint();
    clock.advance(1);
    const c = mint();
    clock.advance(TTL - 2); // a at TTL, b at TTL - 1, c at TTL - 2
    expect(store.sweepSync()).toEqual({ removed: 1, remaining: 2 });
    expect(store.resolveSync(b)).toBeDefined();
    clock.advance(1);
    expect(store.sweepSync()).toEqual({ removed: 1, remaining: 1 });
    expect(store.resolveSync(c)).toBeDefined();
    clock.advance(0.5);
    expect(store.sweepSync()).toEqual({ removed: 0, remaining: 1 });
    clock.advance(0.5);
    const before = store.stats().sweepVisited;
    expect(store.sweepSync()).toEqual({ removed: 1, remaining: 0 });
    expect(store.stats().sweepVisited - before).toBe(1); // the whole bucket went, unread
    for (const t of [a, b, c]) expect(store.resolveSync(t)).toBeUndefined();
  });

  it('tokens taken into use leave stale entries behind: compacted, never removed, never counted', () => {
    const { store, clock, mint } = setup();
    const tokens = Array.from({ length: 1000 }, () => mint()); // one bucket
    clock.advance(10); // a few buckets on
    // 900 go through a connection: each leaves a stale entry; the bucket compacts once its live ones are few.
    for (const t of tokens.slice(100)) expect(store.acquireSync(t)).toBeDefined();
    for (const t of tokens.slice(100)) store.release(t);
    const inUse = tokens[0]!;
    expect(store.acquireSync(inUse)).toBeDefined(); // leaves a stale entry too
    expect(store.sizeSync()).toBe(1000);
    for (const t of tokens) expect(store.resolveSync(t)).toBeDefined();
    // The 99 untouched idle tokens expire first, and only they go.
    clock.advance(TTL - 10);
    const before = store.stats().sweepVisited;
    expect(store.sweepSync()).toEqual({ removed: 99, remaining: 901 });
    // Compaction left at most 3 stale entries per live one to look at (plus the bucket bounds).
    expect(store.stats().sweepVisited - before).toBeLessThanOrEqual(99 * 4 + 2);
    for (const t of tokens.slice(1, 100)) expect(store.resolveSync(t)).toBeUndefined();
    for (const t of tokens.slice(100)) expect(store.resolveSync(t)).toBeDefined();
    expect(store.resolveSync(inUse)).toBeDefined();
    // The snapshot has each live token once.
    expect(new Set(store.snapshot().map((e) => e.token)).size).toBe(901);
    clock.advance(10);
    expect(store.sweepSync()).toEqual({ removed: 900, remaining: 1 });
  });

  it('a touched idle token stays put until the sweep reaches its bucket, which files it once, however often touched', () => {
    const { store, clock, mint } = setup();
    const tokens = Array.from({ length: 1000 }, () => mint()); // one bucket
    const touched = tokens.slice(100);
    for (let round = 0; round < 5; round++) {
      clock.advance(2); // each round in a later bucket
      for (const t of touched) store.touch(t);
    }
    clock.advance(1);
    const late = mint(); // a later bucket for the touched ones to be filed in
    clock.advance(1);
    for (const t of touched) store.touch(t); // past that bucket's start: they belong there now
    clock.advance(TTL - 12);
    // The untouched 100 expire; the bucket is read once and the 900 move to where they belong.
    let before = store.stats().sweepVisited;
    expect(store.sweepSync()).toEqual({ removed: 100, remaining: 901 });
    expect(store.stats().sweepVisited - before).toBeLessThanOrEqual(1000 + 2);
    expect(store.stats().refiled).toBe(900);
    for (const t of tokens.slice(0, 100)) expect(store.resolveSync(t)).toBeUndefined();
    clock.advance(10); // 1 ms short of `late`'s expiry, 2 ms short of the last touch's
    // Filed by their last access, in order: the sweep looks at one bucket's bounds and stops.
    before = store.stats().sweepVisited;
    expect(store.sweepSync()).toEqual({ removed: 0, remaining: 901 });
    expect(store.stats().sweepVisited - before).toBe(1);
    for (const t of touched) expect(store.resolveSync(t)).toBeDefined();
    clock.advance(1);
    expect(store.sweepSync()).toEqual({ removed: 1, remaining: 900 });
    expect(store.resolveSync(late)).toBeUndefined();
    clock.advance(1);
    expect(store.sweepSync()).toEqual({ removed: 900, remaining: 0 });
    expect(store.stats().refiled).toBe(900); // once, however often touched
  });

  it('a burst spreads over bounded buckets; re-filing into a full one starts a new one after it, in order', () => {
    const { store, clock, mint } = setup({ generateToken: counterTokens() });
    const t0 = clock.now();
    const at = (t: number): void => clock.advance(t - clock.now());
    const burst = Array.from({ length: 10_000 }, mint); // one instant: several full buckets
    clock.advance(TTL / 4);
    const mid = mint(); // a bucket of its own, not the back once `late` is minted
    clock.advance(TTL / 4);
    for (const t of burst) store.touch(t);
    clock.advance(1);
    const late = mint();
    at(t0 + TTL);
    // The burst's buckets are read once; all 10,000 go to `mid`'s bucket and the new ones after it.
    let before = store.stats().sweepVisited;
    expect(store.sweepSync()).toEqual({ removed: 0, remaining: 10_002 });
    expect(store.stats().sweepVisited - before).toBeLessThanOrEqual(10_000 + 4);
    expect(store.stats().refiled).toBe(10_000);
    at(t0 + TTL + TTL / 4);
    expect(store.sweepSync()).toEqual({ removed: 1, remaining: 10_001 });
    expect(store.resolveSync(mid)).toBeUndefined();
    // Those filed beside `mid` are no newer than the next bucket's start (the same instant): they stay.
    expect(store.stats().refiled).toBe(10_000);
    // What stayed beside `mid` is in order: the next sweep looks at one bucket's bounds and stops.
    before = store.stats().sweepVisited;
    expect(store.sweepSync()).toEqual({ removed: 0, remaining: 10_001 });
    expect(store.stats().sweepVisited - before).toBe(1);
    at(t0 + TTL / 2 + TTL - 1);
    expect(store.sweepSync()).toEqual({ removed: 0, remaining: 10_001 });
    for (const t of burst) expect(store.resolveSync(t)).toBeDefined();
    clock.advance(1);
    expect(store.sweepSync()).toEqual({ removed: 10_000, remaining: 1 });
    expect(store.resolveSync(late)).toBeDefined();
    clock.advance(1);
    expect(store.sweepSync()).toEqual({ removed: 1, remaining: 0 });
  });

  it('a mass expiry does not clear a token touched after the newest bucket was filled', async () => {
    const { store, clock, mint } = setup();
    const early = mint();
    clock.advance(10); // a later bucket
    const later = mint();
    clock.advance(10);
    store.touch(early); // now the newest access of all, but it sits in the oldest bucket
    clock.advance(TTL - 10); // `later` is expired, `early` has 10 ms to go
    expect(await store.sweep()).toEqual({ removed: 1, remaining: 1 });
    expect(store.resolveSync(later)).toBeUndefined();
    expect(store.resolveSync(early)).toBeDefined();
    clock.advance(10);
    expect(await store.sweep()).toEqual({ removed: 1, remaining: 0 });
  });

  it('sweepSync(limit) removes at most limit', () => {
    const { store, clock, mint } = setup();
    for (let i = 0; i < 10; i++) mint();
    clock.advance(TTL);
    expect(store.sweepSync(3)).toEqual({ removed: 3, remaining: 7 });
    expect(store.sweepSync()).toEqual({ removed: 7, remaining: 0 });
  });

  it('skips tokens in use, wherever they are', () => {
    const { store, clock, mint } = setup();
    const tokens = Array.from({ length: 5 }, mint);
    store.acquireSync(tokens[0]!);
    store.acquireSync(tokens[3]!);
    clock.advance(TTL);
    expect(store.sweepSync()).toEqual({ removed: 3, remaining: 2 });
  });
});

describe('C2 lazy-only expiry', () => {
  it('1000 minted and never read are all gone after TTL + one sweep', async () => {
    const { store, clock, mint } = setup({ ttlMs: 2000 });
    for (let i = 0; i < 1000; i++) mint();
    clock.advance(1000);
    expect((await store.sweep()).remaining).toBe(1000);
    clock.advance(1000);
    expect(await store.sweep()).toEqual({ removed: 1000, remaining: 0 });
    expect(await store.size()).toBe(0);
    expect(store.stats().expired).toBe(1000);
  });
});

describe('C3 zero/NaN expiry', () => {
  it('a never-used token is gone after TTL', async () => {
    const { store, clock, mint } = setup();
    const t = mint();
    clock.advance(TTL);
    expect((await store.sweep()).removed).toBe(1);
    expect(store.resolveSync(t)).toBeUndefined();
  });

  it('a monotonic clock returning NaN cannot create a record', async () => {
    let bad = false;
    const store = new MemoryTokenStore({
      ttlMs: TTL,
      maxTokens: 10,
      clock: { now: () => (bad ? Number.NaN : 5) },
    });
    bad = true;
    expect(() => store.mintSync(CONTRACT)).toThrow(RangeError);
    await expect(store.mint(CONTRACT)).rejects.toThrow(RangeError);
    expect(store.sizeSync()).toBe(0);
  });

  it('an infinite or undefined-ish clock is refused too', () => {
    for (const v of [Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, undefined as unknown as number]) {
      const store = new MemoryTokenStore({ ttlMs: TTL, maxTokens: 10, clock: { now: () => v } });
      expect(() => store.mintSync(CONTRACT)).toThrow(RangeError);
      expect(store.sizeSync()).toBe(0);
    }
  });

  it('a wall clock returning NaN cannot create a record', () => {
    const { store } = setup({ wallClock: () => Number.NaN });
    expect(() => store.mintSync(CONTRACT)).toThrow(RangeError);
    expect(store.sizeSync()).toBe(0);
  });

  it('a clock stepping backwards cannot make idle time negative', () => {
    let t = 10_000;
    const store = new MemoryTokenStore({ ttlMs: TTL, maxTokens: 10, clock: { now: () => t } });
    const r = store.mintSync(CONTRACT);
    if (!r.ok) throw new Error('refused');
    t = 0;
    t += TTL; // the store never saw time go back; TTL from the clamp point is not yet elapsed
    expect(store.resolveSync(r.token)).toBeDefined();
    t = 10_000 + TTL;
    expect(store.resolveSync(r.token)).toBeUndefined();
  });

  it('rejects bad options', () => {
    for (const ttlMs of [0, -1, Number.NaN, Infinity]) {
      expect(() => new MemoryTokenStore({ ttlMs, maxTokens: 1 })).toThrow(RangeError);
    }
    for (const maxTokens of [0, 1.5, Number.NaN]) {
      expect(() => new MemoryTokenStore({ ttlMs: 1, maxTokens })).toThrow(RangeError);
    }
    expect(() => new MemoryTokenStore({ ttlMs: 1, maxTokens: 1, yieldEveryMs: 0 })).toThrow(RangeError);
  });
});

describe('cap', () => {
  it('refuses at the cap and counts it', async () => {
    const { store } = setup({ maxTokens: 3 });
    for (let i = 0; i < 3; i++) expect(store.mintSync(CONTRACT).ok).toBe(true);
    expect(await store.mint(CONTRACT)).toEqual({ ok: false, reason: 'capacity' });
    expect(store.sizeSync()).toBe(3);
    expect(store.stats().refused).toBe(1);
  });

  it('never evicts a token in use or an unexpired one', () => {
    const { store, clock, mint } = setup({ maxTokens: 2 });
    const a = mint();
    const b = mint();
    store.acquireSync(a);
    clock.advance(TTL * 5); // a in use, b expired
    const c = mint(); // b's slot is reclaimed
    expect(store.resolveSync(b)).toBeUndefined();
    expect(store.mintSync(CONTRACT)).toEqual({ ok: false, reason: 'capacity' });
    expect(store.resolveSync(a)).toBeDefined();
    expect(store.resolveSync(c)).toBeDefined();
  });

  it('frees already-expired tokens from the head to make room', () => {
    const { store, clock, mint } = setup({ maxTokens: 100 });
    for (let i = 0; i < 100; i++) mint();
    clock.advance(TTL);
    expect(store.mintSync(CONTRACT).ok).toBe(true);
    expect(store.stats().expired).toBeGreaterThan(0);
    expect(store.stats().refused).toBe(0);
  });

  it('release frees no slot, expiry does', () => {
    const { store, clock, mint } = setup({ maxTokens: 1 });
    const a = mint();
    store.acquireSync(a);
    store.release(a);
    expect(store.mintSync(CONTRACT).ok).toBe(false);
    clock.advance(TTL);
    expect(store.mintSync(CONTRACT).ok).toBe(true);
  });
});

describe('snapshot / restore', () => {
  it('round-trips with idle ages, order and in-use tokens restarting their idle clock', () => {
    const { store, clock, mint } = setup();
    const old = mint();
    clock.advance(300);
    const inUse = mint();
    store.acquireSync(inUse);
    clock.advance(300);
    const recent = mint();
    clock.advance(100);

    const snap = store.snapshot();
    expect(snap.map((e) => [e.token, e.idleMs]).sort()).toEqual(
      [
        [old, 700],
        [inUse, 0],
        [recent, 100],
      ].sort(),
    );
    const json = JSON.parse(JSON.stringify(snap)) as unknown[];

    const next = setup();
    expect(next.store.restore(json)).toEqual({ restored: 3, dropped: 0 });
    expect(next.store.resolveSync(old)).toMatchObject({ contractId: CONTRACT, issuedAt: Date.UTC(2025, 0, 1) });

    next.clock.advance(299);
    expect(next.store.sweepSync().removed).toBe(0);
    next.clock.advance(1); // old reaches 1000
    const before = next.store.stats().sweepVisited;
    expect(next.store.sweepSync()).toEqual({ removed: 1, remaining: 2 });
    expect(next.store.stats().sweepVisited - before).toBe(2); // order kept: stopped right after old
    expect(next.store.resolveSync(old)).toBeUndefined();
    next.clock.advance(600); // recent at 1000 (100+900), inUse at 900
    expect(next.store.sweepSync().removed).toBe(1);
    expect(next.store.resolveSync(recent)).toBeUndefined();
    expect(next.store.resolveSync(inUse)).toBeDefined();
    next.clock.advance(100);
    expect(next.store.resolveSync(inUse)).toBeUndefined();
  });

  it('does not snapshot expired-but-unswept tokens', () => {
    const { store, clock, mint } = setup();
    mint();
    clock.advance(TTL);
    expect(store.snapshot()).toEqual([]);
  });

  it('drops expired, malformed and duplicate entries', () => {
    const { store } = setup();
    const good: SnapshotEntry = { token: 'A'.repeat(44), contractId: CONTRACT, clientId: 'c', issuedAt: 1, idleMs: 5 };
    const entries: unknown[] = [
      good,
      { ...good }, // duplicate
      { ...good, token: 'B'.repeat(44), idleMs: TTL }, // expired at the boundary
      { ...good, token: 'C'.repeat(44), idleMs: TTL * 100 },
      { ...good, token: 'D'.repeat(44), idleMs: -1 },
      { ...good, token: 'E'.repeat(44), idleMs: Number.NaN },
      { ...good, token: 'F'.repeat(44), idleMs: '5' },
      { ...good, token: 'G'.repeat(44), issuedAt: null },
      { ...good, token: 'H'.repeat(44), contractId: '' },
      { ...good, token: 'J'.repeat(44), clientId: 7 },
      { ...good, token: 'not a token!' },
      { ...good, token: '0'.repeat(44) },
      { ...good, token: undefined },
      null,
      42,
      'string',
      [],
    ];
    expect(store.restore(entries)).toEqual({ restored: 1, dropped: entries.length - 1 });
    expect(store.sizeSync()).toBe(1);
    expect(store.resolveSync(good.token)).toBeDefined();
  });

  it('respects the cap, keeping the most recently used', () => {
    const { store } = setup({ maxTokens: 2 });
    const e = (c: string, idleMs: number): SnapshotEntry => ({
      token: c.repeat(44),
      contractId: CONTRACT,
      clientId: c,
      issuedAt: 0,
      idleMs,
    });
    expect(store.restore([e('A', 500), e('B', 10), e('C', 900), e('D', 100)])).toEqual({ restored: 2, dropped: 2 });
    expect(store.resolveSync('B'.repeat(44))).toBeDefined();
    expect(store.resolveSync('D'.repeat(44))).toBeDefined();
  });

  it('merges into a non-empty store keeping last-access order', () => {
    const { store, clock, mint } = setup();
    const fresh = mint(); // idle 0 at restore
    store.restore([{ token: 'A'.repeat(44), contractId: CONTRACT, clientId: 'a', issuedAt: 0, idleMs: 900 }]);
    clock.advance(100);
    const before = store.stats().sweepVisited;
    expect(store.sweepSync().removed).toBe(1);
    expect(store.stats().sweepVisited - before).toBe(2);
    expect(store.resolveSync(fresh)).toBeDefined();
  });
});

describe('mass expiry', () => {
  it('every token expired at once and none in use: removed in one step, visiting one record', async () => {
    const { store, clock } = setup({ generateToken: counterTokens() });
    for (let i = 0; i < 50_000; i++) store.mintSync(CONTRACT);
    clock.advance(TTL);
    const visited = store.stats().sweepVisited;
    expect(await store.sweep()).toEqual({ removed: 50_000, remaining: 0 });
    expect(store.stats().sweepVisited - visited).toBe(1);
    expect(store.stats().expired).toBe(50_000);
    expect(store.sizeSync()).toBe(0);
    // The store works as before afterwards.
    const again = store.mintSync(CONTRACT);
    expect(again.ok && store.resolveSync(again.token)).toBeTruthy();
  });

  it('every idle token expired while one is in use: the idle ones go, the one in use stays', async () => {
    const { store, clock } = setup({ generateToken: counterTokens() });
    for (let i = 0; i < 20_000; i++) store.mintSync(CONTRACT);
    const held = store.mintSync(CONTRACT);
    if (!held.ok) throw new Error('mint');
    store.acquireSync(held.token);
    clock.advance(TTL * 3);
    expect(await store.sweep()).toEqual({ removed: 20_000, remaining: 1 });
    expect(store.resolveSync(held.token)?.contractId).toBe(CONTRACT);
    store.release(held.token);
    clock.advance(TTL);
    expect(await store.sweep()).toEqual({ removed: 1, remaining: 0 });
  });

  it('the newest idle token leaving the map does not fool the whole-map shortcut', () => {
    const { store, clock } = setup({ generateToken: counterTokens() });
    const a = store.mintSync(CONTRACT);
    clock.advance(TTL / 2);
    const b = store.mintSync(CONTRACT);
    if (!a.ok || !b.ok) throw new Error('mint');
    store.acquireSync(b.token); // the newest leaves the idle map...
    clock.advance(TTL / 2);
    return store.sweep().then((r) => {
      // ...a expired, b is in use: only a goes.
      expect(r).toEqual({ removed: 1, remaining: 1 });
    });
  });

  it('200k expired tokens ahead of a live one: the async sweep yields to the event loop', async () => {
    const { store, clock } = setup({ generateToken: counterTokens(), yieldEveryMs: 1 });
    const M = 200_000;
    for (let i = 0; i < M; i++) store.mintSync(CONTRACT);
    clock.advance(TTL);
    store.mintSync(CONTRACT); // one live token keeps the sweep from taking the whole-map shortcut

    // A ticker measures how long the loop goes without a turn while the sweep runs.
    let ticks = 0;
    let maxGap = 0;
    let last = performance.now();
    let running = true;
    const ticker = (): void => {
      const now = performance.now();
      maxGap = Math.max(maxGap, now - last);
      last = now;
      ticks++;
      if (running) setImmediate(ticker);
    };
    setImmediate(ticker);

    const yieldsBefore = store.stats().sweepYields;
    const result = await store.sweep();
    running = false;

    expect(result).toEqual({ removed: M, remaining: 1 });
    expect(store.stats().sweepYields - yieldsBefore).toBeGreaterThanOrEqual(2);
    expect(ticks).toBeGreaterThanOrEqual(2);
    // Loose: the point is "tens of ms at worst", not a timing benchmark on a shared machine.
    expect(maxGap).toBeLessThan(250);
  });

  it('concurrent sweeps share one run', async () => {
    const { store, clock, mint } = setup();
    for (let i = 0; i < 10; i++) mint();
    clock.advance(TTL);
    const [a, b] = await Promise.all([store.sweep(), store.sweep()]);
    expect(a).toEqual({ removed: 10, remaining: 0 });
    expect(b).toBe(a);
    await store.close();
  });
});

describe('against a naive model (random operations)', () => {
  /**
   * The reference: a plain map of token → { lastAccessed, users }, expiry by a full scan. Every
   * observable result of the store (lookups, sweep counts, sizes, snapshots) must match it, whatever
   * the buckets, partial sweeps and limits do underneath.
   */
  async function runModel(seed: number, steps: number, ttl: number, cap = 300, advanceShare = 0.25): Promise<void> {
    let s = seed >>> 0;
    const rand = (): number => {
      s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
      return s / 2 ** 32;
    };
    const { store, clock } = setup({ ttlMs: ttl, generateToken: counterTokens(), maxTokens: cap });
    const model = new Map<string, { lastAccessed: number; users: number }>();
    const known: string[] = [];
    const expired = (m: { lastAccessed: number; users: number }): boolean =>
      m.users === 0 && clock.now() - m.lastAccessed >= ttl;
    const modelLive = (t: string): { lastAccessed: number; users: number } | undefined => {
      const m = model.get(t);
      if (m === undefined) return undefined;
      if (expired(m)) {
        model.delete(t);
        return undefined;
      }
      return m;
    };
    const pick = (): string => known[Math.floor(rand() * known.length)] ?? 'none';

    // Operation shares after the clock's: mint, acquire, release, touch, resolve, sweep, snapshot.
    const rest = 1 - advanceShare;
    const at = (x: number): number => advanceShare + ((x - 0.25) / 0.75) * rest;
    for (let step = 0; step < steps; step++) {
      const r = rand();
      if (r < advanceShare) {
        // Mostly steps around the bucket width (1/256 of the TTL), so buckets straddle the expiry
        // boundary and sweeps take the partial path; sometimes a long idle stretch.
        clock.advance(rand() < 0.8 ? (rand() * ttl) / 128 : rand() * ttl * 0.6);
      } else if (r < at(0.45)) {
        const res = store.mintSync(CONTRACT);
        // The model's cap check runs after reclaiming: count only what the model holds as live.
        for (const [t, m] of model) if (expired(m) && model.size >= cap) model.delete(t);
        if (res.ok) {
          model.set(res.token, { lastAccessed: clock.now(), users: 0 });
          known.push(res.token);
        } else {
          expect([...model.values()].filter((m) => !expired(m)).length).toBeGreaterThanOrEqual(cap);
        }
      } else if (r < at(0.55)) {
        const t = pick();
        const m = modelLive(t);
        const got = store.acquireSync(t);
        expect(got !== undefined).toBe(m !== undefined);
        if (m) {
          m.users++;
          m.lastAccessed = clock.now();
        }
      } else if (r < at(0.65)) {
        const t = pick();
        store.release(t);
        const m = model.get(t);
        if (m && m.users > 0 && --m.users === 0) m.lastAccessed = clock.now();
      } else if (r < at(0.78)) {
        const t = pick();
        store.touch(t);
        const m = modelLive(t);
        if (m) m.lastAccessed = clock.now();
      } else if (r < at(0.9)) {
        const t = pick();
        expect(store.resolveSync(t) !== undefined).toBe(modelLive(t) !== undefined);
      } else if (r < at(0.97)) {
        // Half of them the cleanup loop's own async sweep (with its mass-expiry shortcut).
        const limit = rand() < 0.5 ? Infinity : 1 + Math.floor(rand() * 5);
        const before = store.sizeSync();
        const { removed, remaining } = limit === Infinity && rand() < 0.5 ? await store.sweep() : store.sweepSync(limit);
        const dead = [...model].filter(([, m]) => expired(m)).map(([t]) => t);
        expect(removed).toBeLessThanOrEqual(Math.min(limit, before));
        if (limit === Infinity) {
          for (const t of dead) model.delete(t);
          expect(remaining).toBe(model.size);
        }
      } else {
        // Snapshot and restore into a fresh store sharing the clock: same live set.
        const snap = store.snapshot();
        const liveNow = [...model].filter(([, m]) => !expired(m)).map(([t]) => t).sort();
        expect(snap.map((e) => e.token).sort()).toEqual(liveNow);
      }
    }
    // Final full sweep: exactly the model's live tokens remain, and each resolves.
    store.sweepSync();
    for (const [t, m] of [...model]) if (expired(m)) model.delete(t);
    expect(store.sizeSync()).toBe(model.size);
    for (const t of model.keys()) expect(store.resolveSync(t)).toBeDefined();
  }

  for (const seed of [1, 2, 3, 4, 5, 6, 7, 8]) {
    it(`seed ${seed}: 6,000 operations agree with the model`, async () => runModel(seed, 6000, seed % 2 === 0 ? 1000 : 256));
  }
  // Few clock steps and many tokens: buckets of hundreds, most of whose tokens move on, so stale
  // entries pile up and buckets compact (and get swept) with stale entries among live ones.
  for (const seed of [11, 12, 13, 14]) {
    it(`seed ${seed}: 20,000 operations on up to 3,000 tokens agree with the model`, async () =>
      runModel(seed, 20_000, seed % 2 === 0 ? 1000 : 256, 3000, 0.01));
  }
});

describe('memory held by idle buckets', () => {
  it('tokens moving through many buckets leave no memory behind in the buckets they left', () => {
    // Heap figures need --expose-gc, so this runs in a child process against the built store.
    const script = `
      import { MemoryTokenStore } from ${JSON.stringify(new URL('../../dist/tokens/memory-store.js', import.meta.url).href)};
      let t = 0;
      const s = new MemoryTokenStore({ ttlMs: 256_000, maxTokens: 1e6, clock: { now: () => t } });
      const toks = [];
      for (let i = 0; i < 50_000; i++) toks.push(s.mintSync('c').token);
      gc(); gc();
      const before = process.memoryUsage().heapUsed;
      // Each round is a new bucket (1/256 of the TTL later) and every token moves into it.
      for (let round = 0; round < 100; round++) { t += 1000; for (const x of toks) s.touch(x); }
      gc(); gc();
      process.stdout.write(JSON.stringify({ grownMb: (process.memoryUsage().heapUsed - before) / 1e6, size: s.sizeSync() }));
    `;
    const out = execFileSync(process.execPath, ['--expose-gc', '--input-type=module', '-e', script], { encoding: 'utf8' });
    const { grownMb, size } = JSON.parse(out) as { grownMb: number; size: number };
    expect(size).toBe(50_000);
    // Without trimming, each emptied bucket kept an array sized for all 50k tokens: ~110 MB here.
    expect(grownMb).toBeLessThan(15);
  });
});
