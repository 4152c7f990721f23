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

/** Internal record: the public fields plus how many open connections hold the token. */
interface Rec {
  readonly contractId: string;
  readonly clientId: string;
  readonly issuedAt: number;
  lastAccessed: number;
  users: number;
}

/** Removals between looks at the real clock: reading it per removal would cost more than removing. */
const CHECK_EVERY = 256;
/** Bound on the work a mint at the cap does on the hot path; the cleanup loop does the bulk. */
const MINT_RECLAIM_LIMIT = 64;

/**
 * The embedded token store (§3). Idle tokens sit in a Map kept in last-access order (an access
 * deletes and re-inserts, moving the token to the end), tokens in use sit in a second Map, so a
 * sweep walks from the oldest idle token and stops at the first unexpired one: its cost follows
 * what it removes, not what is held.
 */
export class MemoryTokenStore implements TokenStore {
  readonly ttlMs: number;
  readonly maxTokens: number;
  readonly #clock: MonotonicClock;
  readonly #wallClock: () => number;
  readonly #yieldEveryMs: number;
  readonly #generateToken: () => string;

  /** Invariant: iteration order is non-decreasing `lastAccessed`. */
  readonly #idle = new Map<string, Rec>();
  readonly #inUse = new Map<string, Rec>();
  /** The record last appended to #idle: the most recently used one. */
  #newest: Rec | undefined;
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

    if (this.#size() >= this.maxTokens) {
      this.#removeExpiredHead(now, MINT_RECLAIM_LIMIT);
      if (this.#size() >= this.maxTokens) {
        this.#stats.refused++;
        return { ok: false, reason: 'capacity' };
      }
    }

    let token = this.#generateToken();
    // 256 random bits do not collide; the loop guards an injected generator, not the RNG.
    while (this.#idle.has(token) || this.#inUse.has(token)) token = this.#generateToken();

    // Flat copies: a contract id sliced out of a request URL would otherwise keep the URL alive.
    const rec: Rec = { contractId: internContractId(contractId), clientId, issuedAt, lastAccessed: now, users: 0 };
    this.#idle.set(token, rec);
    this.#newest = rec;
    this.#stats.issued++;
    return { ok: true, token, record: publicView(rec) };
  }

  /** Resolve and mark in use. Expired tokens are removed and refused even if no sweep ran yet. */
  acquireSync(token: string): AttestedContract | undefined {
    const held = this.#inUse.get(token);
    if (held !== undefined) {
      held.users++;
      held.lastAccessed = this.#now();
      return publicView(held);
    }
    const rec = this.#liveIdle(token);
    if (rec === undefined) return undefined;
    this.#idle.delete(token);
    rec.users = 1;
    rec.lastAccessed = this.#lastNow;
    this.#inUse.set(token, rec);
    return publicView(rec);
  }

  /** Look a token up without marking it in use or counting it as an access. */
  resolveSync(token: string): AttestedContract | undefined {
    const rec = this.#inUse.get(token) ?? this.#liveIdle(token);
    return rec === undefined ? undefined : publicView(rec);
  }

  touch(token: string): void {
    const held = this.#inUse.get(token);
    if (held !== undefined) {
      held.lastAccessed = this.#now();
      return;
    }
    // An expired idle token is not revived by a late touch.
    const rec = this.#liveIdle(token);
    if (rec === undefined) return;
    rec.lastAccessed = this.#lastNow;
    this.#idle.delete(token);
    this.#idle.set(token, rec);
    this.#newest = rec;
  }

  release(token: string): void {
    const rec = this.#inUse.get(token);
    if (rec === undefined) return; // unknown or already idle: releasing twice must not underflow
    rec.users--;
    if (rec.users > 0) return;
    rec.users = 0;
    rec.lastAccessed = this.#now();
    this.#inUse.delete(token);
    this.#idle.set(token, rec); // newest access, so appending keeps the order
    this.#newest = rec;
  }

  sizeSync(): number {
    return this.#size();
  }

  /** Remove up to `limit` expired tokens in one synchronous pass. */
  sweepSync(limit = Infinity): SweepResult {
    const removed = this.#removeExpiredHead(this.#now(), limit);
    return { removed, remaining: this.#size() };
  }

  // ---- TokenStore (async) ----

  async mint(contractId: string, clientId?: string): Promise<MintResult> {
    return this.mintSync(contractId, clientId);
  }

  async acquire(token: string): Promise<AttestedContract | undefined> {
    return this.acquireSync(token);
  }

  async size(): Promise<number> {
    return this.#size();
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
    for (const [token, r] of this.#idle) {
      const idleMs = now - r.lastAccessed;
      if (idleMs >= this.ttlMs) continue; // already dead; restore would drop it anyway
      out.push({ token, contractId: r.contractId, clientId: r.clientId, issuedAt: r.issuedAt, idleMs });
    }
    for (const [token, r] of this.#inUse) {
      out.push({ token, contractId: r.contractId, clientId: r.clientId, issuedAt: r.issuedAt, idleMs: 0 });
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
      if (seen.has(e.token) || this.#idle.has(e.token) || this.#inUse.has(e.token)) continue;
      seen.add(e.token);
      valid.push(e);
    }
    valid.sort((a, b) => a.idleMs - b.idleMs);
    const room = Math.max(0, this.maxTokens - this.#size());
    const kept = valid.slice(0, room);

    const incoming: [string, Rec][] = kept.map((e) => [
      e.token,
      { contractId: e.contractId, clientId: e.clientId, issuedAt: e.issuedAt, lastAccessed: now - e.idleMs, users: 0 },
    ]);
    // Rebuild in one sorted pass so the last-access order holds whatever was already held.
    const merged = [...this.#idle, ...incoming].sort((a, b) => a[1].lastAccessed - b[1].lastAccessed);
    this.#idle.clear();
    for (const [token, rec] of merged) this.#idle.set(token, rec);
    this.#newest = merged.at(-1)?.[1];

    return { restored: kept.length, dropped: entries.length - kept.length };
  }

  stats(): Readonly<TokenStoreStats> {
    return { ...this.#stats };
  }

  // ---- internals ----

  #size(): number {
    return this.#idle.size + this.#inUse.size;
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

  /** The idle record for `token` if unexpired; an expired one is removed on the spot. */
  #liveIdle(token: string): Rec | undefined {
    const rec = this.#idle.get(token);
    if (rec === undefined) return undefined;
    if (this.#isExpired(rec, this.#now())) {
      this.#idle.delete(token);
      this.#stats.expired++;
      return undefined;
    }
    return rec;
  }

  /** Remove expired tokens from the oldest end, stopping at the first live one or after `limit`. */
  #removeExpiredHead(now: number, limit: number): number {
    let removed = 0;
    for (const [token, rec] of this.#idle) {
      if (removed >= limit) break;
      this.#stats.sweepVisited++;
      if (!this.#isExpired(rec, now)) break;
      this.#idle.delete(token);
      removed++;
    }
    this.#stats.expired += removed;
    return removed;
  }

  async #sweepInSlices(): Promise<SweepResult> {
    let now = this.#now();
    // Everything idle has expired (a mass expiry): drop the whole map in O(1) instead of deleting
    // a million entries one by one, which also makes V8 rehash the table several times.
    // #newest may have left the idle map since (acquired, or refused as expired); its last access
    // is still no older than any idle token's, so if it has expired, every idle token has.
    const newest = this.#newest;
    if (newest !== undefined && this.#idle.size > 0 && this.#isExpired(newest, now)) {
      const removed = this.#idle.size;
      this.#idle.clear();
      this.#stats.expired += removed;
      this.#stats.sweepVisited += 1;
      return { removed, remaining: this.#size() };
    }
    let removed = 0;
    let sliceStart = performance.now();
    // One iterator for the whole run: a fresh one would first step over every deleted slot left at
    // the front of the table, making a long sweep quadratic.
    const it = this.#idle.entries();
    for (let step = it.next(); !step.done; step = it.next()) {
      const [token, rec] = step.value;
      this.#stats.sweepVisited++;
      if (!this.#isExpired(rec, now)) break;
      this.#idle.delete(token);
      this.#stats.expired++;
      removed++;
      if (removed % CHECK_EVERY === 0 && performance.now() - sliceStart >= this.#yieldEveryMs) {
        this.#stats.sweepYields++;
        await yieldToEventLoop();
        sliceStart = performance.now();
        now = this.#now();
      }
    }
    return { removed, remaining: this.#size() };
  }

}

/** The live record, read-only by type: a lookup on the hot path allocates nothing. */
function publicView(r: Rec): AttestedContract {
  return r;
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
