import { describe, expect, it } from 'vitest';
import { blake3 } from '@noble/hashes/blake3.js';
import { ContractKey } from '@freenetorg/freenet-stdlib/websocket-interface.js';
import {
  codeHashOf,
  contractIdentity,
  decodeContractId,
  encodeContractId,
  instanceIdOf,
  verifyContract,
} from '../../src/node/contract-key.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

describe('contract identity as freenet-stdlib computes it', () => {
  it('code hash is plain BLAKE3 of the code (BLAKE3 reference vector for empty input)', () => {
    expect(hex(codeHashOf(new Uint8Array()))).toBe('af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262');
  });

  it('instance id is BLAKE3 over the 32 code-hash bytes followed by the parameter bytes', () => {
    const code = new TextEncoder().encode('wasm');
    const params = new Uint8Array([0, 1, 2, 255]);
    const hash = codeHashOf(code);
    const expected = blake3(new Uint8Array([...hash, ...params]));
    expect(instanceIdOf(hash, params)).toEqual(expected);
    expect(contractIdentity(code, params)).toEqual({ codeHash: hash, instanceId: expected });
    // With no parameters it is the hash of the hash (freenet-stdlib's key_encoding test case).
    expect(instanceIdOf(hash, new Uint8Array())).toEqual(blake3(hash));
  });

  it('base58 ids match the official client’s ContractKey.encode and round-trip', () => {
    const { instanceId } = contractIdentity(new Uint8Array([1, 2, 3]), new Uint8Array());
    const id = encodeContractId(instanceId);
    expect(id).toBe(new ContractKey(instanceId).encode());
    expect(decodeContractId(id)).toEqual(instanceId);
    expect(decodeContractId('0OIl')).toBeUndefined();
    expect(decodeContractId('1' + id)).toBeUndefined(); // 33 bytes
  });

  it('verifyContract accepts a matching key with or without the code hash', () => {
    const code = new Uint8Array([9]);
    const parameters = new Uint8Array([8]);
    const { codeHash, instanceId } = contractIdentity(code, parameters);
    expect(verifyContract({ code, codeHash, parameters, key: { instanceId, codeHash } }).ok).toBe(true);
    expect(verifyContract({ code, codeHash: new Uint8Array(), parameters, key: { instanceId } }).ok).toBe(true);
    expect(verifyContract({ code, codeHash, parameters: new Uint8Array([7]), key: { instanceId } }).ok).toBe(false);
  });
});
