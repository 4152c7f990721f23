import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { coarseMonotonicClock } from './clock.js';
import { flatAscii, isWellFormedToken, newToken } from './token.js';
import { ABSENT, type Loc, TokenTable, tokenHash } from './token-table.js';
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
  /** Expiry clock. Defaults to performance.now, read at most once a millisecond (`CoarseClock`). */
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
  /** Touched idle tokens a sweep moved to the bucket of their last access (`#refile`). */
  refiled: number;
}

export interface RestoreResult {
  readonly restored: number;
  /** Expired, malformed, duplicate or over the cap. */
  readonly dropped: number;
}

/**
 * Internal record: the public fields, how many open connections hold the token, and where it sits
 * among the idle tokens. A record in use is in no bucket: it cannot expire.
 */
interface Rec {
  readonly token: string;
  /** `tokenHash(token)`, kept so the table never rehashes the token. */
  readonly hash: number;
  readonly contractId: string;
  readonly clientId: string;
  readonly issuedAt: number;
  lastAccessed: number;
  users: number;
  /**
   * The idle bucket holding it (undefined while in use) and its index there. An entry of a bucket
   * whose record points elsewhere is stale: the record has moved on (see `Bucket`).
   */
  bucket: Bucket | undefined;
  pos: number;
}

/**
 * Idle tokens whose last access fell within one short stretch of time (1/256 of the TTL), in no
 * particular order inside. Buckets form a queue oldest first, so a sweep takes whole buckets from
 * the front: every token in a bucket whose newest access has expired is expired, and it is removed
 * with its table place kept beside it, without reading the record (at a million tokens each read
 * is a cache miss; a linked list in access order costs one per token just to walk it).
 *
 * A touched idle token stays where it is; only its bucket's upper bound rises. The sweep that
 * reaches that bucket reads its tokens and files each touched one in the bucket its last access
 * belongs to (`#refile`): one move per token per bucket passed, however often it was touched
 * meanwhile, and the touch itself writes only the record (moving the record on every touch cost
 * a touch about as much as a lookup again). A bucket none of whose tokens was touched since it
 * was filled is removed blind, as above.
 *
 * A record that leaves a bucket (taken into use, or re-filed) writes nothing to the bucket's
 * array: its entry there just goes stale, recognized by the record no longer pointing at it
 * (`rec.bucket !== b || rec.pos !== i`). The bucket counts its live entries; at none it drops its
 * array, and once stale entries outnumber live ones three to one it compacts, so the memory stays
 * within 4 entries per idle token and the compaction's reads are amortized over the acquisitions
 * that made the stale entries. A sweep removes a bucket without stale entries, whose newest access
 * has expired, reading no record; any other bucket it checks entry by entry.
 */
interface Bucket {
  /** Lower bound of its tokens' last access (exact when created; raised by a partial sweep). */
  minAt: number;
  /** Upper bound of its tokens' last access (raised by a touch of one of them). */
  maxAt: number;
  /**
   * Its tokens as pairs: record at an even index, its place in the table right after, so a sweep
   * removes it with one write to the table and no read of the record. The table reports moves
   * (`#relocate`), keeping the places of live entries exact; a stale entry's place is never used.
   */
  items: (Rec | Loc)[];
  /** Entries whose record is still here. */
  live: number;
  /** A sweep run that stopped partway through this bucket, where it stopped, and its running minimum. */
  scanRun: number;
  scanNext: number;
  scanMin: number;
}

/** Removals between looks at the real clock: reading it per removal would cost more than removing. */
const CHECK_EVERY = 256;
/** Bound on the work a mint at the cap does on the hot path; the cleanup loop does the bulk. */
const MINT_RECLAIM_LIMIT = 64;
/** Buckets per TTL: the tokens a sweep checks one by one are at most those of one bucket. */
const BUCKETS_PER_TTL = 256;
/**
 * Most entries a bucket takes before the next token starts a new one, even within its time span.
 * A burst (a million tokens minted, or touched and re-filed, within 1/256 of the TTL) would
 * otherwise grow one array to millions of slots: each growth copies it, and a young array that
 * large is a multi-millisecond scavenge, which together blocked a sweep's turn for 13-18 ms
 * (`npm run bench:refile`). 4,096 pairs keep a backing store at 64 KiB, under V8's large-object
 * size.
 */
const MAX_BUCKET_ENTRIES = 4096;

/**
 * The embedded token store (§3). Lookups go through a hash table of records (`TokenTable`); idle
 * tokens also sit in a queue of time buckets, oldest first, so a sweep starts at the oldest and
 * stops at the first bucket with an unexpired token: its cost follows what it removes, not what is
 * held. Tokens in use are in no bucket.
 */
export class MemoryTokenStore implements TokenStore {
  readonly ttlMs: number;
  readonly maxTokens: number;
  readonly #clock: MonotonicClock;
  readonly #wallClock: () => number;
  readonly #yieldEveryMs: number;
  readonly #generateToken: () => string;
  readonly #bucketSpanMs: number;

  readonly #table = new TokenTable<Rec>((rec, loc) => {
    if (rec.bucket !== undefined) rec.bucket.items[rec.pos + 1] = loc;
  });
  #inUseCount = 0;
  /** Oldest first; `#buckets[#headIndex]` is the front, the last element the back (newest). */
  #buckets: (Bucket | undefined)[] = [];
  #headIndex = 0;
  /**
   * Upper bound of every idle token's last access. Not the back bucket's `maxAt`: a touched token
   * stays in an older bucket, so the newest access may sit anywhere in the queue.
   */
  #newestIdleAt = -Infinity;
  /** Highest time seen; a clock that steps back is clamped so idle ages never go negative or reorder. */
  #lastNow = 0;
  /**
   * Whether `#lastNow` holds a reading yet. A flag, not -Infinity as the start: that is a boxed
   * double, and the first record would copy the box, making every record's times boxed (see
   * `CoarseClock`).
   */
  #clockRead = false;
  #sweeping: Promise<SweepResult> | undefined;
  /** Sweep runs started: a partly scanned bucket resumes only within the run that began it. */
  #sweepRun = 0;
  #sweepStoppedEarly = false;
  readonly #stats: TokenStoreStats = { issued: 0, expired: 0, refused: 0, sweepVisited: 0, sweepYields: 0, refiled: 0 };

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
    this.#clock = opts.clock ?? coarseMonotonicClock;
    this.#wallClock = opts.wallClock ?? Date.now;
    this.#yieldEveryMs = yieldEveryMs;
    this.#generateToken = opts.generateToken ?? newToken;
    this.#bucketSpanMs = opts.ttlMs / BUCKETS_PER_TTL;
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

    if (this.#table.size >= this.maxTokens) {
      this.#removeExpired(now, MINT_RECLAIM_LIMIT, ++this.#sweepRun);
      if (this.#table.size >= this.maxTokens) {
        this.#stats.refused++;
        return { ok: false, reason: 'capacity' };
      }
    }

    let token = this.#generateToken();
    let hash = tokenHash(token);
    // 256 random bits do not collide; the loop guards an injected generator, not the RNG.
    while (this.#table.locate(token, hash) !== ABSENT) {
      token = this.#generateToken();
      hash = tokenHash(token);
    }

    const rec: Rec = {
      token,
      hash,
      contractId: internContractId(contractId),
      clientId,
      issuedAt,
      lastAccessed: now,
      users: 0,
      bucket: undefined,
      pos: 0,
    };
    this.#append(rec, now, this.#table.insert(rec));
    this.#stats.issued++;
    return { ok: true, token, record: publicView(rec) };
  }

  /** Resolve and mark in use. Expired tokens are removed and refused even if no sweep ran yet. */
  acquireSync(token: string): AttestedContract | undefined {
    const loc = this.#live(token);
    if (loc === ABSENT) return undefined;
    const rec = this.#table.at(loc);
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
    const loc = this.#live(token);
    return loc === ABSENT ? undefined : publicView(this.#table.at(loc));
  }

  touch(token: string): void {
    // An expired idle token is not revived by a late touch.
    const loc = this.#live(token);
    if (loc === ABSENT) return;
    const rec = this.#table.at(loc);
    const now = this.#lastNow;
    rec.lastAccessed = now;
    // An idle token stays in its bucket: the sweep that reaches the bucket files it where its last
    // access now belongs (see `Bucket`). Raising the bound keeps the bucket from going unread.
    const b = rec.bucket;
    if (b !== undefined) {
      if (now > b.maxAt) b.maxAt = now;
      this.#newestIdleAt = now;
    }
  }

  release(token: string): void {
    const loc = this.#table.locate(token, tokenHash(token));
    if (loc === ABSENT) return;
    const rec = this.#table.at(loc);
    if (rec.users === 0) return; // already idle: must not underflow
    rec.users--;
    if (rec.users > 0) return;
    this.#inUseCount--;
    const now = this.#now();
    rec.lastAccessed = now;
    this.#append(rec, now, loc);
  }

  sizeSync(): number {
    return this.#table.size;
  }

  /** Remove up to `limit` expired tokens in one synchronous pass. */
  sweepSync(limit = Infinity): SweepResult {
    const removed = this.#removeExpired(this.#now(), limit, ++this.#sweepRun);
    return { removed, remaining: this.#table.size };
  }

  // ---- TokenStore (async) ----

  async mint(contractId: string, clientId?: string): Promise<MintResult> {
    return this.mintSync(contractId, clientId);
  }

  async acquire(token: string): Promise<AttestedContract | undefined> {
    return this.acquireSync(token);
  }

  async size(): Promise<number> {
    return this.#table.size;
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
    for (const r of this.#idleRecords()) {
      const idleMs = now - r.lastAccessed;
      if (idleMs >= this.ttlMs) continue; // already dead; restore would drop it anyway
      out.push({ token: r.token, contractId: r.contractId, clientId: r.clientId, issuedAt: r.issuedAt, idleMs });
    }
    if (this.#inUseCount > 0) {
      for (const r of this.#table.values()) {
        if (r.users > 0) out.push({ token: r.token, contractId: r.contractId, clientId: r.clientId, issuedAt: r.issuedAt, idleMs: 0 });
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
      if (seen.has(e.token) || this.#table.get(e.token, tokenHash(e.token)) !== undefined) continue;
      seen.add(e.token);
      valid.push(e);
    }
    valid.sort((a, b) => a.idleMs - b.idleMs);
    const kept = valid.slice(0, Math.max(0, this.maxTokens - this.#table.size));

    const incoming: Rec[] = kept.map((e) => {
      const token = flatAscii(e.token);
      return {
        token,
        hash: tokenHash(token),
        contractId: internContractId(e.contractId),
        clientId: flatAscii(e.clientId),
        issuedAt: e.issuedAt,
        lastAccessed: now - e.idleMs,
        users: 0,
        bucket: undefined,
        pos: 0,
      };
    });
    // Rebuild the buckets in one sorted pass so the last-access order holds whatever was held.
    const merged = [...this.#idleRecords(), ...incoming].sort((a, b) => a.lastAccessed - b.lastAccessed);
    for (const r of merged) r.bucket = undefined; // inserts may rebuild shards: no stale bucket to patch
    for (const r of incoming) this.#table.insert(r);
    this.#buckets = [];
    this.#headIndex = 0;
    for (const r of merged) this.#append(r, r.lastAccessed, this.#table.locate(r.token, r.hash));
    return { restored: kept.length, dropped: entries.length - kept.length };
  }

  stats(): Readonly<TokenStoreStats> {
    return { ...this.#stats };
  }

  // ---- internals ----

  /** Monotonic now, validated: a NaN here would make a record that never expires (case C3). */
  #now(): number {
    const t = this.#clock.now();
    if (!Number.isFinite(t)) throw new RangeError(`monotonic clock returned a non-finite value: ${t}`);
    if (t > this.#lastNow || !this.#clockRead) {
      this.#lastNow = t;
      this.#clockRead = true;
    }
    return this.#lastNow;
  }

  /** The one expiry test, so lookups and sweeps agree at the boundary (idle == TTL is expired). */
  #isExpiredAt(lastAccessed: number, now: number): boolean {
    return now - lastAccessed >= this.ttlMs;
  }

  /**
   * Where the record for `token` is, if in use or unexpired; an expired one is removed on the spot.
   * The place, not the record: a caller that goes on to delete or re-file it needs no second probe.
   */
  #live(token: string): Loc {
    const loc = this.#table.locate(token, tokenHash(token));
    if (loc === ABSENT) return ABSENT;
    const rec = this.#table.at(loc);
    const now = this.#now();
    if (rec.users === 0 && this.#isExpiredAt(rec.lastAccessed, now)) {
      this.#unlink(rec);
      this.#table.deleteAt(loc);
      this.#stats.expired++;
      return ABSENT;
    }
    return loc;
  }

  *#idleRecords(): IterableIterator<Rec> {
    for (let i = this.#headIndex; i < this.#buckets.length; i++) {
      const b = this.#buckets[i]!;
      const items = b.items;
      for (let j = 0; j < items.length; j += 2) {
        const r = items[j] as Rec;
        if (r.bucket === b && r.pos === j) yield r;
      }
    }
  }

  /** Make `rec` (at `loc` in the table) idle as of `at`, no earlier than any idle token's last access. */
  #append(rec: Rec, at: number, loc: Loc): void {
    if (at > this.#newestIdleAt) this.#newestIdleAt = at;
    let back = this.#buckets[this.#buckets.length - 1];
    if (back === undefined || at - back.minAt >= this.#bucketSpanMs || isFull(back)) {
      back = newBucket(at);
      this.#buckets.push(back);
    } else if (at > back.maxAt) {
      back.maxAt = at;
    }
    rec.bucket = back;
    rec.pos = back.items.length;
    back.items.push(rec, loc);
    back.live++;
  }

  /**
   * File `rec`, touched while it sat in the front bucket, in the last bucket that begins at or
   * before its last access (after the front one: the caller checked it is past the next bucket's
   * start), so no bucket holds a token newer than the next one's start. A full target gets a new
   * bucket after it instead.
   */
  #refile(rec: Rec, loc: Loc): void {
    const at = rec.lastAccessed;
    const buckets = this.#buckets;
    let lo = this.#headIndex + 1; // buckets[lo].minAt <= at
    let hi = buckets.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (buckets[mid]!.minAt <= at) lo = mid;
      else hi = mid - 1;
    }
    if (lo === buckets.length - 1) {
      this.#append(rec, at, loc); // the back: it may be time for a new bucket
      return;
    }
    let target = buckets[lo]!;
    if (isFull(target)) {
      // A new bucket right after it: `at` is below the next bucket's start, so the order holds.
      target = newBucket(at);
      buckets.splice(lo + 1, 0, target);
    }
    if (at > target.maxAt) target.maxAt = at;
    rec.bucket = target;
    rec.pos = target.items.length;
    target.items.push(rec, loc);
    target.live++;
  }

  /** Take an idle record out of its bucket: its entry there goes stale (see `Bucket`). */
  #unlink(rec: Rec): void {
    const b = rec.bucket!;
    rec.bucket = undefined;
    b.live--;
    const entries = b.items.length >> 1;
    if (b.live === 0) {
      b.items = []; // a new array: shortening one keeps its memory
      b.scanRun = -1;
    } else if (entries - b.live > 3 * b.live && entries >= 64) {
      this.#compact(b);
    }
  }

  /** Drop a bucket's stale entries, keeping the order of the rest. */
  #compact(b: Bucket): void {
    const items = b.items;
    const kept: (Rec | Loc)[] = [];
    for (let i = 0; i < items.length; i += 2) {
      const r = items[i] as Rec;
      if (r.bucket === b && r.pos === i) {
        r.pos = kept.length;
        kept.push(r, items[i + 1]!);
      }
    }
    b.items = kept;
    b.scanRun = -1; // places changed: a paused scan of this bucket starts over
  }

  #dropFrontBucket(): void {
    this.#buckets[this.#headIndex] = undefined;
    this.#headIndex++;
    if (this.#headIndex === this.#buckets.length) {
      this.#buckets = [];
      this.#headIndex = 0;
    } else if (this.#headIndex >= 1024 && this.#headIndex * 2 >= this.#buckets.length) {
      this.#buckets = this.#buckets.slice(this.#headIndex);
      this.#headIndex = 0;
    }
  }

  /**
   * Remove expired tokens from the oldest buckets, stopping at the first unexpired token, or after
   * `limit` removals or `limit` looks at single tokens. Sets `#sweepStoppedEarly` when it stopped
   * for the limit; a partly expired bucket then remembers how far this sweep run got.
   */
  #removeExpired(now: number, limit: number, run: number): number {
    let removed = 0;
    let visited = 0;
    let refiled = 0;
    let stoppedEarly = false;
    for (;;) {
      if (removed >= limit) {
        stoppedEarly = true;
        break;
      }
      const b = this.#buckets[this.#headIndex];
      if (b === undefined) break;
      if (b.live === 0) {
        this.#dropFrontBucket();
        continue;
      }
      const items = b.items;
      if (b.live * 2 === items.length && this.#isExpiredAt(b.maxAt, now)) {
        // Whole bucket expired, no stale entry: remove from the end, by place, reading no record.
        const stop = Math.max(0, items.length - 2 * (limit - removed));
        this.#table.deleteManyAt(items, stop, items.length);
        const n = (items.length - stop) / 2;
        items.length = stop;
        b.live -= n;
        removed += n;
        visited += n;
        if (stop === 0) this.#dropFrontBucket();
        continue;
      }
      if (b.scanRun !== run) visited++; // the look at this bucket's bounds
      if (!this.#isExpiredAt(b.minAt, now)) break;
      // Partly expired, holding stale entries, or touched: check each entry, from the end (or from
      // where this run left off). A removed entry's place takes the bucket's last entry, one
      // already checked (or appended since). The front bucket is never the one a record is
      // re-filed into, so the scan's entries stay put.
      const next = this.#buckets[this.#headIndex + 1];
      const resume = b.scanRun === run;
      let i = resume ? Math.min(b.scanNext, items.length - 2) : items.length - 2;
      let minAt = resume ? b.scanMin : Infinity;
      let looked = 0;
      for (; i >= 0; i -= 2) {
        if (removed >= limit || looked >= limit) break;
        looked++;
        const r = items[i] as Rec;
        if (r.bucket !== b || r.pos !== i) {
          removeEntry(b, i); // stale
        } else if (this.#isExpiredAt(r.lastAccessed, now)) {
          const loc = items[i + 1] as Loc;
          r.bucket = undefined;
          b.live--;
          removeEntry(b, i);
          this.#table.deleteAt(loc);
          removed++;
        } else if (next !== undefined && r.lastAccessed > next.minAt) {
          // Touched since it was filed here: file it where its last access belongs. (Strictly
          // after the next bucket's start: a full bucket's successor can begin at the same time,
          // and its untouched tokens must stay put.)
          const loc = items[i + 1] as Loc;
          r.bucket = undefined;
          b.live--;
          removeEntry(b, i);
          this.#refile(r, loc);
          refiled++;
        } else if (r.lastAccessed < minAt) {
          minAt = r.lastAccessed;
        }
      }
      visited += looked;
      if (i >= 0) {
        b.scanRun = run;
        b.scanNext = i;
        b.scanMin = minAt;
        stoppedEarly = true;
        break;
      }
      b.scanRun = -1;
      if (b.live === 0) {
        this.#dropFrontBucket();
        continue;
      }
      b.minAt = minAt; // what stays raises the bucket's lower bound
      break;
    }
    this.#sweepStoppedEarly = stoppedEarly;
    this.#stats.sweepVisited += visited;
    this.#stats.refiled += refiled;
    this.#stats.expired += removed;
    return removed;
  }

  async #sweepInSlices(): Promise<SweepResult> {
    let now = this.#now();
    // Every token expired and none in use (a mass expiry): start over with empty tables instead
    // of a million deletes.
    if (this.#table.size > 0 && this.#inUseCount === 0 && this.#isExpiredAt(this.#newestIdleAt, now)) {
      const removed = this.#table.size;
      this.#table.clear();
      this.#buckets = [];
      this.#headIndex = 0;
      this.#newestIdleAt = -Infinity;
      this.#stats.expired += removed;
      this.#stats.sweepVisited += 1;
      return { removed, remaining: 0 };
    }
    const run = ++this.#sweepRun;
    let removed = 0;
    let sliceStart = performance.now();
    for (;;) {
      removed += this.#removeExpired(now, CHECK_EVERY, run);
      if (!this.#sweepStoppedEarly) break; // reached an unexpired token or the end
      if (performance.now() - sliceStart >= this.#yieldEveryMs) {
        this.#stats.sweepYields++;
        await yieldToEventLoop();
        sliceStart = performance.now();
        now = this.#now();
      }
    }
    return { removed, remaining: this.#table.size };
  }
}

function newBucket(at: number): Bucket {
  return { minAt: at, maxAt: at, items: [], live: 0, scanRun: -1, scanNext: 0, scanMin: Infinity };
}

/** Full: the next token goes to a new bucket (`MAX_BUCKET_ENTRIES`). Stale entries count too. */
function isFull(b: Bucket): boolean {
  return b.items.length >= 2 * MAX_BUCKET_ENTRIES;
}

/**
 * Take entry `i` out of `b.items` (its record already left, or is leaving): the last entry moves
 * into its place, and its record follows if the entry is live.
 */
function removeEntry(b: Bucket, i: number): void {
  const items = b.items;
  const last = items.length - 2;
  if (i !== last) {
    const moved = items[last] as Rec;
    items[i] = moved;
    items[i + 1] = items[last + 1]!;
    if (moved.bucket === b && moved.pos === last) moved.pos = i;
  }
  items.pop();
  items.pop();
}

/**
 * A copy with the public fields only. The record itself holds its token and its place among the
 * idle tokens: handed out, it could end up in a log line (§3: never a token in a log).
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
