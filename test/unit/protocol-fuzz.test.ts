import { describe, expect, it } from 'vitest';
import {
  ContractContainer,
  ContractKey,
  DisconnectRequest,
  GetRequest,
  PutRequest,
  StateUpdate,
  SubscribeRequest,
  UpdateData,
  UpdateRequest,
  WasmContractV1,
} from '@freenetorg/freenet-stdlib/websocket-interface.js';
import { RelatedContractT, RelatedContractsT } from '@freenetorg/freenet-stdlib/client-request.js';
import { ContractCodeT, ContractInstanceIdT, ContractType, UpdateDataType } from '@freenetorg/freenet-stdlib/common.js';
import { decodeClientRequest, type DecodedRequest } from '../../src/protocol/index.js';
import { contractIdentity } from '../../src/node/contract-key.js';
import { officialClient } from '../fixtures/official-client.js';

/** Deterministic PRNG (mulberry32) so a failure can be replayed from its seed. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

async function validFrames(): Promise<Uint8Array[]> {
  const code = new Uint8Array(300).map((_, i) => i & 0xff);
  const params = new Uint8Array([1, 2]);
  const id = contractIdentity(code, params);
  const key = new ContractKey(id.instanceId, id.codeHash);
  const container = new ContractContainer(
    ContractType.WasmContractV1,
    new WasmContractV1(new ContractCodeT(Array.from(code), Array.from(id.codeHash)), Array.from(params), key),
  );
  const { api, socket } = officialClient('fuzz-token');
  socket.open();
  const related = new RelatedContractsT([new RelatedContractT(new ContractInstanceIdT(Array(32).fill(7)), [1, 2, 3])]);
  await api.put(new PutRequest(container, [1, 2, 3, 4, 5], related));
  await api.get(new GetRequest(new ContractKey(id.instanceId), true));
  await api.update(new UpdateRequest(new ContractKey(id.instanceId), new UpdateData(UpdateDataType.StateUpdate, new StateUpdate([9, 9]))));
  await api.subscribe(new SubscribeRequest(new ContractKey(id.instanceId)));
  await api.disconnect(new DisconnectRequest('done'));
  return socket.sent;
}

function decodeSafely(frame: Uint8Array): DecodedRequest {
  let result: DecodedRequest | undefined;
  expect(() => {
    result = decodeClientRequest(frame);
  }).not.toThrow();
  expect(result).toBeDefined();
  return result!;
}

describe('decoder fuzzing: never throws, always a result', () => {
  it('every valid frame decodes, and every truncation of it is malformed', async () => {
    const frames = await validFrames();
    let truncations = 0;
    for (const frame of frames) {
      expect(decodeSafely(frame).kind).not.toBe('malformed');
      for (let len = 0; len < frame.length; len++) {
        const r = decodeSafely(frame.subarray(0, len));
        // A prefix can only decode if the bytes it cut were padding the reader never touches.
        if (r.kind !== 'malformed') expect(len).toBeGreaterThan(frame.length - 8);
        truncations++;
      }
    }
    expect(truncations).toBeGreaterThan(1000);
  });

  it('5,000 random frames', () => {
    const next = rng(0xf2ee);
    let malformed = 0;
    for (let i = 0; i < 5000; i++) {
      const frame = new Uint8Array(Math.floor(next() * 512));
      for (let j = 0; j < frame.length; j++) frame[j] = Math.floor(next() * 256);
      // Half the frames get a plausible root offset and union tag, to get past the first check.
      if (i % 2 === 0 && frame.length >= 16) {
        frame[0] = 8 + Math.floor(next() * 8);
        frame[1] = frame[2] = frame[3] = 0;
      }
      if (decodeSafely(frame).kind === 'malformed') malformed++;
    }
    expect(malformed).toBeGreaterThan(4900);
  });

  it('5,000 valid frames with random bytes corrupted', async () => {
    const frames = await validFrames();
    const next = rng(0xbad);
    for (let i = 0; i < 5000; i++) {
      const frame = new Uint8Array(frames[i % frames.length]!);
      const flips = 1 + Math.floor(next() * 4);
      for (let f = 0; f < flips; f++) frame[Math.floor(next() * frame.length)] = Math.floor(next() * 256);
      const r = decodeSafely(frame);
      expect(typeof r.kind).toBe('string');
    }
  });

  it('a vector that claims two billion elements is rejected quickly', async () => {
    const [authenticate] = await validFrames();
    const frame = new Uint8Array(authenticate!);
    // Overwrite every aligned word with a huge length; whichever one is a length now lies.
    for (let at = 0; at + 4 <= frame.length; at += 4) {
      const copy = new Uint8Array(frame);
      new DataView(copy.buffer).setInt32(at, 0x7fffffff, true);
      const started = performance.now();
      decodeSafely(copy);
      expect(performance.now() - started).toBeLessThan(50);
    }
  });

  it('large legitimate frames stay within the read budget', async () => {
    const code = new Uint8Array(2_000_000).fill(1);
    const id = contractIdentity(code, new Uint8Array());
    const container = new ContractContainer(
      ContractType.WasmContractV1,
      new WasmContractV1(new ContractCodeT(Array.from(code), Array.from(id.codeHash)), [], new ContractKey(id.instanceId, id.codeHash)),
    );
    const many = new RelatedContractsT(Array.from({ length: 2000 }, () => new RelatedContractT(new ContractInstanceIdT(Array(32).fill(1)), [])));
    const { api, socket } = officialClient('t');
    await api.put(new PutRequest(container, Array(1000).fill(5), many));
    const r = decodeSafely(socket.sent[0]!);
    expect(r.kind).toBe('put');
    if (r.kind === 'put') {
      expect(r.contract.code.length).toBe(2_000_000);
      expect(r.relatedContracts).toHaveLength(2000);
    }
  });
});
