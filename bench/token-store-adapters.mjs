/**
 * The five token stores, each behind the same five operations so every one does the same work:
 *   mint()        → a new token bound to CONTRACT, with the same record (contractId, clientId, issuedAt)
 *   touch(t)      → an access that restarts the token's idle time (no revival of an expired token)
 *   resolve(t)    → true if the token is live; never counts as an access
 *   sweep()       → removes every expired token, returns how many (may be async)
 *   size()
 * Tokens come from the same cheap generator for all (flat 44-character strings), so the
 * figures compare the stores, not the RNG. TTL is in milliseconds of the store's clock.
 */
import { randomUUID } from 'node:crypto';
import { patchGlobalClocks } from './lib/clock.mjs';

export const CONTRACT = '13R8CLpkV3NkhQJeEtFJEeK5zuWPdbaRZy2AzmRfHPpx';

const ALPHABET = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz';

/**
 * 44-character base58 strings that look like real tokens (every character uniform over the
 * alphabet, as in a CSPRNG token) from a fast seeded generator, so the figures compare the stores,
 * not the RNG, and every run and store gets the same tokens. Built in a Buffer and read out as
 * latin1, so each is one flat string, as a store would ideally hold it. A repeat among the
 * 58^44 possible strings does not happen; the benchmark's size checks would catch one.
 */
export function cheapTokenGenerator(seed = 0x9e3779b9) {
  const buf = Buffer.alloc(44);
  let x = seed >>> 0 || 1;
  return () => {
    for (let i = 0; i < 44; i++) {
      // xorshift32; the top bits index the alphabet (58 of 64 values: retry the other 6).
      let c;
      do {
        x ^= x << 13;
        x ^= x >>> 17;
        x ^= x << 5;
        c = (x >>> 26) & 63;
      } while (c >= 58);
      buf[i] = ALPHABET.charCodeAt(c);
    }
    return buf.toString('latin1');
  };
}

const record = () => ({ contractId: CONTRACT, clientId: randomUUID(), issuedAt: Date.now() });

export const STORES = {
  gateway: {
    label: 'node-gateway MemoryTokenStore',
    async create({ ttlMs, n, clock, generateToken }) {
      const { MemoryTokenStore } = await import('../dist/tokens/memory-store.js');
      const { CoarseClock } = await import('../dist/tokens/clock.js');
      // As the daemon runs it: its default clock reuses a reading for up to 1 ms (lru-cache's
      // default `ttlResolution` does the same); the benchmark's clock underneath, for the jumps.
      const store = new MemoryTokenStore({ ttlMs, maxTokens: n * 2, clock: new CoarseClock(clock, 1), generateToken });
      return {
        mint: () => store.mintSync(CONTRACT).token,
        touch: (t) => store.touch(t),
        resolve: (t) => store.resolveSync(t) !== undefined,
        sweep: async () => (await store.sweep()).removed,
        size: () => store.sizeSync(),
        store,
      };
    },
  },

  'freenet-map': {
    label: 'plain Map, full-scan sweep (Freenet)',
    async create({ ttlMs, clock, generateToken }) {
      const map = new Map();
      return {
        mint() {
          const t = generateToken();
          map.set(t, { contractId: CONTRACT, clientId: randomUUID(), issuedAt: Date.now(), lastAccessed: clock.now() });
          return t;
        },
        touch(t) {
          const r = map.get(t);
          if (r === undefined) return;
          const now = clock.now();
          if (now - r.lastAccessed < ttlMs) r.lastAccessed = now;
        },
        resolve(t) {
          const r = map.get(t);
          return r !== undefined && clock.now() - r.lastAccessed < ttlMs;
        },
        // Freenet's cleanup: `retain` over every token, i.e. a full scan.
        sweep() {
          const now = clock.now();
          let removed = 0;
          for (const [t, r] of map) {
            if (now - r.lastAccessed >= ttlMs) {
              map.delete(t);
              removed++;
            }
          }
          return removed;
        },
        size: () => map.size,
      };
    },
  },

  'node-cache': {
    label: 'node-cache (checkperiod)',
    async create({ ttlMs, clock, generateToken }) {
      patchGlobalClocks(clock); // node-cache reads Date.now()
      const { default: NodeCache } = await import('node-cache');
      // useClones: false — the default deep-clones every value on set and get, which no one
      // holding a million records would leave on. checkperiod runs _checkData, timed directly.
      const cache = new NodeCache({ stdTTL: ttlMs / 1000, checkperiod: 300, useClones: false });
      return {
        mint() {
          const t = generateToken();
          cache.set(t, record());
          return t;
        },
        touch: (t) => void cache.ttl(t),
        resolve: (t) => cache.get(t) !== undefined,
        sweep() {
          const before = cache.stats.keys;
          cache._checkData(false); // exactly what the checkperiod timer runs
          return before - cache.stats.keys;
        },
        size: () => cache.stats.keys,
        close: () => cache.close(),
      };
    },
  },

  ttlcache: {
    label: '@isaacs/ttlcache',
    async create({ ttlMs, clock, generateToken }) {
      patchGlobalClocks(clock); // ttlcache reads performance.now()
      const { TTLCache } = await import('@isaacs/ttlcache');
      const cache = new TTLCache({ ttl: ttlMs, checkAgeOnGet: true });
      const TOUCH = { updateAgeOnGet: true };
      return {
        mint() {
          const t = generateToken();
          cache.set(t, record());
          return t;
        },
        touch: (t) => void cache.get(t, TOUCH),
        resolve: (t) => cache.get(t) !== undefined,
        sweep() {
          const before = cache.size;
          cache.purgeStale();
          return before - cache.size;
        },
        size: () => cache.size,
        close: () => cache.cancelTimer(),
      };
    },
  },

  'lru-cache': {
    label: 'lru-cache (ttl + updateAgeOnGet)',
    async create({ ttlMs, n, clock, generateToken }) {
      const { LRUCache } = await import('lru-cache');
      // max: the benchmark holds at most N + 1 % (lru-cache preallocates its arrays to max).
      const cache = new LRUCache({ max: n + Math.ceil(n / 100), ttl: ttlMs, updateAgeOnGet: true, perf: { now: clock.now } });
      return {
        mint() {
          const t = generateToken();
          cache.set(t, record());
          return t;
        },
        touch: (t) => void cache.get(t), // updateAgeOnGet restarts the TTL
        resolve: (t) => cache.peek(t) !== undefined, // no recency or age change
        sweep() {
          const before = cache.size;
          cache.purgeStale();
          return before - cache.size;
        },
        size: () => cache.size,
      };
    },
  },
};
