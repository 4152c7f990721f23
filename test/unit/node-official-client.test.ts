import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  ContractContainer,
  ContractKey,
  GetRequest,
  PutRequest,
  StateUpdate,
  SubscribeRequest,
  UpdateData,
  UpdateRequest,
  WasmContractV1,
} from '@freenetorg/freenet-stdlib/websocket-interface.js';
import { RelatedContractsT } from '@freenetorg/freenet-stdlib/client-request.js';
import { ContractCodeT, ContractType, UpdateDataType } from '@freenetorg/freenet-stdlib/common.js';
import pino from 'pino';
import { EmbeddedNode, contractIdentity, encodeContractId } from '../../src/node/index.js';
import { FreenetApiBinding } from '../../src/server/freenet-api.js';
import { bytesOf, officialClient } from '../fixtures/official-client.js';

/**
 * The official client against the embedded node through the flatbuffers binding, in process:
 * every frame the client sends is decoded by our decoder, every answer encoded by our encoder
 * and read by the client's own handler.
 */
let dataDir: string;
let node: EmbeddedNode;

beforeEach(() => {
  dataDir = mkdtempSync(join(tmpdir(), 'node-gateway-official-'));
  node = EmbeddedNode.open({ dataDir });
});
afterEach(async () => {
  await node.close();
  rmSync(dataDir, { recursive: true, force: true });
});

function connect() {
  const client = officialClient('token-for-test');
  const binding = new FreenetApiBinding(node, pino({ level: 'silent' }));
  const session = binding.openSession((bytes) => client.socket.deliver(bytes));
  /** Passes every frame the client sent since the last call through the binding, in order. */
  let seen = 0;
  const pump = async (): Promise<void> => {
    while (seen < client.socket.sent.length) {
      const inbound = binding.decode(client.socket.sent[seen++]!);
      if (inbound.kind === 'request') await session.handle(inbound.request, undefined);
      else if (inbound.kind === 'malformed') client.socket.deliver(binding.errorResponse(inbound.reason));
    }
  };
  return { ...client, pump };
}

const enc = (s: string): number[] => Array.from(new TextEncoder().encode(s));
const code = new TextEncoder().encode('official client test contract');
const id = contractIdentity(code, new Uint8Array());
const key = (): ContractKey => ContractKey.fromInstanceId(encodeContractId(id.instanceId));

describe('FreenetWsApi against the embedded node', () => {
  it('put → get returns the same state and contract; subscribe → update → notification', async () => {
    const a = connect();
    const b = connect();
    a.socket.open(); // sends Authenticate, which the connection (not the node) handles
    const container = new ContractContainer(
      ContractType.WasmContractV1,
      new WasmContractV1(new ContractCodeT(Array.from(code), Array.from(id.codeHash)), [], new ContractKey(id.instanceId, id.codeHash)),
    );
    await a.api.put(new PutRequest(container, enc('state 1'), new RelatedContractsT([])));
    await a.api.get(new GetRequest(key(), true));
    await a.pump();
    expect(a.received.puts[0]!.key.encode()).toBe(encodeContractId(id.instanceId));
    const got = a.received.gets[0]!;
    expect(new TextDecoder().decode(bytesOf(got.state))).toBe('state 1');
    expect(bytesOf(got.contract.contract!.data!.data)).toEqual(code);

    await b.api.subscribe(new SubscribeRequest(key()));
    await b.pump();
    await a.api.update(new UpdateRequest(key(), new UpdateData(UpdateDataType.StateUpdate, new StateUpdate(enc('state 2')))));
    await a.pump();
    expect(a.received.updates).toHaveLength(1);
    expect(b.received.notifications).toHaveLength(1);
    const n = b.received.notifications[0]!;
    expect(n.key.encode()).toBe(encodeContractId(id.instanceId));
    expect(new TextDecoder().decode(bytesOf((n.update.updateData as StateUpdate).state))).toBe('state 2');
    expect([...a.received.errors, ...b.received.errors]).toEqual([]);
  });

  it('unknown key reaches the client as an error', async () => {
    const a = connect();
    await a.api.get(new GetRequest(key()));
    await a.pump();
    expect(a.received.gets).toEqual([]);
    expect(a.received.errors).toHaveLength(1);
  });
});
