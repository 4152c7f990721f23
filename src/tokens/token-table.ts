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
 * their last 12 characters (~70 bits) are already uniform; mixing them is enough and costs a
 * fraction of hashing the whole string.
 */
export function tokenHash(token: string): number {
  const n = token.length;
  let h = SEED;
  for (let i = n > 12 ? n - 12 : 0; i < n; i++) h = Math.imul(h ^ token.charCodeAt(i), 0x01000193);
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
  mask: number;
  /** Records held. */
  live = 0;
  /** Slots not empty: records plus tombstones. */
  used = 0;

  constructor(capacity: number) {
    this.slots = emptySlots<E>(capacity);
    this.mask = capacity - 1;
  }
}

function emptySlots<E>(capacity: number): (E | null | undefined)[] {
  // Array.from gives a packed (not holey) array: reads need no hole check.
  return Array.from({ length: capacity }, () => undefined);
}

/**
 * The token → record index of the memory store. A hand-made hash table rather than `Map`, for two
 * costs a `Map` cannot avoid (docs/PERFORMANCE.md):
 * - a delete must hash and find the key, reading the token string (a cache miss per token at a
 *   million tokens); here a record is deleted by its precomputed hash and its identity, so a sweep
 *   that holds the hash removes a token without reading the token or the record at all;
 * - a lookup goes bucket → entry → value (three lines of memory); here slot → record (two).
 */
export class TokenTable<E extends TableEntry> {
  #shards: Shard<E>[] = Array.from({ length: SHARDS }, () => new Shard<E>(MIN_CAPACITY));
  #size = 0;

  get size(): number {
    return this.#size;
  }

  get(token: string, hash: number): E | undefined {
    const s = this.#shards[hash & SHARD_MASK]!;
    const slots = s.slots;
    const mask = s.mask;
    for (let i = (hash >>> SHARD_BITS) & mask; ; i = (i + 1) & mask) {
      const e = slots[i];
      if (e === undefined) return undefined;
      if (e !== null && e.hash === hash && e.token === token) return e;
    }
  }

  /** Add a record whose token is not in the table (the caller has looked). */
  insert(entry: E): void {
    const hash = entry.hash;
    let s = this.#shards[hash & SHARD_MASK]!;
    // Keep at most 5/8 of the slots used, so probe chains stay short even for absent tokens.
    if ((s.used + 1) * 8 > (s.mask + 1) * 5) {
      this.#rebuild(hash & SHARD_MASK, s.live + 1);
      s = this.#shards[hash & SHARD_MASK]!;
    }
    const slots = s.slots;
    const mask = s.mask;
    let i = (hash >>> SHARD_BITS) & mask;
    while (slots[i] !== undefined && slots[i] !== null) i = (i + 1) & mask;
    if (slots[i] === undefined) s.used++;
    slots[i] = entry;
    s.live++;
    this.#size++;
  }

  /**
   * Remove `entry` (compared by identity), found from `hash`. Needs neither the token nor any field
   * of the record: a sweep calls it with the hash it keeps beside the record.
   */
  delete(entry: E, hash: number): boolean {
    const found = this.#remove(entry, hash);
    if (found) this.#shrinkIfSparse(hash & SHARD_MASK);
    return found;
  }

  /**
   * `delete` for the (entry, hash) pairs in `pairs[from..to)`: one call and one loop for a whole
   * sweep batch, so the loop is optimized within the batch rather than per call.
   */
  deleteMany(pairs: readonly (E | number)[], from: number, to: number): number {
    let removed = 0;
    for (let i = from; i < to; i += 2) if (this.#remove(pairs[i] as E, pairs[i + 1] as number)) removed++;
    for (let i = 0; i < SHARDS; i++) this.#shrinkIfSparse(i);
    return removed;
  }

  #remove(entry: E, hash: number): boolean {
    const s = this.#shards[hash & SHARD_MASK]!;
    const slots = s.slots;
    const mask = s.mask;
    for (let i = (hash >>> SHARD_BITS) & mask; ; i = (i + 1) & mask) {
      const e = slots[i];
      if (e === entry) {
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
        return true;
      }
      if (e === undefined) return false;
    }
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
    const s = new Shard<E>(capacity);
    const slots = s.slots;
    const mask = s.mask;
    for (const e of old.slots) {
      if (e === undefined || e === null) continue;
      let i = (e.hash >>> SHARD_BITS) & mask;
      while (slots[i] !== undefined) i = (i + 1) & mask;
      slots[i] = e;
      s.used++;
      s.live++;
    }
    this.#shards[index] = s;
  }
}
