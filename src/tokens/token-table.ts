import { randomBytes } from 'node:crypto';

/** What the table needs of a record: its token and the token's hash, fixed for the record's life. */
export interface TableEntry {
  readonly token: string;
  readonly hash: number;
}

/**
 * Shards: a rebuild (growth or shrink) touches one shard only, so it costs ~1/64 of the tokens
 * held and never stalls the event loop the way one big table would (a JS Map of a million
 * entries rehashes all of them inside a single `delete` when it shrinks: ~90 ms measured).
 */
const SHARD_BITS = 6;
const SHARDS = 1 << SHARD_BITS;
const SHARD_MASK = SHARDS - 1;
const MIN_CAPACITY = 16;

/** Per-process seed, so which slot a token lands in cannot be worked out from outside. */
const SEED = randomBytes(4).readUInt32LE(0);

/**
 * 30-bit hash of a token (a Smi, so it is stored unboxed). Tokens are 32 random bytes in base58, so
 * their last 6 characters (~35 bits) are already uniform; mixing them is enough. Few characters
 * matter more than they seem: a lookup that runs few instructions lets the CPU overlap the cache
 * misses of consecutive lookups, and 12 characters measured ~300 ns a lookup against ~100 ns.
 * Callers mint the tokens (random), so no one can choose keys that collide.
 */
export function tokenHash(token: string): number {
  const n = token.length;
  if (n < 6) return shortTokenHash(token);
  let h = SEED ^ n;
  h = Math.imul(h ^ (token.charCodeAt(n - 1) | (token.charCodeAt(n - 2) << 8) | (token.charCodeAt(n - 3) << 16)), 0x9e3779b1);
  h = Math.imul(h ^ (token.charCodeAt(n - 4) | (token.charCodeAt(n - 5) << 8) | (token.charCodeAt(n - 6) << 16)), 0x85ebca6b);
  h ^= h >>> 15;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h & 0x3fffffff;
}

/** Strings too short to be tokens still get a hash (lookups of garbage must not fail). */
function shortTokenHash(token: string): number {
  let h = SEED;
  for (let i = 0; i < token.length; i++) h = Math.imul(h ^ token.charCodeAt(i), 0x01000193);
  h ^= h >>> 16;
  h = Math.imul(h, 0x45d9f3b);
  h ^= h >>> 16;
  return h & 0x3fffffff;
}

/**
 * One shard: open addressing with linear probing over a plain array of record references.
 * `undefined` is an empty slot, `null` a deleted one (a tombstone, so probe chains stay intact).
 */
class Shard<E extends TableEntry> {
  slots: (E | null | undefined)[];
  /**
   * 8 more bits of each slot's hash (`tagOf`), so a probe past another token's slot skips reading
   * that record: at a million tokens each record read is a cache miss, and a lookup met ~0.5
   * other records on average. One byte a slot; the array is small enough to stay in cache.
   */
  tags: Uint8Array;
  mask: number;
  /** Records held. */
  live = 0;
  /** Slots not empty: records plus tombstones. */
  used = 0;

  constructor(capacity: number) {
    this.slots = emptySlots<E>(capacity);
    this.tags = new Uint8Array(capacity);
    this.mask = capacity - 1;
  }
}

/** The hash's top 8 bits: the slot index uses the bits below them (up to 2^16 slots a shard). */
function tagOf(hash: number): number {
  return hash >>> 22;
}

function emptySlots<E>(capacity: number): (E | null | undefined)[] {
  // Array.from gives a packed (not holey) array: reads need no hole check.
  return Array.from({ length: capacity }, () => undefined);
}

/**
 * Where an entry sits: its slot index in the shard's array, shifted, and the shard's number. Valid
 * until the shard is rebuilt, which reports every new place to the table's `relocate` callback.
 */
export type Loc = number;

/** `locate`'s answer for a token the table does not hold. */
export const ABSENT: Loc = -1;

/**
 * A shard's slot index must fit in a Smi once shifted (loc stays an untagged-int fast path). 2^24
 * slots per shard is ~5 million tokens per shard, 300 million in all: far past any heap.
 */
const MAX_CAPACITY = 1 << 24;

/**
 * The token → record index of the memory store. A hand-made hash table rather than `Map`, for two
 * costs a `Map` cannot avoid (docs/PERFORMANCE.md):
 * - a delete must hash and find the key, reading the token string and the probed entries (a
 *   cache miss each at a million tokens); here a record's place (`Loc`) is known to its owner,
 *   so a sweep removes a token with one write to that slot, reading nothing;
 * - a lookup goes bucket → entry → value (three lines of memory); here slot → record (two).
 */
export class TokenTable<E extends TableEntry> {
  #shards: Shard<E>[] = Array.from({ length: SHARDS }, () => new Shard<E>(MIN_CAPACITY));
  #size = 0;
  readonly #relocate: (entry: E, loc: Loc) => void;

  /**
   * @param relocate called for each entry a rebuild moves, with its new place, so whoever keeps
   *   places (the store's idle buckets) stays exact. It must not call back into the table.
   */
  constructor(relocate: (entry: E, loc: Loc) => void = () => {}) {
    this.#relocate = relocate;
  }

  get size(): number {
    return this.#size;
  }

  /** Where the entry for `token` (whose hash is `hash`) sits, or `ABSENT`. */
  locate(token: string, hash: number): Loc {
    const shard = hash & SHARD_MASK;
    const s = this.#shards[shard]!;
    const slots = s.slots;
    const tags = s.tags;
    const tag = tagOf(hash);
    const mask = s.mask;
    for (let i = (hash >>> SHARD_BITS) & mask; ; i = (i + 1) & mask) {
      const e = slots[i];
      if (e === undefined) return ABSENT;
      if (tags[i] === tag && e !== null && e.hash === hash && e.token === token) return (i << SHARD_BITS) | shard;
    }
  }

  /** The entry at a place `locate` or `insert` gave (and no rebuild has moved since). */
  at(loc: Loc): E {
    return this.#shards[loc & SHARD_MASK]!.slots[loc >>> SHARD_BITS]!;
  }

  get(token: string, hash: number): E | undefined {
    const loc = this.locate(token, hash);
    return loc === ABSENT ? undefined : this.at(loc);
  }

  /** Add a record whose token is not in the table (the caller has looked). Returns its place. */
  insert(entry: E): Loc {
    const hash = entry.hash;
    const shard = hash & SHARD_MASK;
    let s = this.#shards[shard]!;
    // Keep at most 5/8 of the slots used, so probe chains stay short even for absent tokens.
    if ((s.used + 1) * 8 > (s.mask + 1) * 5) {
      this.#rebuild(shard, s.live + 1);
      s = this.#shards[shard]!;
    }
    const slots = s.slots;
    const mask = s.mask;
    let i = (hash >>> SHARD_BITS) & mask;
    while (slots[i] !== undefined && slots[i] !== null) i = (i + 1) & mask;
    if (slots[i] === undefined) s.used++;
    slots[i] = entry;
    s.tags[i] = tagOf(hash);
    s.live++;
    this.#size++;
    return (i << SHARD_BITS) | shard;
  }

  /** Remove the entry at `loc`. May rebuild (shrink) its shard. */
  deleteAt(loc: Loc): void {
    const shard = loc & SHARD_MASK;
    const s = this.#shards[shard]!;
    const slots = s.slots;
    const mask = s.mask;
    const i = loc >>> SHARD_BITS;
    if (slots[(i + 1) & mask] === undefined) {
      // End of a chain: this slot and the tombstones just before it can be empty again.
      slots[i] = undefined;
      s.used--;
      for (let j = (i - 1) & mask; slots[j] === null; j = (j - 1) & mask) {
        slots[j] = undefined;
        s.used--;
      }
    } else {
      slots[i] = null;
    }
    s.live--;
    this.#size--;
    this.#shrinkIfSparse(shard);
  }

  /**
   * Remove the entries at the places `places[from + 1], places[from + 3], … < to` (the odd
   * indices of (record, place) pairs). Each is one write of a tombstone: nothing is read, which
   * is what keeps a sweep's cost at the tokens it removes (docs/PERFORMANCE.md). The tombstones
   * go at the shard's next rebuild. May rebuild (shrink) shards.
   */
  deleteManyAt(places: readonly unknown[], from: number, to: number): void {
    const shards = this.#shards;
    for (let k = from + 1; k < to; k += 2) {
      const loc = places[k] as Loc;
      const s = shards[loc & SHARD_MASK]!;
      s.slots[loc >>> SHARD_BITS] = null;
      s.live--;
    }
    this.#size -= (to - from) >> 1;
    for (let i = 0; i < SHARDS; i++) this.#shrinkIfSparse(i);
  }

  /** Give memory back after mass removals: a shard under 1/16 full is re-laid smaller. */
  #shrinkIfSparse(index: number): void {
    const s = this.#shards[index]!;
    if (s.live * 16 < s.mask + 1 && s.mask + 1 > MIN_CAPACITY) this.#rebuild(index, s.live);
  }

  clear(): void {
    this.#shards = Array.from({ length: SHARDS }, () => new Shard<E>(MIN_CAPACITY));
    this.#size = 0;
  }

  *values(): IterableIterator<E> {
    for (const s of this.#shards) {
      for (const e of s.slots) if (e !== undefined && e !== null) yield e;
    }
  }

  /** Re-lay one shard for `live` records: about a third of the slots used, tombstones gone. */
  #rebuild(index: number, live: number): void {
    const old = this.#shards[index]!;
    let capacity = MIN_CAPACITY;
    while (capacity < live * 3) capacity *= 2;
    if (capacity > MAX_CAPACITY) throw new RangeError(`token table shard over ${MAX_CAPACITY} slots`);
    const s = new Shard<E>(capacity);
    const slots = s.slots;
    const tags = s.tags;
    const mask = s.mask;
    for (const e of old.slots) {
      if (e === undefined || e === null) continue;
      let i = (e.hash >>> SHARD_BITS) & mask;
      while (slots[i] !== undefined) i = (i + 1) & mask;
      slots[i] = e;
      tags[i] = tagOf(e.hash);
      s.used++;
      s.live++;
      this.#relocate(e, (i << SHARD_BITS) | index);
    }
    this.#shards[index] = s;
  }
}
