import bs58 from 'bs58';

/** A contract instance id as it appears in URLs: base58 (Bitcoin alphabet) of 32 bytes. */
export function isContractInstanceId(s: string): boolean {
  if (s.length < 32 || s.length > 44) return false;
  const bytes = bs58.decodeUnsafe(s);
  // Round-trip so that leading-zero variants of the same bytes are not accepted as other keys.
  return bytes !== undefined && bytes.length === 32 && bs58.encode(bytes) === s;
}
