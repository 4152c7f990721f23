import { describe, expect, it } from 'vitest';
import { WebAppCache } from '../../src/node/webapp-cache.js';
import type { WebAppFiles } from '../../src/node/types.js';

const app = (bytes: number, stateVersion = 1): WebAppFiles => ({
  files: new Map([['index.html', new Uint8Array(bytes)]]),
  metadata: new Uint8Array(),
  stateVersion,
});

describe('WebAppCache', () => {
  it('loads once per state version and reloads after a change', async () => {
    const cache = new WebAppCache(4, 1_000_000);
    let loads = 0;
    const load = async () => (loads++, app(10));
    await Promise.all([cache.get('a', 1, load), cache.get('a', 1, load)]);
    expect(loads).toBe(1);
    await cache.get('a', 2, load);
    expect(loads).toBe(2);
  });

  it('evicts least recently used entries by count and by bytes', async () => {
    const cache = new WebAppCache(2, 100);
    let loads = 0;
    const load = (bytes: number) => async () => (loads++, app(bytes));
    await cache.get('a', 1, load(10));
    await cache.get('b', 1, load(10));
    await cache.get('a', 1, load(10)); // a is now most recent
    await cache.get('c', 1, load(10)); // evicts b
    expect(loads).toBe(3);
    await cache.get('a', 1, load(10));
    expect(loads).toBe(3);
    await cache.get('b', 1, load(10));
    expect(loads).toBe(4);
    await cache.get('big', 1, load(95)); // over 100 bytes with anything else: the others go
    await new Promise((r) => setImmediate(r));
    await cache.get('big', 1, load(95));
    expect(loads).toBe(5);
    await cache.get('a', 1, load(10));
    expect(loads).toBe(6);
  });
});
