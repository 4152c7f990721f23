/**
 * The behaviour every TokenStore must show (§3), run against each implementation: the memory store
 * with a manual clock, Redis with real time. Only the public async interface is used, and every
 * time step is a fraction of the TTL with a wide margin, so a store whose clock is real (Redis keys'
 * own expiry, a lease refresh, a fire-and-forget touch) passes as reliably as a manual clock.
 *
 * Probing a token means acquiring it, which is itself an access; so each test probes only where
 * that does not disturb what it checks.
 */
import { describe, expect, it as vitestIt } from 'vitest';
import type { TokenStore } from '../../src/tokens/types.js';

export interface StoreHarness {
  readonly store: TokenStore;
  /** Let `ms` of (idle) time pass: move a manual clock, or really wait. */
  advance(ms: number): Promise<void>;
  /** Close the store and remove whatever it left behind. */
  cleanup(): Promise<void>;
}

export type StoreFactory = (opts: { ttlMs: number; maxTokens: number }) => Promise<StoreHarness>;

export interface ContractOptions {
  /** TTL for the suite. Real-time stores: a few hundred ms keeps the run short. */
  readonly ttlMs: number;
  /** Run the tests of the suite concurrently (each has its own store); worth it when `advance` really waits. */
  readonly concurrent?: boolean;
  /**
   * Retries per test. Only for real-time stores: a test that checks "still alive at 0.5 TTL" fails
   * if the test process itself stalls for longer than the margin (a loaded CI machine), which says
   * nothing about the store. Keep 0 for manual clocks, so a flaky store cannot hide there.
   */
  readonly retry?: number;
}

const CONTRACT = 'DCBi7HNZC3rGsNbGwJqFjMbJ5vpPdW2ZbBjWx7NJ7xEN';
const OTHER = '6x9bQ7j2Pq5nZ8GkV1cRr3sYtHwUo4mLa2dEfNgK7sTp';
const BASE58 = /^[1-9A-HJ-NP-Za-km-z]{32,44}$/;
/** Well-formed but never minted. */
const UNKNOWN = '3yZe7d8Lr3ZkTp1xWqNvB9cHs4GmRa6uJfKoYtEi2PbD';

export function runTokenStoreContract(name: string, factory: StoreFactory, options: ContractOptions): void {
  const T = options.ttlMs;
  const suite = options.concurrent === true ? describe.concurrent : describe;
  const it = (title: string, fn: () => Promise<void>) => vitestIt(title, { retry: options.retry ?? 0 }, fn);

  async function withStore(maxTokens: number, body: (h: StoreHarness) => Promise<void>): Promise<void> {
    const h = await factory({ ttlMs: T, maxTokens });
    try {
      await body(h);
    } finally {
      await h.cleanup();
    }
  }

  async function mint(store: TokenStore, contractId = CONTRACT): Promise<string> {
    const r = await store.mint(contractId);
    if (!r.ok) throw new Error(`mint refused: ${r.reason}`);
    return r.token;
  }

  suite(`${name}: TokenStore contract (ttl ${T} ms)`, () => {
    it('mints a well-formed token whose record acquire resolves', async () => {
      await withStore(1000, async ({ store }) => {
        const r = await store.mint(CONTRACT);
        expect(r.ok).toBe(true);
        if (!r.ok) return;
        expect(r.token).toMatch(BASE58);
        expect(r.record.contractId).toBe(CONTRACT);
        expect(typeof r.record.clientId).toBe('string');
        expect(r.record.clientId.length).toBeGreaterThan(0);
        expect(Number.isFinite(r.record.issuedAt)).toBe(true);
        expect(Number.isFinite(r.record.lastAccessed)).toBe(true);

        const got = await store.acquire(r.token);
        expect(got).toBeDefined();
        expect(got).toMatchObject({ contractId: CONTRACT, clientId: r.record.clientId, issuedAt: r.record.issuedAt });
        expect(Number.isFinite(got?.lastAccessed)).toBe(true);
      });
    });

    it('gives every mint its own token and clientId, bound to its own contract', async () => {
      await withStore(1000, async ({ store }) => {
        const a = await store.mint(CONTRACT);
        const b = await store.mint(OTHER);
        expect(a.ok && b.ok).toBe(true);
        if (!a.ok || !b.ok) return;
        expect(a.token).not.toBe(b.token);
        expect(a.record.clientId).not.toBe(b.record.clientId);
        expect((await store.acquire(b.token))?.contractId).toBe(OTHER);
        expect((await store.acquire(a.token))?.contractId).toBe(CONTRACT);
      });
    });

    it('refuses unknown and malformed tokens', async () => {
      await withStore(1000, async ({ store }) => {
        await mint(store);
        expect(await store.acquire(UNKNOWN)).toBeUndefined();
        expect(await store.acquire('')).toBeUndefined();
        expect(await store.acquire('not a token *')).toBeUndefined();
        expect(await store.acquire('x'.repeat(10_000))).toBeUndefined();
      });
    });

    it('keeps an unused token before its TTL', async () => {
      await withStore(1000, async ({ store, advance }) => {
        const t = await mint(store);
        await advance(T * 0.5);
        expect(await store.acquire(t)).toBeDefined();
      });
    });

    it('refuses a token idle past its TTL at once, before any sweep', async () => {
      await withStore(1000, async ({ store, advance }) => {
        const t = await mint(store);
        await advance(T * 1.5);
        expect(await store.acquire(t)).toBeUndefined();
      });
    });

    it('never expires a token in use, across several TTLs', async () => {
      await withStore(1000, async ({ store, advance }) => {
        const t = await mint(store);
        expect(await store.acquire(t)).toBeDefined();
        for (let i = 0; i < 4; i++) await advance(T * 0.9);
        expect(await store.acquire(t)).toBeDefined(); // a second connection, 3.6 TTLs later
      });
    });

    it('counts idle time from the last release, not from issue', async () => {
      await withStore(1000, async ({ store, advance }) => {
        const t = await mint(store);
        await store.acquire(t);
        await advance(T * 2);
        store.release(t);
        await advance(T * 0.5);
        expect(await store.acquire(t)).toBeDefined();
      });
    });

    it('expires a token one TTL after its last connection closed', async () => {
      await withStore(1000, async ({ store, advance }) => {
        const t = await mint(store);
        await store.acquire(t);
        await advance(T * 2);
        store.release(t);
        await advance(T * 1.5);
        expect(await store.acquire(t)).toBeUndefined();
      });
    });

    it('stays alive while any of its connections is open', async () => {
      await withStore(1000, async ({ store, advance }) => {
        const t = await mint(store);
        await store.acquire(t);
        await store.acquire(t);
        store.release(t); // one of two closes
        await advance(T * 2);
        expect(await store.acquire(t)).toBeDefined(); // still held by the other: now two again
        store.release(t);
        store.release(t);
        await advance(T * 1.5);
        expect(await store.acquire(t)).toBeUndefined();
      });
    });

    it('does not let extra releases underflow the in-use count', async () => {
      await withStore(1000, async ({ store, advance }) => {
        const t = await mint(store);
        await store.acquire(t);
        store.release(t);
        store.release(t);
        store.release(t);
        await store.acquire(t); // one connection open again
        await advance(T * 2);
        expect(await store.acquire(t)).toBeDefined();
      });
    });

    it('extends an idle token on touch', async () => {
      await withStore(1000, async ({ store, advance }) => {
        const t = await mint(store);
        await advance(T * 0.6);
        store.touch(t);
        await advance(T * 0.6); // 1.2 TTL after issue, 0.6 after the touch
        expect(await store.acquire(t)).toBeDefined();
      });
    });

    it('does not revive an expired token on touch', async () => {
      await withStore(1000, async ({ store, advance }) => {
        const t = await mint(store);
        await advance(T * 1.5);
        store.touch(t);
        await advance(T * 0.1);
        expect(await store.acquire(t)).toBeUndefined();
      });
    });

    it('takes touch and release of unknown tokens in stride', async () => {
      await withStore(1000, async ({ store }) => {
        expect(() => store.touch(UNKNOWN)).not.toThrow();
        expect(() => store.release(UNKNOWN)).not.toThrow();
        expect(() => store.touch('garbage')).not.toThrow();
        expect(() => store.release('garbage')).not.toThrow();
        expect(await store.acquire(UNKNOWN)).toBeUndefined();
      });
    });

    it('refuses a mint at maxTokens with reason capacity; expired tokens free room', async () => {
      await withStore(2, async ({ store, advance }) => {
        await mint(store);
        await mint(store);
        expect(await store.mint(CONTRACT)).toEqual({ ok: false, reason: 'capacity' });
        await advance(T * 1.5);
        expect((await store.mint(CONTRACT)).ok).toBe(true); // no sweep needed
      });
    });

    it('never makes room at the cap by evicting a token in use', async () => {
      await withStore(1, async ({ store, advance }) => {
        const t = await mint(store);
        await store.acquire(t);
        await advance(T * 2);
        expect(await store.mint(CONTRACT)).toEqual({ ok: false, reason: 'capacity' });
        expect(await store.acquire(t)).toBeDefined();
      });
    });

    it('reports its size; a sweep leaves only live tokens', async () => {
      await withStore(1000, async ({ store, advance }) => {
        expect(await store.size()).toBe(0);
        const held = await mint(store);
        await mint(store);
        await mint(store);
        expect(await store.size()).toBe(3);
        await store.acquire(held);
        await advance(T * 1.5);
        const r = await store.sweep();
        expect(r.remaining).toBe(1);
        expect(r.removed).toBeGreaterThanOrEqual(0);
        expect(r.removed).toBeLessThanOrEqual(2);
        expect(await store.size()).toBe(1);
        expect(await store.sweep()).toEqual({ removed: 0, remaining: 1 });
      });
    });

    it('stays consistent under concurrent acquires and releases', async () => {
      await withStore(1000, async ({ store, advance }) => {
        const a = await mint(store);
        const b = await mint(store);
        const got = await Promise.all([
          ...Array.from({ length: 10 }, () => store.acquire(a)),
          ...Array.from({ length: 10 }, () => store.acquire(b)),
        ]);
        expect(got.every((g) => g !== undefined)).toBe(true);
        for (let i = 0; i < 10; i++) store.release(a);
        for (let i = 0; i < 9; i++) store.release(b); // one connection on b stays open
        await advance(T * 2);
        const [ra, rb] = await Promise.all([store.acquire(a), store.acquire(b)]);
        expect(ra).toBeUndefined();
        expect(rb).toBeDefined();
      });
    });
  });
}
