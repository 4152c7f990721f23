/**
 * The Redis token store (§8): the shared contract against a real Redis, then what only Redis has:
 * several gateways on one Redis, a crashed holder, coalesced touches, start-up failures, and Redis
 * lost and regained while running (on a private redis-server so the shared one is not disturbed).
 *
 * Needs a Redis at REDIS_URL (default redis://127.0.0.1:6379); without one these tests are skipped
 * with a message saying how to run them.
 */
import { once } from 'node:events';
import { createServer, type Socket } from 'node:net';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import {
  isTokenStoreUnavailable,
  RedisTokenStore,
  TokenStoreUnavailableError,
  type RedisStoreLogger,
  type RedisTokenStoreOptions,
} from '../../src/tokens/redis-store.js';
import {
  deleteKeysWithPrefix,
  freePort,
  hasRedisServerBinary,
  HOW_TO_RUN_REDIS_TESTS,
  PrivateRedis,
  probeRedis,
  rawClient,
  REDIS_URL,
  safeUrl,
  sleep,
  uniquePrefix,
} from '../helpers/redis.js';
import { runTokenStoreContract } from './store-contract.js';

const CONTRACT = 'DCBi7HNZC3rGsNbGwJqFjMbJ5vpPdW2ZbBjWx7NJ7xEN';
const TTL = 300;

const probe = await probeRedis(REDIS_URL, 1000);
if (!probe.ok) {
  console.warn(`[redis-store] Redis tests SKIPPED: no Redis at ${safeUrl(REDIS_URL)} (${probe.reason}); ${HOW_TO_RUN_REDIS_TESTS}`);
}
const canSpawnRedis = hasRedisServerBinary();
if (!canSpawnRedis) {
  console.warn('[redis-store] Redis outage tests SKIPPED: no redis-server binary on PATH to start a private server');
}

/** Every key this file writes starts with this; removed at the end whatever happened. */
const RUN_PREFIX = uniquePrefix('redis-store');
let nextSpace = 0;
const space = (): string => `${RUN_PREFIX}${nextSpace++}:`;

afterAll(async () => {
  if (probe.ok) await deleteKeysWithPrefix(RUN_PREFIX);
});

type OnFinished = (fn: () => void | Promise<void>) => void;

/**
 * Opens stores for one test and closes them when that test finishes, pass or fail. Per test (not a
 * file-level afterEach) because the tests run concurrently.
 */
function opener(onTestFinished: OnFinished, url: () => string = () => REDIS_URL) {
  const mine: RedisTokenStore[] = [];
  onTestFinished(async () => {
    await Promise.all(mine.map((s) => s.close()));
  });
  return async (over: Partial<RedisTokenStoreOptions> = {}): Promise<RedisTokenStore> => {
    const s = await RedisTokenStore.create({ url: url(), ttlMs: TTL, maxTokens: 1000, keyPrefix: space(), ...over });
    mine.push(s);
    return s;
  };
}

async function mintOn(store: RedisTokenStore): Promise<string> {
  const r = await store.mint(CONTRACT);
  if (!r.ok) throw new Error('mint refused');
  return r.token;
}

/** A logger that keeps every line, to count episodes and to check no token ever reaches a log. */
function captureLogger(): RedisStoreLogger & { lines: { level: string; obj: object; msg: string }[] } {
  const lines: { level: string; obj: object; msg: string }[] = [];
  const at = (level: string) => (obj: object, msg: string) => void lines.push({ level, obj, msg });
  return { lines, info: at('info'), warn: at('warn'), error: at('error') };
}

async function until(cond: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(20);
  }
}

describe.skipIf(!probe.ok)('RedisTokenStore on a shared Redis', () => {
  runTokenStoreContract(
    'RedisTokenStore',
    async ({ ttlMs, maxTokens }) => {
      const keyPrefix = space();
      const store = await RedisTokenStore.create({ url: REDIS_URL, ttlMs, maxTokens, keyPrefix });
      return {
        store,
        advance: (ms) => sleep(ms),
        cleanup: async () => {
          await store.close();
          await deleteKeysWithPrefix(keyPrefix);
        },
      };
    },
    // Real time: 500 ms leaves 200+ ms of slack for stalls of a loaded machine; retries for worse ones.
    { ttlMs: 500, concurrent: true, retry: 2 },
  );

  describe.concurrent('several gateways on one Redis', () => {
    it('a token minted by gateway A authenticates on gateway B, with the same record', async ({ onTestFinished }) => {
      const open = opener(onTestFinished);
      const keyPrefix = space();
      const a = await open({ keyPrefix });
      const b = await open({ keyPrefix });
      const m = await a.mint(CONTRACT);
      if (!m.ok) throw new Error('mint refused');
      const got = await b.acquire(m.token);
      expect(got).toMatchObject({ contractId: CONTRACT, clientId: m.record.clientId, issuedAt: m.record.issuedAt });
      expect(await a.size()).toBe(1);
      expect(await b.size()).toBe(1);
    });

    it('a connection open on B keeps the token alive for A; once all close, both refuse it a TTL later', async ({ onTestFinished }) => {
      const open = opener(onTestFinished);
      const keyPrefix = space();
      const a = await open({ keyPrefix });
      const b = await open({ keyPrefix });
      const t = await mintOn(a);
      expect(await b.acquire(t)).toBeDefined();
      await sleep(TTL * 3);
      expect(await a.acquire(t)).toBeDefined(); // 3 TTLs after issue: B's connection kept it
      a.release(t); // A's connection closes: B's still holds it
      await sleep(TTL * 2);
      expect(await a.acquire(t)).toBeDefined();
      a.release(t);
      b.release(t);
      await sleep(TTL * 1.5);
      expect(await a.acquire(t)).toBeUndefined();
      expect(await b.acquire(t)).toBeUndefined();
    });

    it('the cap counts the tokens of all gateways', async ({ onTestFinished }) => {
      const open = opener(onTestFinished);
      const keyPrefix = space();
      const a = await open({ keyPrefix, maxTokens: 2 });
      const b = await open({ keyPrefix, maxTokens: 2 });
      await mintOn(a);
      await mintOn(b);
      expect(await a.mint(CONTRACT)).toEqual({ ok: false, reason: 'capacity' });
      expect(await b.mint(CONTRACT)).toEqual({ ok: false, reason: 'capacity' });
      expect(a.stats().refused + b.stats().refused).toBe(2);
    });

    it('a crashed holder leaves no immortal token: it expires when the lease runs out', async ({ onTestFinished }) => {
      const open = opener(onTestFinished);
      const keyPrefix = space();
      const lease = 900;
      const a = await open({ keyPrefix, leaseMs: lease });
      const b = await open({ keyPrefix, leaseMs: lease });
      const t = await mintOn(a);
      await a.acquire(t);
      await sleep(TTL * 2);
      expect(await b.acquire(t)).toBeDefined(); // alive while A's lease runs ...
      b.release(t);
      a.abort(); // ... A dies without releasing anything
      await sleep(lease + TTL);
      expect(await b.acquire(t)).toBeUndefined();
    });

    it('idle expiry is the key’s own PEXPIRE; in use is a lease per gateway, not a count', async ({ onTestFinished }) => {
      const open = opener(onTestFinished);
      const keyPrefix = space();
      const a = await open({ keyPrefix });
      const b = await open({ keyPrefix });
      const redis = await rawClient();
      onTestFinished(() => redis.disconnect());
      const t = await mintOn(a);
      const key = keyPrefix + t;
      const pttl = await redis.pttl(key);
      expect(pttl).toBeGreaterThan(0);
      expect(pttl).toBeLessThanOrEqual(TTL);
      const fields = await redis.hgetall(key);
      expect(Object.keys(fields).sort()).toEqual(['c', 'i', 'k']);
      expect(fields['c']).toBe(CONTRACT);

      await a.acquire(t);
      await a.acquire(t); // two connections on A: still one lease
      await b.acquire(t);
      expect(Object.keys(await redis.hgetall(key)).sort()).toEqual(['c', `h:${a.gatewayId}`, `h:${b.gatewayId}`, 'i', 'k'].sort());
      expect(await redis.pttl(key)).toBeGreaterThan(a.leaseMs - 1000);
      a.release(t);
      a.release(t);
      b.release(t);
      await sleep(50);
      expect(Object.keys(await redis.hgetall(key)).sort()).toEqual(['c', 'i', 'k']);
      const after = await redis.pttl(key);
      expect(after).toBeGreaterThan(0); // the leases (15 s) are gone: at most a TTL from the close
      expect(after).toBeLessThanOrEqual(TTL);
      await sleep(TTL + 100);
      expect(await redis.exists(key)).toBe(0); // Redis removed it; no sweep ran
    });

    it('coalesces touches: one round trip per window, none at all for a token held here', async ({ onTestFinished }) => {
      const open = opener(onTestFinished);
      const keyPrefix = space();
      const a = await open({ keyPrefix, touchCoalesceMs: 100 });
      const idle = await mintOn(a);
      const held = await mintOn(a);
      await a.acquire(held);
      const before = a.stats().touchesSent;
      for (let i = 0; i < 1000; i++) {
        a.touch(idle);
        a.touch(held);
      }
      expect(a.stats().touchesSent - before).toBe(1); // leading edge of idle's window
      await sleep(250);
      expect(a.stats().touchesSent - before).toBe(2); // plus one trailing edge
      expect(a.stats().touchesCoalesced).toBeGreaterThanOrEqual(1998);
      expect(a.stats().backgroundErrors).toBe(0);
    });

    it('close() writes "closed now" for held tokens, quits, and refuses further use', async () => {
      const keyPrefix = space();
      const a = new RedisTokenStore({ url: REDIS_URL, ttlMs: TTL, maxTokens: 10, keyPrefix });
      await expect(a.mint(CONTRACT)).rejects.toBeInstanceOf(TokenStoreUnavailableError); // not connected yet
      await a.connect();
      const t = await mintOn(a);
      await a.acquire(t);
      await sleep(TTL);
      await a.close();
      await a.close(); // idempotent
      const redis = await rawClient();
      try {
        const left = await redis.pttl(keyPrefix + t);
        expect(left).toBeGreaterThan(0); // closing released the 15 s lease: at most a TTL from now
        expect(left).toBeLessThanOrEqual(TTL);
      } finally {
        redis.disconnect();
      }
      await expect(a.mint(CONTRACT)).rejects.toThrow(/closed/);
      await expect(a.acquire(t)).rejects.toBeInstanceOf(TokenStoreUnavailableError);
      expect(() => a.touch(t)).not.toThrow();
      expect(() => a.release(t)).not.toThrow();
    });
  });
});

// Sequential: these hog the event loop, which would disturb the timing of the concurrent tests.
describe.skipIf(!probe.ok)('RedisTokenStore under load', () => {
  it('a token in use survives an event-loop stall of several TTLs: the lease, not the TTL, covers it', async ({ onTestFinished }) => {
    const open = opener(onTestFinished);
    const keyPrefix = space();
    const a = await open({ keyPrefix });
    const b = await open({ keyPrefix });
    const t = await mintOn(a);
    await a.acquire(t);
    const end = Date.now() + TTL * 3;
    while (Date.now() < end) {
      // busy: A's timers cannot run, as in a long GC pause or an overloaded gateway
    }
    expect(await b.acquire(t)).toBeDefined();
  });

  it('sweeps expired index entries in batches and counts them', async ({ onTestFinished }) => {
    const open = opener(onTestFinished);
    const keyPrefix = space();
    const a = await open({ keyPrefix, maxTokens: 10_000 });
    await Promise.all(Array.from({ length: 2500 }, () => mintOn(a)));
    const live = await mintOn(a);
    await a.acquire(live);
    // (2500 scripted mints outlast a 300 ms TTL, so no exact count before they expire)
    await sleep(TTL * 1.5);
    expect(await a.size()).toBe(1); // already: expired ones are not counted
    expect(await a.sweep()).toEqual({ removed: 2500, remaining: 1 });
    expect(a.stats().expired).toBe(2500);
  });
});

describe('RedisTokenStore start-up', () => {
  it('refuses a bad URL without echoing it (it may hold a password)', () => {
    expect(() => new RedisTokenStore({ url: 'http://user:hunter2@example.org', ttlMs: TTL, maxTokens: 1 })).toThrow(/redis:\/\//);
    try {
      new RedisTokenStore({ url: 'redis://:hunter2@[bad', ttlMs: TTL, maxTokens: 1 });
      expect.unreachable();
    } catch (e) {
      expect(String(e)).not.toContain('hunter2');
    }
  });

  it('fails fast and clearly when nothing listens: names host:port, never the password, no retries', async () => {
    const port = await freePort();
    const t0 = Date.now();
    const err: unknown = await RedisTokenStore.create({
      url: `redis://:hunter2@127.0.0.1:${port}`,
      ttlMs: TTL,
      maxTokens: 1,
    }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(Date.now() - t0).toBeLessThan(1500);
    expect(err).toBeInstanceOf(TokenStoreUnavailableError);
    expect(isTokenStoreUnavailable(err)).toBe(true);
    const msg = (err as Error).message;
    expect(msg).toContain(`redis://127.0.0.1:${port}`);
    expect(msg).toMatch(/ECONNREFUSED/);
    expect(msg).not.toContain('hunter2');
  });

  it('gives up after connectTimeoutMs on a server that never answers, and does not retry', async () => {
    const sockets = new Set<Socket>();
    let connections = 0;
    const silent = createServer((s) => {
      connections++;
      sockets.add(s);
    });
    silent.listen(0, '127.0.0.1');
    await once(silent, 'listening');
    const addr = silent.address();
    const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
    try {
      const t0 = Date.now();
      const err: unknown = await RedisTokenStore.create({
        url: `redis://127.0.0.1:${port}`,
        ttlMs: TTL,
        maxTokens: 1,
        connectTimeoutMs: 400,
      }).then(
        () => undefined,
        (e: unknown) => e,
      );
      const took = Date.now() - t0;
      expect(took).toBeGreaterThanOrEqual(350);
      expect(took).toBeLessThan(1500);
      expect(err).toBeInstanceOf(TokenStoreUnavailableError);
      expect((err as Error).message).toContain(`127.0.0.1:${port}`);
      await sleep(500);
      expect(connections).toBe(1);
    } finally {
      for (const s of sockets) s.destroy();
      silent.close();
    }
  });
});

describe.skipIf(!canSpawnRedis)('RedisTokenStore when Redis goes away while running (private redis-server)', () => {
  let priv: PrivateRedis | undefined;
  const opened: RedisTokenStore[] = [];
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((s) => s.close()));
    await priv?.stop();
    priv = undefined;
  });

  it('refuses new work with TokenStoreUnavailableError, logs once per episode, recovers without restart', async () => {
    priv = await PrivateRedis.start();
    const logA = captureLogger();
    const keyPrefix = 'node-gateway:token:'; // the default layout, on a server of our own
    const common = { url: priv.url, ttlMs: 5000, maxTokens: 100, keyPrefix, reconnectMaxDelayMs: 200, commandTimeoutMs: 500 };
    const a = await RedisTokenStore.create({ ...common, logger: logA });
    const b = await RedisTokenStore.create(common);
    opened.push(a, b);

    const held = await mintOn(a);
    await a.acquire(held); // a connection open on A throughout
    const closing = await mintOn(a);
    await a.acquire(closing); // a connection that closes during the outage
    const idle = await mintOn(a); // never used

    await priv.stop(); // no persistence: Redis comes back empty
    await until(() => !a.available, 2000, 'A to notice');

    const t0 = Date.now();
    const errs = await Promise.all([
      ...Array.from({ length: 20 }, () => a.mint(CONTRACT).then(() => undefined, (e: unknown) => e)),
      a.acquire(held).then(() => undefined, (e: unknown) => e), // new connection, even for a token A holds
      b.acquire(idle).then(() => undefined, (e: unknown) => e),
    ]);
    expect(Date.now() - t0).toBeLessThan(300); // fail fast, nothing queued
    for (const e of errs) {
      expect(e).toBeInstanceOf(TokenStoreUnavailableError);
      expect((e as Error).message).toContain(priv.url);
    }
    // Existing connections carry on: their calls never throw.
    expect(() => {
      a.touch(held);
      a.touch(idle);
      a.release(closing);
    }).not.toThrow();
    await expect(a.sweep()).rejects.toBeInstanceOf(TokenStoreUnavailableError);
    await expect(a.size()).rejects.toBeInstanceOf(TokenStoreUnavailableError);

    await sleep(300);
    await priv.start();
    await until(() => a.available && b.available, 5000, 'both stores to reconnect');

    // The holder wrote its token back (Redis lost it), and the release it could not send.
    await until(async () => (await b.acquire(held)) !== undefined, 2000, 'the held token to be written back');
    expect(await b.acquire(closing)).toBeDefined();
    // A token nobody held was lost with Redis's data (no persistence on this server).
    expect(await b.acquire(idle)).toBeUndefined();
    expect((await a.mint(CONTRACT)).ok).toBe(true);
    expect(a.stats().recreated).toBeGreaterThanOrEqual(2);

    const warns = logA.lines.filter((l) => l.level === 'warn' && l.msg.includes('unavailable'));
    const infos = logA.lines.filter((l) => l.level === 'info' && l.msg.includes('available again'));
    expect(warns).toHaveLength(1);
    expect(infos).toHaveLength(1);
    expect(a.stats().outages).toBe(1);
    const logged = JSON.stringify(logA.lines);
    for (const t of [held, closing, idle]) expect(logged).not.toContain(t);
    for (const e of errs) for (const t of [held, idle]) expect(String((e as Error).message)).not.toContain(t);
  });

  it('a hung Redis (no answers) fails calls after commandTimeoutMs and recovers when it answers again', async () => {
    priv = await PrivateRedis.start();
    const log = captureLogger();
    const a = await RedisTokenStore.create({
      url: priv.url,
      ttlMs: 5000,
      maxTokens: 100,
      commandTimeoutMs: 300,
      reconnectMaxDelayMs: 200,
      logger: log,
    });
    opened.push(a);
    const t = await mintOn(a);

    priv.pause();
    try {
      const t0 = Date.now();
      const err: unknown = await a.acquire(t).then(() => undefined, (e: unknown) => e);
      const took = Date.now() - t0;
      expect(err).toBeInstanceOf(TokenStoreUnavailableError);
      expect(took).toBeGreaterThanOrEqual(250);
      expect(took).toBeLessThan(1500);
      expect(String((err as Error).message)).not.toContain(t);
    } finally {
      priv.resume();
    }
    await until(async () => (await a.acquire(t).catch(() => undefined)) !== undefined, 5000, 'recovery');
    expect(a.available).toBe(true);
    expect(log.lines.filter((l) => l.level === 'warn')).toHaveLength(1);
    expect(log.lines.filter((l) => l.level === 'info' && l.msg.includes('available again'))).toHaveLength(1);
  });
});
