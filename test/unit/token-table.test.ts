import { describe, expect, it } from 'vitest';
import { ABSENT, type Loc, TokenTable, tokenHash } from '../../src/tokens/token-table.js';

interface Entry {
  readonly token: string;
  readonly hash: number;
}

const entry = (token: string): Entry => ({ token, hash: tokenHash(token) });

/** Deterministic PRNG so a failure reproduces. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

describe('tokenHash', () => {
  it('is a non-negative 30-bit integer, stable within the process', () => {
    for (const t of ['', 'a', 'x'.repeat(44), '13R8CLpkV3NkhQJeEtFJEeK5zuWPdbaRZy2AzmRfHPpx']) {
      const h = tokenHash(t);
      expect(Number.isInteger(h) && h >= 0 && h < 2 ** 30).toBe(true);
      expect(tokenHash(t)).toBe(h);
    }
  });

  it('spreads sequential tokens over the shards', () => {
    const shards = new Set<number>();
    for (let i = 0; i < 1000; i++) shards.add(tokenHash(`tok${String(i).padStart(40, '_')}`) & 63);
    expect(shards.size).toBe(64);
  });
});

describe('TokenTable', () => {
  it('finds what was inserted, by token, and nothing else', () => {
    const t = new TokenTable<Entry>();
    const a = entry('A'.repeat(44));
    t.insert(a);
    expect(t.get(a.token, a.hash)).toBe(a);
    expect(t.get('B'.repeat(44), tokenHash('B'.repeat(44)))).toBeUndefined();
    // Same hash, different token (a forged hash): not a match.
    expect(t.get('C'.repeat(44), a.hash)).toBeUndefined();
    expect(t.size).toBe(1);
  });

  it('locates by token value; deleteAt removes the entry at that place and nothing else', () => {
    const t = new TokenTable<Entry>();
    const a = entry('A'.repeat(44));
    const b = entry('B'.repeat(44));
    const locA = t.insert(a);
    t.insert(b);
    // Another string object with the same characters finds the same place.
    expect(t.locate(['A'.repeat(20), 'A'.repeat(24)].join(''), a.hash)).toBe(locA);
    expect(t.at(locA)).toBe(a);
    t.deleteAt(locA);
    expect(t.locate(a.token, a.hash)).toBe(ABSENT);
    expect(t.get(b.token, b.hash)).toBe(b);
    expect(t.size).toBe(1);
  });

  it('matches a Map through 200k random inserts, lookups and deletes (growth, tombstones, shrink), places kept exact by relocate', () => {
    const places = new Map<Entry, Loc>();
    let relocations = 0;
    const t = new TokenTable<Entry>((e, loc) => {
      places.set(e, loc);
      relocations++;
    });
    const model = new Map<string, Entry>();
    const live: Entry[] = [];
    const rand = rng(42);
    let next = 0;
    for (let step = 0; step < 200_000; step++) {
      const r = rand();
      // Phases: mostly growth, then mostly shrinking, then mixed.
      const insertBias = step < 80_000 ? 0.75 : step < 140_000 ? 0.2 : 0.5;
      if (r < insertBias || live.length === 0) {
        const e = entry(`t${(next++).toString(36).padStart(43, '_')}`);
        places.set(e, t.insert(e));
        model.set(e.token, e);
        live.push(e);
      } else {
        const i = Math.floor(rand() * live.length);
        const e = live[i]!;
        live[i] = live[live.length - 1]!;
        live.pop();
        const loc = places.get(e)!;
        expect(t.at(loc)).toBe(e);
        // Half by one delete, half in runs of one, as a sweep batch would.
        if (step % 2 === 0) t.deleteAt(loc);
        else t.deleteManyAt([e, loc], 0, 2);
        places.delete(e);
        model.delete(e.token);
      }
      if (step % 997 === 0) {
        const probe = `t${Math.floor(rand() * next).toString(36).padStart(43, '_')}`;
        expect(t.get(probe, tokenHash(probe))).toBe(model.get(probe));
      }
    }
    expect(t.size).toBe(model.size);
    for (const e of model.values()) {
      expect(t.get(e.token, e.hash)).toBe(e);
      expect(t.locate(e.token, e.hash)).toBe(places.get(e));
    }
    expect(new Set(t.values())).toEqual(new Set(model.values()));
    expect(relocations).toBeGreaterThan(50_000); // growth and shrink rebuilds did move entries
  });

  it('deleteManyAt removes the (entry, place) pairs of a range and gives memory back', () => {
    const t = new TokenTable<Entry>();
    const pairs: (Entry | Loc)[] = [];
    for (let i = 0; i < 50_000; i++) {
      const e = entry(`m${i.toString(36).padStart(43, '_')}`);
      pairs.push(e, 0);
    }
    // Places as they are once all are in (growth moves earlier entries).
    for (let i = 0; i < pairs.length; i += 2) t.insert(pairs[i] as Entry);
    for (let i = 0; i < pairs.length; i += 2) {
      const e = pairs[i] as Entry;
      pairs[i + 1] = t.locate(e.token, e.hash);
    }
    t.deleteManyAt(pairs, 2, pairs.length);
    expect(t.size).toBe(1);
    const first = pairs[0] as Entry;
    expect(t.get(first.token, first.hash)).toBe(first);
    expect([...t.values()]).toEqual([first]);
  });

  it('a lookup of an absent token ends even when the table is full of tombstones', () => {
    const t = new TokenTable<Entry>();
    const keep = entry('K'.repeat(44));
    t.insert(keep);
    for (let round = 0; round < 50; round++) {
      const batch = Array.from({ length: 200 }, (_, i) => entry(`r${round}x${i}`.padEnd(44, '_')));
      for (const e of batch) t.insert(e);
      for (const e of batch) t.deleteAt(t.locate(e.token, e.hash));
    }
    expect(t.get('absent'.padEnd(44, 'z'), tokenHash('absent'.padEnd(44, 'z')))).toBeUndefined();
    expect(t.get(keep.token, keep.hash)).toBe(keep);
    expect(t.size).toBe(1);
  });

  it('clear empties it', () => {
    const t = new TokenTable<Entry>();
    for (let i = 0; i < 100; i++) t.insert(entry(`c${i}`.padEnd(44, '_')));
    t.clear();
    expect(t.size).toBe(0);
    expect([...t.values()]).toEqual([]);
  });
});
