import { describe, it, expect } from 'vitest';
import bs58 from 'bs58';
import { isWellFormedToken, newToken, tokenFingerprint, TOKEN_BYTES } from '../../src/tokens/token.js';

const BASE58 = /^[123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz]+$/;

describe('newToken', () => {
  it('is 32 bytes, base58 (Bitcoin alphabet), well-formed', () => {
    for (let i = 0; i < 500; i++) {
      const t = newToken();
      expect(t).toMatch(BASE58);
      expect(bs58.decode(t).length).toBe(TOKEN_BYTES);
      expect(isWellFormedToken(t)).toBe(true);
    }
  });

  it('is unique', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 10_000; i++) seen.add(newToken());
    expect(seen.size).toBe(10_000);
  });
});

describe('tokenFingerprint', () => {
  it('is short, stable, distinct and never contains the token', () => {
    const a = newToken();
    const b = newToken();
    const fa = tokenFingerprint(a);
    expect(fa).toMatch(/^[0-9a-f]{12}$/);
    expect(tokenFingerprint(a)).toBe(fa);
    expect(tokenFingerprint(b)).not.toBe(fa);
    expect(a.includes(fa)).toBe(false);
    expect(fa.includes(a)).toBe(false);
    // No long run of the token survives into the fingerprint.
    for (let i = 0; i + 6 <= a.length; i++) expect(fa.includes(a.slice(i, i + 6))).toBe(false);
  });
});

describe('isWellFormedToken', () => {
  it('accepts every length a 32-byte value can encode to', () => {
    expect(isWellFormedToken(bs58.encode(new Uint8Array(32)))).toBe(true); // 32 x '1'
    expect(isWellFormedToken(bs58.encode(new Uint8Array(32).fill(255)))).toBe(true); // 44 chars
  });

  it('refuses garbage cheaply', () => {
    const t = newToken();
    for (const bad of [
      '',
      'short',
      t + 'x'.repeat(10),
      'x'.repeat(10_000),
      t.slice(0, -1) + '0', // 0 is not base58
      t.slice(0, -1) + 'O',
      t.slice(0, -1) + 'I',
      t.slice(0, -1) + 'l',
      t.slice(0, -1) + '+',
      ` ${t}`,
      `${t}\n`,
      undefined,
      null,
      42,
      {},
    ]) {
      expect(isWellFormedToken(bad)).toBe(false);
    }
  });
});
