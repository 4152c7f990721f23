import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { systemMonotonicClock } from './clock.js';
import { flatAscii, isWellFormedToken, newToken } from './token.js';
import type {
  AttestedContract,
  MintResult,
  MonotonicClock,
  SnapshotEntry,
  SweepResult,
  TokenStore,
} from './types.js';

export interface MemoryTokenStoreOptions {
  /** Idle time after which a token is expired (idle >= ttlMs). */
  readonly ttlMs: number;
  /** Most live tokens held; minting beyond it is refused, never made room for by eviction. */
  readonly maxTokens: number;
  /** Expiry clock. Defaults to performance.now. */
  readonly clock?: MonotonicClock;
  /** Only for `issuedAt` (display). Defaults to Date.now. */
  readonly wallClock?: () => number;
  /** Longest stretch a mass expiry may hold the event loop before yielding. Default 5 ms. */
  readonly yieldEveryMs?: number;
  /** Token generator; tests and benchmarks swap in a cheap one. Default: `newToken`. */
  readonly generateToken?: () => string;
}

export interface TokenStoreStats {
  /** Tokens minted. */
  issued: number;
  /** Tokens removed because they expired: by a sweep, at a lookup, or to make room at the cap. */
  expired: number;
  /** Mints refused at the cap. */
  refused: number;
  /** Idle entries a sweep looked at (removed ones plus the one unexpired entry it stopped at). */
  sweepVisited: number;
  /** Times an async sweep gave the event loop back. */
  sweepYields: number;
}

export interface RestoreResult {
  readonly restored: number;
  /** Expired, malformed, duplicate or over the cap. */
  readonly dropped: number;
}

/**
 * Internal record: the public fields, how many open connections hold the token, and its place in
 * the idle list (oldest access first). A record in use is in no list: it cannot expire.
 */
interface Rec {
  readonly token: string;
  readonly contractId: string;
  readonly clientId: string;
  readonly issuedAt: number;
  lastAccessed: number;
  users: number;
  prev: Rec | undefined;
  next: Rec | undefined;
}

/** Removals between looks at the real clock: reading it per removal would cost more than removing. */
const CHECK_EVERY = 256;
/** Bound on the work a mint at the cap does on the hot path; the cleanup loop does the bulk. */
const MINT_RECLAIM_LIMIT = 64;
/**
 * Lookup tables. One JS Map of a million entries rehashes all of them inside a single `delete`
 * when it shrinks (~90 ms measured), so a mass expiry could never yield often enough; 64 maps of
 * ~16k entries each rehash in well under a millisecond.
 */
const SHARDS = 64;

/** Cheap shard choice from the last characters: tokens are random base58. */
function shardOf(token: string): number {
  const n = token.length;
  return n === 0 ? 0 : ((token.charCodeAt(n - 1) * 31 + (n > 1 ? token.charCodeAt(n - 2) : 0)) & 0x7fffffff) % SHARDS;
}

/**
 * The embedded token store (§3). Idle tokens sit in a doubly linked list in last-access order (an
 * access unlinks a token and appends it), tokens in use in no list, so a sweep walks from the oldest
 * idle token and stops at the first unexpired one: its cost follows what it removes, not what is
 * held. Lookups go through sharded maps.
 */
export class MemoryTokenStore implements TokenStore {
  readonly ttlMs: number;
  readonly maxTokens: number;
  readonly #clock: MonotonicClock;
  readonly #wallClock: () => number;
  readonly #yieldEveryMs: number;
  readonly #generateToken: () => string;

  readonly #shards: Map<string, Rec>[] = Array.from({ length: SHARDS }, () => new Map<string, Rec>());
  #count = 0;
  #inUseCount = 0;
  /** Invariant: from #head along `next`, non-decreasing `lastAccessed`. */
  #head: Rec | undefined;
  #tail: Rec | undefined;
  #idleCount = 0;
  /** Highest time seen; a clock that steps back is clamped so idle ages never go negative or reorder. */
  #lastNow = -Infinity;
  #sweeping: Promise<SweepResult> | undefined;
  readonly #stats: TokenStoreStats = { issued: 0, expired: 0, refused: 0, sweepVisited: 0, sweepYields: 0 };

  constructor(opts: MemoryTokenStoreOptions) {
    if (!(Number.isFinite(opts.ttlMs) && opts.ttlMs > 0)) {
      throw new RangeError(`ttlMs must be a finite number > 0, got ${opts.ttlMs}`);
    }
    if (!(Number.isSafeInteger(opts.maxTokens) && opts.maxTokens >= 1)) {
      throw new RangeError(`maxTokens must be an integer >= 1, got ${opts.maxTokens}`);
    }
    const yieldEveryMs = opts.yieldEveryMs ?? 5;
    if (!(Number.isFinite(yieldEveryMs) && yieldEveryMs > 0)) {
      throw new RangeError(`yieldEveryMs must be a finite number > 0, got ${yieldEveryMs}`);
    }
    this.ttlMs = opts.ttlMs;
    this.maxTokens = opts.maxTokens;
    this.#clock = opts.clock ?? systemMonotonicClock;
    this.#wallClock = opts.wallClock ?? Date.now;
    this.#yieldEveryMs = yieldEveryMs;
    this.#generateToken = opts.generateToken ?? newToken;
  }

  // ---- synchronous hot path ----

  /** `clientId` defaults to a random UUID (pooled entropy: cheap enough for every page load). */
  mintSync(contractId: string, clientId: string = flatAscii(randomUUID())): MintResult {
    if (typeof contractId !== 'string' || contractId.length === 0) {
      throw new TypeError('contractId must be a non-empty string');
    }
    // Read both clocks before anything changes so a broken clock cannot leave a half-made record.
    const now = this.#now();
    const issuedAt = this.#wallClock();
    if (!Number.isFinite(issuedAt)) throw new RangeError(`wall clock returned a non-finite value: ${issuedAt}`);

    if (this.#count >= this.maxTokens) {
      this.#removeExpiredHead(now, MINT_RECLAIM_LIMIT);
      if (this.#count >= this.maxTokens) {
        this.#stats.refused++;
        return { ok: false, reason: 'capacity' };
      }
    }

    let token = this.#generateToken();
    // 256 random bits do not collide; the loop guards an injected generator, not the RNG.
    while (this.#get(token) !== undefined) token = this.#generateToken();

    const rec: Rec = {
      token,
      contractId: internContractId(contractId),
      clientId,
      issuedAt,
      lastAccessed: now,
      users: 0,
      prev: undefined,
      next: undefined,
    };
    this.#shards[shardOf(token)]!.set(token, rec);
    this.#count++;
    this.#append(rec);
    this.#stats.issued++;
    return { ok: true, token, record: publicView(rec) };
  }

  /** Resolve and mark in use. Expired tokens are removed and refused even if no sweep ran yet. */
  acquireSync(token: string): AttestedContract | undefined {
    const rec = this.#live(token);
    if (rec === undefined) return undefined;
    if (rec.users === 0) {
      this.#unlink(rec);
      this.#inUseCount++;
    }
    rec.users++;
    rec.lastAccessed = this.#lastNow;
    return publicView(rec);
  }

  /** Look a token up without marking it in use or counting it as an access. */
  resolveSync(token: string): AttestedContract | undefined {
    const rec = this.#live(token);
    return rec === undefined ? undefined : publicView(rec);
  }

  touch(token: string): void {
    // An expired idle token is not revived by a late touch.
    const rec = this.#live(token);
    if (rec === undefined) return;
    rec.lastAccessed = this.#lastNow;
    if (rec.users === 0 && rec !== this.#tail) {
      this.#unlink(rec);
      this.#append(rec);
    }
  }

  release(token: string): void {
    const rec = this.#get(token);
    if (rec === undefined || rec.users === 0) return; // unknown or already idle: must not underflow
    rec.users--;
    if (rec.users > 0) return;
    this.#inUseCount--;
    rec.lastAccessed = this.#now();
    this.#append(rec); // newest access, so appending keeps the order
  }

  sizeSync(): number {
    return this.#count;
  }

  /** Remove up to `limit` expired tokens in one synchronous pass. */
  sweepSync(limit = Infinity): SweepResult {
    const removed = this.#removeExpiredHead(this.#now(), limit);
    return { removed, remaining: this.#count };
  }

  // ---- TokenStore (async) ----

  async mint(contractId: string, clientId?: string): Promise<MintResult> {
    return this.mintSync(contractId, clientId);
  }

  async acquire(token: string): Promise<AttestedContract | undefined> {
    return this.acquireSync(token);
  }

  async size(): Promise<number> {
    return this.#count;
  }

  /**
   * Remove every expired token, giving the event loop back whenever a run has held it for
   * `yieldEveryMs`, so a mass expiry does not stall connections. Concurrent callers share one run.
   */
  sweep(): Promise<SweepResult> {
    this.#sweeping ??= this.#sweepInSlices().finally(() => {
      this.#sweeping = undefined;
    });
    return this.#sweeping;
  }

  async close(): Promise<void> {
    await this.#sweeping;
  }

  // ---- persistence (§7) ----

  /** Live tokens with their idle age now; a token in use counts as idle 0, so its clock restarts at restore. */
  snapshot(): SnapshotEntry[] {
    const now = this.#now();
    const out: SnapshotEntry[] = [];
    for (let r = this.#head; r !== undefined; r = r.next) {
      const idleMs = now - r.lastAccessed;
      if (idleMs >= this.ttlMs) continue; // already dead; restore would drop it anyway
      out.push({ token: r.token, contractId: r.contractId, clientId: r.clientId, issuedAt: r.issuedAt, idleMs });
    }
    if (this.#inUseCount > 0) {
      for (const shard of this.#shards) {
        for (const r of shard.values()) {
          if (r.users > 0) out.push({ token: r.token, contractId: r.contractId, clientId: r.clientId, issuedAt: r.issuedAt, idleMs: 0 });
        }
      }
    }
    return out;
  }

  /**
   * Load saved entries (possibly from a damaged or hand-edited file, hence `unknown`). Drops what is
   * expired or malformed; at the cap keeps the most recently used, the ones a page will reconnect with.
   */
  restore(entries: readonly unknown[]): RestoreResult {
    if (!Array.isArray(entries)) throw new TypeError('token snapshot must be an array of entries');
    const now = this.#now();
    const seen = new Set<string>();
    const valid: SnapshotEntry[] = [];
    for (const e of entries) {
      if (!isValidEntry(e) || !(e.idleMs < this.ttlMs)) continue;
      if (seen.has(e.token) || this.#get(e.token) !== undefined) continue;
      seen.add(e.token);
      valid.push(e);
    }
    valid.sort((a, b) => a.idleMs - b.idleMs);
    const kept = valid.slice(0, Math.max(0, this.maxTokens - this.#count));

    const incoming: Rec[] = kept.map((e) => ({
      token: flatAscii(e.token),
      contractId: internContractId(e.contractId),
      clientId: flatAscii(e.clientId),
      issuedAt: e.issuedAt,
      lastAccessed: now - e.idleMs,
      users: 0,
      prev: undefined,
      next: undefined,
    }));
    // Rebuild the idle list in one sorted pass so the last-access order holds whatever was held.
    const idle: Rec[] = [];
    for (let r = this.#head; r !== undefined; r = r.next) idle.push(r);
    const merged = [...idle, ...incoming].sort((a, b) => a.lastAccessed - b.lastAccessed);
    this.#head = this.#tail = undefined;
    this.#idleCount = 0;
    for (const r of merged) {
      r.prev = r.next = undefined;
      this.#append(r);
    }
    for (const r of incoming) this.#shards[shardOf(r.token)]!.set(r.token, r);
    this.#count += incoming.length;
    return { restored: kept.length, dropped: entries.length - kept.length };
  }

  stats(): Readonly<TokenStoreStats> {
    return { ...this.#stats };
  }

  // ---- internals ----

  #get(token: string): Rec | undefined {
    return this.#shards[shardOf(token)]!.get(token);
  }

  /** Monotonic now, validated: a NaN here would make a record that never expires (case C3). */
  #now(): number {
    const t = this.#clock.now();
    if (!Number.isFinite(t)) throw new RangeError(`monotonic clock returned a non-finite value: ${t}`);
    if (t > this.#lastNow) this.#lastNow = t;
    return this.#lastNow;
  }

  /** The one expiry test, so lookups and sweeps agree at the boundary (idle == TTL is expired). */
  #isExpired(rec: Rec, now: number): boolean {
    return now - rec.lastAccessed >= this.ttlMs;
  }

  /** The record for `token` if in use or unexpired; an expired one is removed on the spot. */
  #live(token: string): Rec | undefined {
    const rec = this.#get(token);
    if (rec === undefined) return undefined;
    const now = this.#now();
    if (rec.users === 0 && this.#isExpired(rec, now)) {
      this.#drop(rec);
      this.#stats.expired++;
      return undefined;
    }
    return rec;
  }

  #append(rec: Rec): void {
    rec.prev = this.#tail;
    rec.next = undefined;
    if (this.#tail === undefined) this.#head = rec;
    else this.#tail.next = rec;
    this.#tail = rec;
    this.#idleCount++;
  }

  #unlink(rec: Rec): void {
    if (rec.prev === undefined) this.#head = rec.next;
    else rec.prev.next = rec.next;
    if (rec.next === undefined) this.#tail = rec.prev;
    else rec.next.prev = rec.prev;
    rec.prev = rec.next = undefined;
    this.#idleCount--;
  }

  /** Forget an idle record entirely. */
  #drop(rec: Rec): void {
    this.#unlink(rec);
    this.#shards[shardOf(rec.token)]!.delete(rec.token);
    this.#count--;
  }

  /** Remove expired tokens from the oldest end, stopping at the first live one or after `limit`. */
  #removeExpiredHead(now: number, limit: number): number {
    let removed = 0;
    while (this.#head !== undefined && removed < limit) {
      this.#stats.sweepVisited++;
      if (!this.#isExpired(this.#head, now)) break;
      this.#drop(this.#head);
      removed++;
    }
    this.#stats.expired += removed;
    return removed;
  }

  async #sweepInSlices(): Promise<SweepResult> {
    let now = this.#now();
    // Every token expired and none in use (a mass expiry): start over with empty tables instead
    // of a million deletes.
    const tail = this.#tail;
    if (tail !== undefined && this.#inUseCount === 0 && this.#isExpired(tail, now)) {
      const removed = this.#count;
      for (let i = 0; i < SHARDS; i++) this.#shards[i] = new Map<string, Rec>();
      this.#head = this.#tail = undefined;
      this.#count = this.#idleCount = 0;
      this.#stats.expired += removed;
      this.#stats.sweepVisited += 1;
      return { removed, remaining: 0 };
    }
    let removed = 0;
    let sliceStart = performance.now();
    for (;;) {
      const n = this.#removeExpiredHead(now, CHECK_EVERY);
      removed += n;
      if (n < CHECK_EVERY) break; // reached a live token or the end
      if (performance.now() - sliceStart >= this.#yieldEveryMs) {
        this.#stats.sweepYields++;
        await yieldToEventLoop();
        sliceStart = performance.now();
        now = this.#now();
      }
    }
    return { removed, remaining: this.#count };
  }
}

/**
 * A copy with the public fields only. The record itself holds its token and its neighbours in
 * the idle list: handed out, it could end up in a log line (§3: never a token in a log).
 */
function publicView(r: Rec): AttestedContract {
  return { contractId: r.contractId, clientId: r.clientId, issuedAt: r.issuedAt, lastAccessed: r.lastAccessed };
}

/**
 * One flat copy per contract id: every page load of a contract would otherwise keep its own
 * 64-byte copy (or a slice of the request URL). Bounded: a flood of distinct ids resets it.
 */
const contractIds = new Map<string, string>();
function internContractId(id: string): string {
  let s = contractIds.get(id);
  if (s === undefined) {
    if (contractIds.size >= 10_000) contractIds.clear();
    s = flatAscii(id);
    contractIds.set(s, s);
  }
  return s;
}

function isValidEntry(e: unknown): e is SnapshotEntry {
  if (typeof e !== 'object' || e === null) return false;
  const r = e as Record<string, unknown>;
  return (
    isWellFormedToken(r['token']) &&
    typeof r['contractId'] === 'string' &&
    r['contractId'].length > 0 &&
    typeof r['clientId'] === 'string' &&
    typeof r['issuedAt'] === 'number' &&
    Number.isFinite(r['issuedAt']) &&
    typeof r['idleMs'] === 'number' &&
    Number.isFinite(r['idleMs']) &&
    r['idleMs'] >= 0
  );
}
