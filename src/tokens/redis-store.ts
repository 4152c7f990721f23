import { randomBytes, randomUUID } from 'node:crypto';
import { Redis, type RedisOptions } from 'ioredis';
import { systemMonotonicClock } from './clock.js';
import { redactTokens, TokenStoreUnavailableError } from './redis-errors.js';
import { ACQUIRE_LUA, MINT_LUA, REFRESH_LUA, RELEASE_LUA, SIZE_LUA, SWEEP_LUA, TOUCH_LUA } from './redis-scripts.js';
import { isWellFormedToken, newToken, tokenFingerprint } from './token.js';
import type { AttestedContract, MintResult, MonotonicClock, SweepResult, TokenStore } from './types.js';

export { TokenStoreUnavailableError, isTokenStoreUnavailable } from './redis-errors.js';

/** The part of a pino logger the store uses: `(fields, message)`. */
export interface RedisStoreLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface RedisTokenStoreOptions {
  /** `redis://[user:password@]host[:port][/db]` or `rediss://…` (TLS). Never logged with its password. */
  readonly url: string;
  /** Idle time after which a token expires: the PEXPIRE of its key. */
  readonly ttlMs: number;
  /** Most live tokens held across all gateways sharing this Redis and prefix. */
  readonly maxTokens: number;
  /** Prefix of every key. Default `node-gateway:token:`. */
  readonly keyPrefix?: string;
  /** At most one Redis round trip per token per this many ms for touches. Default min(1000, ttl/4). */
  readonly touchCoalesceMs?: number;
  /**
   * How long one refresh keeps a held token alive: max(ttlMs, this). Default 15000. Longer survives
   * longer stalls of a holder (GC, overload, Redis blips) without an in-use token expiring; it is
   * also how long a token can outlive a gateway that crashed while holding it.
   */
  readonly leaseMs?: number;
  /** How often a gateway renews the leases of tokens its open connections hold. Default min(10 s, lease/3). */
  readonly leaseRefreshMs?: number;
  /** Give up connecting at start after this long (no retry at start). Default 3000. */
  readonly connectTimeoutMs?: number;
  /** A command without an answer after this long fails (and the socket is recycled). Default 2000. */
  readonly commandTimeoutMs?: number;
  /** Upper bound of the reconnect backoff once running (100 ms doubling). Default 5000. */
  readonly reconnectMaxDelayMs?: number;
  readonly logger?: RedisStoreLogger;
  /** Only for `issuedAt` (display). Defaults to Date.now. */
  readonly wallClock?: () => number;
  /** Only for the `lastAccessed` values handed out and for local bookkeeping. Default performance.now. */
  readonly clock?: MonotonicClock;
  /** Token generator (tests). Default `newToken`. */
  readonly generateToken?: () => string;
}

export interface RedisTokenStoreStats {
  /** Tokens minted by this gateway. */
  issued: number;
  /** Mints refused at the cap by this gateway. */
  refused: number;
  /** Index entries of expired tokens dropped by this gateway's sweeps (summed over gateways: all expiries). */
  expired: number;
  /** Touch round trips sent (leading and trailing edges of each coalescing window). */
  touchesSent: number;
  /** Touches answered without a round trip (coalesced, or the token is held here and leased). */
  touchesCoalesced: number;
  /** Lease renewals sent for held tokens. */
  leaseRefreshes: number;
  /** Held or just-released tokens whose key was missing (Redis lost it) and was written back. */
  recreated: number;
  /** Failed fire-and-forget commands (touch, release, refresh). */
  backgroundErrors: number;
  /** Times the store went from available to unavailable. */
  outages: number;
}

interface Held {
  count: number;
  readonly contractId: string;
  readonly clientId: string;
  readonly issuedAt: number;
}

interface Unsettled {
  readonly rec: Held;
  /** Local monotonic ms when the last connection closed. */
  readonly closedAt: number;
}

/** Scripts registered with defineCommand; ioredis adds them as methods at runtime. */
interface ScriptCommands {
  ngMint(key: string, index: string, ttl: number, max: number, token: string, c: string, k: string, i: string): Promise<number>;
  ngAcquire(key: string, index: string, lease: number, field: string, token: string): Promise<null | (string | null)[]>;
  ngSweep(index: string, limit: number): Promise<[number, number]>;
  ngSize(index: string): Promise<number>;
}
type ScriptedRedis = Redis & ScriptCommands;
type ScriptedPipeline = ReturnType<Redis['pipeline']> & {
  ngTouch(key: string, index: string, ttl: number, token: string): unknown;
  ngRefresh(key: string, index: string, lease: number, field: string, token: string, c: string, k: string, i: string): unknown;
  ngRelease(key: string, index: string, idle: number, field: string, token: string, c: string, k: string, i: string, recreate: '0' | '1'): unknown;
};

const DEFAULT_PREFIX = 'node-gateway:token:';
const DEFAULT_LEASE_MS = 15_000;
/** Sanity bound on a TTL (about 1100 years; the config allows 10). */
const MAX_PEXPIRE_MS = 2 ** 45;
/** Commands per pipeline when renewing many leases: one write, bounded reply buffer. */
const BATCH = 1000;
/** Index entries dropped per sweep script call, so Redis is never blocked for long. */
const SWEEP_BATCH = 1000;
/** Bound on releases remembered while Redis was away. */
const MAX_UNSETTLED = 100_000;
const MINT_ATTEMPTS = 4;

type Phase = 'new' | 'connecting' | 'running' | 'closed';

/**
 * Tokens in Redis, shared by several gateways (§8). See docs/redis.md.
 *
 * - A token is a hash `<prefix><token>` {c, k, i}; its PEXPIRE is the idle TTL, so Redis itself
 *   removes idle tokens and every gateway refuses an expired one at once.
 * - In use = leased. Connection counts stay in each gateway's memory; in Redis a gateway holding
 *   a token has one field `h:<gatewayId>` = lease end, renewed every `leaseRefreshMs`, and the key
 *   never expires before the latest live lease. When its last connection closes the gateway drops
 *   its lease and the key expires ttl later, unless another gateway still holds a lease. A gateway
 *   that dies holding a token leaves no count behind: its lease simply runs out.
 * - Cap and size come from a sorted-set index scored by expiry: O(log n).
 */
export class RedisTokenStore implements TokenStore {
  readonly ttlMs: number;
  readonly maxTokens: number;
  readonly keyPrefix: string;
  readonly touchCoalesceMs: number;
  /** Effective lease: max(ttlMs, leaseMs option). */
  readonly leaseMs: number;
  readonly leaseRefreshMs: number;
  /** The server, password-free, for messages: `redis://host:port/db`. */
  readonly where: string;
  /** This store instance's name in lease fields (random; a restarted gateway is a new holder). */
  readonly gatewayId: string;

  readonly #redis: ScriptedRedis;
  readonly #indexKey: string;
  readonly #leaseField: string;
  readonly #connectTimeoutMs: number;
  readonly #log: RedisStoreLogger | undefined;
  readonly #wallClock: () => number;
  readonly #clock: MonotonicClock;
  readonly #generateToken: () => string;

  #phase: Phase = 'new';
  /** Availability as last observed; each flip logs once (one line per episode). */
  #up = false;
  #downSince = 0;
  #lastError: string | undefined;

  /** Tokens with open connections on this gateway, and how many: the leases it renews. */
  readonly #held = new Map<string, Held>();
  /** Releases Redis could not be told about; written when it is back (idle time counted from the close). */
  readonly #unsettled = new Map<string, Unsettled>();
  /** Touch coalescing windows of tokens not held here. */
  readonly #touches = new Map<string, { sentAt: number; pending: boolean }>();
  #leaseTimer: NodeJS.Timeout | undefined;
  #touchTimer: NodeJS.Timeout | undefined;
  #refreshing: Promise<void> | undefined;
  #sweeping: Promise<SweepResult> | undefined;
  #closing: Promise<void> | undefined;
  readonly #stats: RedisTokenStoreStats = {
    issued: 0,
    refused: 0,
    expired: 0,
    touchesSent: 0,
    touchesCoalesced: 0,
    leaseRefreshes: 0,
    recreated: 0,
    backgroundErrors: 0,
    outages: 0,
  };

  /** Connects (fails fast if Redis is unreachable) and returns a running store. */
  static async create(opts: RedisTokenStoreOptions): Promise<RedisTokenStore> {
    const store = new RedisTokenStore(opts);
    await store.connect();
    return store;
  }

  /** No I/O until `connect()`. Throws on invalid options (the message never contains the URL). */
  constructor(opts: RedisTokenStoreOptions) {
    if (!(Number.isSafeInteger(opts.ttlMs) && opts.ttlMs >= 1 && opts.ttlMs <= MAX_PEXPIRE_MS)) {
      throw new RangeError(`ttlMs must be an integer in 1..${MAX_PEXPIRE_MS}, got ${opts.ttlMs}`);
    }
    if (!(Number.isSafeInteger(opts.maxTokens) && opts.maxTokens >= 1)) {
      throw new RangeError(`maxTokens must be an integer >= 1, got ${opts.maxTokens}`);
    }
    this.ttlMs = opts.ttlMs;
    this.maxTokens = opts.maxTokens;
    this.keyPrefix = opts.keyPrefix ?? DEFAULT_PREFIX;
    if (this.keyPrefix.length === 0) throw new RangeError('keyPrefix must not be empty');
    this.touchCoalesceMs = timerMs('touchCoalesceMs', opts.touchCoalesceMs, Math.min(1000, Math.floor(opts.ttlMs / 4)));
    const leaseOpt = opts.leaseMs ?? DEFAULT_LEASE_MS;
    if (!(Number.isSafeInteger(leaseOpt) && leaseOpt >= 1)) throw new RangeError(`leaseMs must be an integer >= 1, got ${leaseOpt}`);
    this.leaseMs = Math.max(this.ttlMs, leaseOpt);
    this.leaseRefreshMs = timerMs('leaseRefreshMs', opts.leaseRefreshMs, Math.min(10_000, Math.floor(this.leaseMs / 3)));
    if (this.leaseRefreshMs >= this.leaseMs) {
      throw new RangeError(`leaseRefreshMs (${this.leaseRefreshMs}) must be below the lease (${this.leaseMs} ms)`);
    }
    this.#connectTimeoutMs = timerMs('connectTimeoutMs', opts.connectTimeoutMs, 3000);
    const commandTimeoutMs = timerMs('commandTimeoutMs', opts.commandTimeoutMs, 2000);
    const reconnectMaxDelayMs = timerMs('reconnectMaxDelayMs', opts.reconnectMaxDelayMs, 5000);
    this.#log = opts.logger;
    this.#wallClock = opts.wallClock ?? Date.now;
    this.#clock = opts.clock ?? systemMonotonicClock;
    this.#generateToken = opts.generateToken ?? newToken;
    this.#indexKey = `${this.keyPrefix}_index`;
    this.gatewayId = randomBytes(6).toString('hex');
    this.#leaseField = `h:${this.gatewayId}`;
    this.where = describeUrl(opts.url);

    const options: RedisOptions = {
      lazyConnect: true,
      // Fail fast instead of queueing while disconnected; never replay in-flight commands later.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      connectTimeout: this.#connectTimeoutMs,
      commandTimeout: commandTimeoutMs,
      // A hung server (no bytes back) gets its socket recycled, which starts a reconnect.
      socketTimeout: commandTimeoutMs,
      keepAlive: 10_000,
      connectionName: 'node-gateway-tokens',
      // No retry while connecting at start (the caller reports and exits); backoff once running.
      retryStrategy: (times) => {
        if (this.#phase !== 'running') return null;
        const base = Math.min(100 * 2 ** Math.min(times - 1, 16), reconnectMaxDelayMs);
        return Math.round(base * (0.9 + Math.random() * 0.2));
      },
    };
    this.#redis = new Redis(opts.url, options) as ScriptedRedis;
    this.#redis.defineCommand('ngMint', { numberOfKeys: 2, lua: MINT_LUA });
    this.#redis.defineCommand('ngAcquire', { numberOfKeys: 2, lua: ACQUIRE_LUA });
    this.#redis.defineCommand('ngRefresh', { numberOfKeys: 2, lua: REFRESH_LUA });
    this.#redis.defineCommand('ngRelease', { numberOfKeys: 2, lua: RELEASE_LUA });
    this.#redis.defineCommand('ngTouch', { numberOfKeys: 2, lua: TOUCH_LUA });
    this.#redis.defineCommand('ngSweep', { numberOfKeys: 1, lua: SWEEP_LUA });
    this.#redis.defineCommand('ngSize', { numberOfKeys: 1, lua: SIZE_LUA, readOnly: true });

    this.#redis.on('error', (err: unknown) => {
      this.#lastError = describeError(err);
    });
    this.#redis.on('close', () => {
      if (this.#phase === 'running') this.#markDown(this.#lastError ?? 'connection closed');
    });
    this.#redis.on('ready', () => {
      if (this.#phase !== 'running') return;
      this.#lastError = undefined;
      this.#markUp();
      // Redis may have come back empty (restart without persistence, failover): re-assert at once.
      void this.#refreshLeases();
    });
  }

  /**
   * Connect once, within `connectTimeoutMs`, without retrying. Rejects with a
   * TokenStoreUnavailableError naming `redis://host:port` (no password) and the cause.
   */
  async connect(): Promise<void> {
    if (this.#phase !== 'new') throw new Error(`connect() called on a store that is ${this.#phase}`);
    this.#phase = 'connecting';
    let timer: NodeJS.Timeout | undefined;
    const connecting = this.#redis.connect();
    connecting.catch(() => {}); // may settle after the timeout below has won the race
    try {
      await Promise.race([
        connecting,
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`no answer within ${this.#connectTimeoutMs} ms`)), this.#connectTimeoutMs);
        }),
      ]);
      // The handshake passed; make sure this server runs our scripts (version, ACL, auth).
      await this.#redis.ngSize(this.#indexKey);
    } catch (err) {
      this.#phase = 'closed';
      this.#redis.disconnect();
      const reason = this.#lastError ?? describeError(err);
      throw new TokenStoreUnavailableError(this.where, reason, `cannot connect to the Redis token store at ${this.where}: ${reason}`);
    } finally {
      clearTimeout(timer);
    }
    this.#phase = 'running';
    this.#up = true;
    this.#leaseTimer = setInterval(() => this.#onLeaseTick(), this.leaseRefreshMs);
    this.#leaseTimer.unref();
    this.#log?.info(
      { redis: this.where, keyPrefix: this.keyPrefix, ttlMs: this.ttlMs, leaseMs: this.leaseMs, leaseRefreshMs: this.leaseRefreshMs },
      'token store: connected to Redis',
    );
  }

  /** Whether the last command / connection event said Redis is answering. */
  get available(): boolean {
    return this.#phase === 'running' && this.#up;
  }

  /** Tokens with open connections on this gateway. */
  get heldCount(): number {
    return this.#held.size;
  }

  stats(): Readonly<RedisTokenStoreStats> {
    return { ...this.#stats };
  }

  // ---- TokenStore ----

  /** Refused with `capacity` at `maxTokens` live tokens (all gateways). Rejects with TokenStoreUnavailableError. */
  async mint(contractId: string, clientId: string = randomUUID()): Promise<MintResult> {
    if (typeof contractId !== 'string' || contractId.length === 0) {
      throw new TypeError('contractId must be a non-empty string');
    }
    const issuedAt = this.#wallClock();
    if (!Number.isFinite(issuedAt)) throw new RangeError(`wall clock returned a non-finite value: ${issuedAt}`);
    for (let attempt = 0; attempt < MINT_ATTEMPTS; attempt++) {
      const token = this.#generateToken();
      const r = await this.#run(() =>
        this.#redis.ngMint(this.#key(token), this.#indexKey, this.ttlMs, this.maxTokens, token, contractId, clientId, String(issuedAt)),
      );
      if (r === 0) {
        this.#stats.refused++;
        return { ok: false, reason: 'capacity' };
      }
      if (r === 1) {
        this.#stats.issued++;
        return { ok: true, token, record: { contractId, clientId, issuedAt, lastAccessed: this.#clock.now() } };
      }
      // -1: 256 random bits do not collide; this guards an injected generator.
    }
    throw new Error(`token generator produced ${MINT_ATTEMPTS} tokens that already exist`);
  }

  /**
   * Resolve and mark in use on this gateway (takes this gateway's lease). Undefined if unknown or
   * expired. Always asks Redis, so while Redis is away every new connection is refused with
   * TokenStoreUnavailableError, even for a token this gateway already holds.
   */
  async acquire(token: string): Promise<AttestedContract | undefined> {
    if (!isWellFormedToken(token)) return undefined; // garbage never becomes a key or a round trip
    const r = await this.#run(() => this.#redis.ngAcquire(this.#key(token), this.#indexKey, this.leaseMs, this.#leaseField, token));
    if (!Array.isArray(r)) return undefined;
    const [contractId, clientId, issuedAtRaw] = r;
    const issuedAt = Number(issuedAtRaw);
    if (typeof contractId !== 'string' || contractId === '' || typeof clientId !== 'string' || !Number.isFinite(issuedAt)) {
      // A damaged record (written by something else): refuse it rather than attest garbage.
      this.#log?.warn({ token: tokenFingerprint(token) }, 'token store: malformed token record in Redis, refused');
      return undefined;
    }
    const held = this.#held.get(token);
    if (held !== undefined) held.count++;
    else this.#held.set(token, { count: 1, contractId, clientId, issuedAt });
    this.#unsettled.delete(token);
    this.#touches.delete(token);
    return { contractId, clientId, issuedAt, lastAccessed: this.#clock.now() };
  }

  /**
   * An access on an open connection. A token held here is kept alive by its lease, so this costs
   * no round trip; any other token gets at most one round trip per `touchCoalesceMs` (leading edge,
   * plus one trailing edge if touched again inside the window). Fire-and-forget; never throws.
   */
  touch(token: string): void {
    if (this.#phase !== 'running' || !isWellFormedToken(token)) return;
    if (this.#held.has(token)) {
      this.#stats.touchesCoalesced++;
      return;
    }
    const now = this.#clock.now();
    const w = this.#touches.get(token);
    if (w === undefined || now - w.sentAt >= this.touchCoalesceMs) {
      this.#touches.set(token, { sentAt: now, pending: false });
      this.#sendTouches([token]);
    } else {
      w.pending = true;
      this.#stats.touchesCoalesced++;
    }
    this.#ensureTouchTimer();
  }

  /**
   * A connection closed. When the last one on this gateway closes, this gateway's lease is dropped
   * and the token expires ttl from now unless another gateway still holds it. Fire-and-forget; if
   * Redis cannot be told now, it is told when it is back (with the idle time since the close).
   */
  release(token: string): void {
    const held = this.#held.get(token);
    if (held === undefined) return; // unknown or already released: must not underflow
    held.count--;
    if (held.count > 0) return;
    this.#held.delete(token);
    if (this.#phase !== 'running') return;
    const closedAt = this.#clock.now();
    this.#touches.set(token, { sentAt: closedAt, pending: false }); // the release is this window's access
    this.#ensureTouchTimer();
    const pipe = this.#pipeline();
    pipe.ngRelease(this.#key(token), this.#indexKey, this.ttlMs, this.#leaseField, token, held.contractId, held.clientId, String(held.issuedAt), '1');
    void this.#exec(pipe).then((r) => {
      if (r.ok || this.#held.has(token)) return; // done, or acquired again meanwhile (the lease covers it)
      if (this.#unsettled.size >= MAX_UNSETTLED) {
        const oldest = this.#unsettled.keys().next();
        if (oldest.done !== true) this.#unsettled.delete(oldest.value);
      }
      this.#unsettled.set(token, { rec: held, closedAt });
    });
  }

  /**
   * Light reconciliation: Redis has already removed expired keys; this drops their entries from the
   * count index, in batches so Redis is never blocked long. Concurrent callers share one run.
   */
  sweep(): Promise<SweepResult> {
    this.#sweeping ??= this.#sweepBatches().finally(() => {
      this.#sweeping = undefined;
    });
    return this.#sweeping;
  }

  /** Live tokens in Redis under this prefix (all gateways), from the index: O(log n). */
  async size(): Promise<number> {
    return this.#run(() => this.#redis.ngSize(this.#indexKey));
  }

  /**
   * Stop timers, release what is still held (connections open at shutdown are closing now, so their
   * tokens live ttl from here, §7), then QUIT. Best-effort, bounded by the command timeout; idempotent.
   */
  close(): Promise<void> {
    this.#closing ??= this.#closeOnce();
    return this.#closing;
  }

  /**
   * Drop the connection at once without telling Redis anything, as a crash would: held tokens live
   * until their leases run out. For a shutdown that has run out of time, and for tests.
   */
  abort(): void {
    this.#stopTimers();
    this.#phase = 'closed';
    this.#redis.disconnect();
  }

  // ---- internals ----

  #key(token: string): string {
    return this.keyPrefix + token;
  }

  #pipeline(): ScriptedPipeline {
    return this.#redis.pipeline() as ScriptedPipeline;
  }

  /** One foreground command: fails fast with TokenStoreUnavailableError, and tracks availability. */
  async #run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.#phase !== 'running') {
      const state = this.#phase === 'closed' ? 'the store is closed' : 'the store is not connected';
      throw new TokenStoreUnavailableError(this.where, state);
    }
    let r: T;
    try {
      r = await fn();
    } catch (err) {
      const reason =
        this.#redis.status === 'ready' ? describeError(err) : `not connected (${this.#lastError ?? this.#redis.status})`;
      this.#markDown(reason);
      throw new TokenStoreUnavailableError(this.where, reason);
    }
    this.#markUp();
    return r;
  }

  #markDown(reason: string): void {
    if (!this.#up || this.#phase !== 'running') return;
    this.#up = false;
    this.#downSince = this.#clock.now();
    this.#stats.outages++;
    this.#log?.warn(
      { redis: this.where, reason },
      'token store: Redis unavailable; new authentications and page loads are refused until it is back, open connections carry on',
    );
  }

  #markUp(): void {
    if (this.#up || this.#phase !== 'running') return;
    this.#up = true;
    const downMs = Math.round(this.#clock.now() - this.#downSince);
    this.#log?.info({ redis: this.where, downMs }, 'token store: Redis available again');
  }

  /**
   * Run a pipeline of fire-and-forget scripts. Never rejects: failures are counted and make the
   * store unavailable (logged once per episode). `recreated` counts replies of 1 (keys written back).
   */
  #exec(pipe: ScriptedPipeline): Promise<{ ok: boolean; recreated: number }> {
    const failed = (err: unknown) => {
      this.#stats.backgroundErrors++;
      if (this.#phase === 'running') this.#markDown(describeError(err));
      return { ok: false, recreated: 0 };
    };
    return pipe.exec().then((results) => {
      let recreated = 0;
      for (const [err, res] of results ?? []) {
        if (err) return failed(err);
        if (res === 1) recreated++;
      }
      this.#markUp();
      return { ok: true, recreated };
    }, failed);
  }

  #ensureTouchTimer(): void {
    if (this.#touchTimer !== undefined) return;
    this.#touchTimer = setInterval(() => this.#onTouchTick(), this.touchCoalesceMs);
    this.#touchTimer.unref();
  }

  /** Trailing edges of coalesced touches; forget windows that ended quietly. */
  #onTouchTick(): void {
    const now = this.#clock.now();
    const due: string[] = [];
    for (const [token, w] of this.#touches) {
      if (now - w.sentAt < this.touchCoalesceMs) continue;
      if (w.pending && !this.#held.has(token)) {
        w.sentAt = now;
        w.pending = false;
        due.push(token);
      } else {
        this.#touches.delete(token);
      }
    }
    if (due.length > 0) this.#sendTouches(due);
    if (this.#touches.size === 0 && this.#touchTimer !== undefined) {
      clearInterval(this.#touchTimer);
      this.#touchTimer = undefined;
    }
  }

  #sendTouches(tokens: readonly string[]): void {
    if (this.#phase !== 'running') return;
    for (let i = 0; i < tokens.length; i += BATCH) {
      const pipe = this.#pipeline();
      const chunk = tokens.slice(i, i + BATCH);
      for (const token of chunk) pipe.ngTouch(this.#key(token), this.#indexKey, this.ttlMs, token);
      this.#stats.touchesSent += chunk.length;
      void this.#exec(pipe);
    }
  }

  #onLeaseTick(): void {
    // Keyed to the socket, not to #up: after a failed command, a renewal that succeeds is what
    // brings the store back up; skipping it would let the leases of open connections run out.
    if (this.#redis.status === 'ready') void this.#refreshLeases();
  }

  /** Renew every lease held here (re-creating vanished keys) and write missed releases. One run at a time. */
  #refreshLeases(): Promise<void> {
    this.#refreshing ??= this.#refreshOnce().finally(() => {
      this.#refreshing = undefined;
    });
    return this.#refreshing;
  }

  async #refreshOnce(): Promise<void> {
    if (this.#phase !== 'running') return;
    type Item = { token: string; rec: Held; unsettled?: Unsettled; idle?: number };
    const items: Item[] = [];
    for (const [token, rec] of this.#held) items.push({ token, rec });
    const now = this.#clock.now();
    for (const [token, u] of this.#unsettled) {
      const idleLeft = Math.floor(this.ttlMs - (now - u.closedAt));
      // Long gone (our lease has run out too), or held again: nothing left to write.
      if (now - u.closedAt >= this.leaseMs || this.#held.has(token)) this.#unsettled.delete(token);
      else items.push({ token, rec: u.rec, unsettled: u, idle: idleLeft });
    }
    let recreated = 0;
    for (let i = 0; i < items.length; i += BATCH) {
      const pipe = this.#pipeline();
      const chunk = items.slice(i, i + BATCH);
      for (const it of chunk) {
        const { contractId: c, clientId: k, issuedAt } = it.rec;
        if (it.idle === undefined) {
          pipe.ngRefresh(this.#key(it.token), this.#indexKey, this.leaseMs, this.#leaseField, it.token, c, k, String(issuedAt));
          this.#stats.leaseRefreshes++;
        } else {
          // Idle time since the close is counted; past the ttl the lease is still dropped, nothing re-created.
          const recreate = it.idle > 0 ? '1' : '0';
          pipe.ngRelease(this.#key(it.token), this.#indexKey, Math.max(1, it.idle), this.#leaseField, it.token, c, k, String(issuedAt), recreate);
        }
      }
      const r = await this.#exec(pipe);
      recreated += r.recreated;
      if (!r.ok) break; // the next tick or the next 'ready' tries again
      for (const it of chunk) {
        // Written: forget it, unless a newer failed release replaced the entry meanwhile.
        if (it.unsettled !== undefined && this.#unsettled.get(it.token) === it.unsettled) this.#unsettled.delete(it.token);
      }
    }
    if (recreated > 0) {
      this.#stats.recreated += recreated;
      this.#log?.warn(
        { redis: this.where, recreated },
        'token store: tokens in use were missing in Redis (restart or failover without data?) and were written back',
      );
    }
  }

  async #sweepBatches(): Promise<SweepResult> {
    let removed = 0;
    for (;;) {
      const [n, remaining] = await this.#run(() => this.#redis.ngSweep(this.#indexKey, SWEEP_BATCH));
      removed += n;
      this.#stats.expired += n;
      if (n < SWEEP_BATCH) return { removed, remaining };
    }
  }

  #stopTimers(): void {
    if (this.#leaseTimer !== undefined) clearInterval(this.#leaseTimer);
    if (this.#touchTimer !== undefined) clearInterval(this.#touchTimer);
    this.#leaseTimer = undefined;
    this.#touchTimer = undefined;
  }

  async #closeOnce(): Promise<void> {
    this.#stopTimers();
    await this.#refreshing;
    if (this.#phase === 'running' && this.#up && this.#held.size > 0) {
      const held = [...this.#held];
      for (let i = 0; i < held.length; i += BATCH) {
        const pipe = this.#pipeline();
        for (const [token, rec] of held.slice(i, i + BATCH)) {
          pipe.ngRelease(this.#key(token), this.#indexKey, this.ttlMs, this.#leaseField, token, rec.contractId, rec.clientId, String(rec.issuedAt), '1');
        }
        if (!(await this.#exec(pipe)).ok) break;
      }
    }
    this.#held.clear();
    this.#touches.clear();
    this.#unsettled.clear();
    await this.#sweeping?.catch(() => {});
    this.#phase = 'closed';
    if (this.#redis.status === 'ready') {
      try {
        await this.#redis.quit();
        return;
      } catch {
        // fall through to a hard disconnect
      }
    }
    this.#redis.disconnect();
  }
}

function timerMs(name: string, value: number | undefined, fallback: number): number {
  const v = value ?? Math.max(1, fallback);
  if (!(Number.isSafeInteger(v) && v >= 1 && v <= 2_147_483_647)) {
    throw new RangeError(`${name} must be an integer in 1..2147483647, got ${v}`);
  }
  return v;
}

/** `redis://host:port/db` without user or password; throws without echoing the URL (it may hold one). */
export function describeUrl(url: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new TypeError('token store URL is not a valid URL (expected redis://host:port or rediss://host:port)');
  }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') {
    throw new TypeError(`token store URL must start with redis:// or rediss://, got ${u.protocol}//`);
  }
  const port = u.port === '' ? '6379' : u.port;
  const db = u.pathname.length > 1 ? u.pathname : '';
  return `${u.protocol}//${u.hostname}:${port}${db}`;
}

/** A short, token-free description of a client error (the ioredis error object carries command args). */
function describeError(err: unknown): string {
  let msg: string;
  if (err instanceof Error) msg = err.message || err.name;
  else msg = String(err);
  msg = redactTokens(msg.replace(/\s+/g, ' ').trim());
  return msg.length > 200 ? `${msg.slice(0, 200)}…` : msg;
}
