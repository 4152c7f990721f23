import { createHash, randomBytes } from 'node:crypto';
import bs58 from 'bs58';

export const TOKEN_BYTES = 32;

/**
 * Every 32-byte value encodes to 32..44 base58 characters (44 for values near 2^256, fewer only
 * with leading zero bytes or small values). Anything longer can never be a token, so the pre-check
 * caps there; the lower bound stays at 32 so a rare-but-valid short encoding is not refused.
 */
const WELL_FORMED = /^[1-9A-HJ-NP-Za-km-z]{32,44}$/;

/**
 * A flat copy of an ASCII string. V8 keeps strings built by concatenation (base58 encoders) or
 * sliced from larger ones (`randomUUID`'s batch) as ropes or slices; held a million times over in
 * the token map they cost ~1.4 KB a token instead of ~60 bytes (docs/PERFORMANCE.md).
 */
export function flatAscii(s: string): string {
  return Buffer.from(s, 'latin1').toString('latin1');
}

/** A fresh auth token: 32 bytes from the CSPRNG, base58 (Bitcoin alphabet), as Freenet's AuthToken. */
export function newToken(): string {
  return flatAscii(bs58.encode(randomBytes(TOKEN_BYTES)));
}

/**
 * What logs carry instead of the token: 48 bits of SHA-256, enough to correlate lines about the same
 * token, useless for recovering it.
 */
export function tokenFingerprint(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex').slice(0, 12);
}

/** Cheap syntactic filter so garbage (huge strings, wrong alphabet) is refused before any lookup. */
export function isWellFormedToken(s: unknown): s is string {
  return typeof s === 'string' && s.length <= 44 && WELL_FORMED.test(s);
}
