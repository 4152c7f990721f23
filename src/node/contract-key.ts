import { blake3 } from '@noble/hashes/blake3.js';
import bs58 from 'bs58';
import { KEY_BYTES, type ContractMsg } from '../protocol/types.js';

/**
 * Contract identity as freenet-stdlib computes it (rust/src/contract_interface/key.rs and
 * code.rs): code hash = BLAKE3(code); instance id = BLAKE3(code hash ‖ parameters), one hasher
 * fed the 32 hash bytes and then the raw parameter bytes, no lengths or separators. Both are
 * 32-byte digests; the instance id in base58 (Bitcoin alphabet) is the contract's public name.
 */
export function codeHashOf(code: Uint8Array): Uint8Array {
  return blake3(code);
}

export function instanceIdOf(codeHash: Uint8Array, parameters: Uint8Array): Uint8Array {
  return blake3.create().update(codeHash).update(parameters).digest();
}

export interface ContractIdentity {
  readonly codeHash: Uint8Array;
  readonly instanceId: Uint8Array;
}

export function contractIdentity(code: Uint8Array, parameters: Uint8Array): ContractIdentity {
  const codeHash = codeHashOf(code);
  return { codeHash, instanceId: instanceIdOf(codeHash, parameters) };
}

/** Base58 of a 32-byte instance id: the `{key}` of `/v1/contract/web/{key}/`. */
export function encodeContractId(instanceId: Uint8Array): string {
  return bs58.encode(instanceId);
}

/** The 32 bytes of a base58 contract id, or undefined if it is not one (canonical form only). */
export function decodeContractId(id: string): Uint8Array | undefined {
  const bytes = bs58.decodeUnsafe(id);
  if (bytes === undefined || bytes.length !== KEY_BYTES || bs58.encode(bytes) !== id) return undefined;
  return bytes;
}

export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * Checks that a contract sent with a put is what its key says: the key's instance id (and code
 * hash, and the code hash sent next to the code, when present) must be those computed from the
 * code and parameters. Returns the computed identity, or the reason it does not match.
 */
export function verifyContract(contract: ContractMsg): { ok: true; identity: ContractIdentity } | { ok: false; reason: string } {
  const identity = contractIdentity(contract.code, contract.parameters);
  const claimedId = encodeContractId(contract.key.instanceId);
  if (contract.codeHash.length > 0 && !sameBytes(contract.codeHash, identity.codeHash)) {
    return { ok: false, reason: `the code hash sent with the code of contract ${claimedId} is not BLAKE3 of the code` };
  }
  if (contract.key.codeHash !== undefined && !sameBytes(contract.key.codeHash, identity.codeHash)) {
    return { ok: false, reason: `the code hash in key ${claimedId} is not BLAKE3 of the code` };
  }
  if (!sameBytes(contract.key.instanceId, identity.instanceId)) {
    return {
      ok: false,
      reason:
        `key ${claimedId} does not match the contract: code and parameters give ` +
        `${encodeContractId(identity.instanceId)} (BLAKE3(BLAKE3(code) ‖ parameters))`,
    };
  }
  return { ok: true, identity };
}
