import { describe, expect, it } from 'vitest';
import * as flatbuffers from 'flatbuffers';
import {
  ContractContainer,
  ContractKey,
  DelegateRequest,
  DeltaUpdate,
  DisconnectRequest,
  GetRequest,
  PutRequest,
  RelatedStateUpdate,
  StateUpdate,
  SubscribeRequest,
  UpdateData,
  UpdateRequest,
  WasmContractV1,
} from '@freenetorg/freenet-stdlib/websocket-interface.js';
import {
  ApplicationMessagesT,
  ClientRequest,
  ClientRequestT,
  ClientRequestType,
  DelegateKeyT,
  DelegateRequestType,
  RelatedContractT,
  RelatedContractsT,
  UnregisterDelegateT,
} from '@freenetorg/freenet-stdlib/client-request.js';
import { ContractCodeT, ContractInstanceIdT, ContractType, UpdateDataType } from '@freenetorg/freenet-stdlib/common.js';
import { HostResponse, HostResponseType, ErrorT, OkT } from '@freenetorg/freenet-stdlib/host-response.js';
import {
  decodeClientRequest,
  encodeErrorResponse,
  encodeHostResponse,
  type ClientRequestMsg,
  type ContractMsg,
} from '../../src/protocol/index.js';
import { contractIdentity, encodeContractId } from '../../src/node/contract-key.js';
import { bytesOf, officialClient } from '../fixtures/official-client.js';

const code = new TextEncoder().encode('\0asm fake contract code for tests');
const parameters = new Uint8Array([1, 2, 3, 4]);
const identity = contractIdentity(code, parameters);
const state = new TextEncoder().encode('{"counter":1}');

function officialContainer(): ContractContainer {
  const key = new ContractKey(identity.instanceId, identity.codeHash);
  const wasm = new WasmContractV1(new ContractCodeT(Array.from(code), Array.from(identity.codeHash)), Array.from(parameters), key);
  return new ContractContainer(ContractType.WasmContractV1, wasm);
}

function expectKind<K extends ClientRequestMsg['kind']>(
  decoded: ReturnType<typeof decodeClientRequest>,
  kind: K,
): Extract<ClientRequestMsg, { kind: K }> {
  expect(decoded.kind).toBe(kind);
  return decoded as Extract<ClientRequestMsg, { kind: K }>;
}

describe('decodeClientRequest reads what FreenetWsApi sends', () => {
  it('connects with the token in the authToken query parameter and sends Authenticate on open', () => {
    const { socket, received } = officialClient('TOKEN58');
    const url = new URL(socket.url);
    expect(url.pathname).toBe('/v1/contract/command');
    expect(url.searchParams.get('authToken')).toBe('TOKEN58');
    expect(url.searchParams.get('encodingProtocol')).toBe('flatbuffers');
    expect(socket.binaryType).toBe('arraybuffer');
    socket.open();
    expect(received.opened).toBe(1);
    expect(socket.sent).toHaveLength(1);
    expect(decodeClientRequest(socket.sent[0]!)).toEqual({ kind: 'authenticate', token: 'TOKEN58' });
  });

  it('put: contract, state and related contracts', async () => {
    const { api, socket } = officialClient('t');
    await api.put(new PutRequest(officialContainer(), Array.from(state), new RelatedContractsT([])));
    const put = expectKind(decodeClientRequest(socket.sent[0]!), 'put');
    expect(put.state).toEqual(state);
    expect(put.contract.code).toEqual(code);
    expect(put.contract.codeHash).toEqual(identity.codeHash);
    expect(put.contract.parameters).toEqual(parameters);
    expect(put.contract.key.instanceId).toEqual(identity.instanceId);
    expect(put.contract.key.codeHash).toEqual(identity.codeHash);
    expect(put.relatedContracts).toEqual([]);
  });

  it('put with related contracts', async () => {
    const { api, socket } = officialClient('t');
    const related = new RelatedContractsT([new RelatedContractT(new ContractInstanceIdT(Array(32).fill(9)), [5, 6])]);
    await api.put(new PutRequest(officialContainer(), Array.from(state), related));
    const put = expectKind(decodeClientRequest(socket.sent[0]!), 'put');
    expect(put.relatedContracts).toEqual([{ instanceId: new Uint8Array(32).fill(9), state: new Uint8Array([5, 6]) }]);
  });

  it('the official PutRequest cannot be sent without related contracts (required field)', async () => {
    const { api } = officialClient('t');
    await expect(api.put(new PutRequest(officialContainer(), Array.from(state)))).rejects.toThrow(/field 8 must be set/);
  });

  it('get, with and without the contract', async () => {
    const { api, socket } = officialClient('t');
    const key = ContractKey.fromInstanceId(encodeContractId(identity.instanceId));
    await api.get(new GetRequest(key, true));
    await api.get(new GetRequest(key));
    const withContract = expectKind(decodeClientRequest(socket.sent[0]!), 'get');
    expect(withContract.fetchContract).toBe(true);
    expect(withContract.key).toEqual({ instanceId: identity.instanceId });
    expect(expectKind(decodeClientRequest(socket.sent[1]!), 'get').fetchContract).toBe(false);
  });

  it('update: full state, delta and related state', async () => {
    const { api, socket } = officialClient('t');
    const key = new ContractKey(identity.instanceId);
    await api.update(new UpdateRequest(key, new UpdateData(UpdateDataType.StateUpdate, new StateUpdate([7, 8]))));
    await api.update(new UpdateRequest(key, new UpdateData(UpdateDataType.DeltaUpdate, new DeltaUpdate([1]))));
    await api.update(
      new UpdateRequest(
        key,
        new UpdateData(UpdateDataType.RelatedStateUpdate, new RelatedStateUpdate(new ContractInstanceIdT(Array(32).fill(3)), [4])),
      ),
    );
    const full = expectKind(decodeClientRequest(socket.sent[0]!), 'update');
    expect(full.key.instanceId).toEqual(identity.instanceId);
    expect(full.data).toEqual({ kind: 'state', state: new Uint8Array([7, 8]) });
    expect(expectKind(decodeClientRequest(socket.sent[1]!), 'update').data).toEqual({ kind: 'delta', delta: new Uint8Array([1]) });
    expect(expectKind(decodeClientRequest(socket.sent[2]!), 'update').data).toEqual({
      kind: 'related-state',
      relatedTo: new Uint8Array(32).fill(3),
      state: new Uint8Array([4]),
    });
  });

  it('subscribe and disconnect', async () => {
    const { api, socket } = officialClient('t');
    await api.subscribe(new SubscribeRequest(new ContractKey(identity.instanceId)));
    await api.disconnect(new DisconnectRequest('bye'));
    await api.disconnect(new DisconnectRequest());
    const sub = expectKind(decodeClientRequest(socket.sent[0]!), 'subscribe');
    expect(sub.key.instanceId).toEqual(identity.instanceId);
    expect(sub.summary).toEqual(new Uint8Array());
    expect(decodeClientRequest(socket.sent[1]!)).toEqual({ kind: 'disconnect', cause: 'bye' });
    expect(decodeClientRequest(socket.sent[2]!)).toEqual({ kind: 'disconnect' });
  });

  it('delegate requests, built with the library object API as FreenetWsApi would frame them', () => {
    const key = new DelegateKeyT(Array(32).fill(1), Array(32).fill(2));
    const frames = [
      new DelegateRequest(DelegateRequestType.ApplicationMessages, new ApplicationMessagesT(key, [9], [])),
      new DelegateRequest(DelegateRequestType.UnregisterDelegate, new UnregisterDelegateT(key)),
    ].map((req) => {
      const fbb = new flatbuffers.Builder(1024);
      ClientRequest.finishClientRequestBuffer(fbb, new ClientRequestT(ClientRequestType.DelegateRequest, req).pack(fbb));
      return fbb.asUint8Array();
    });
    const app = expectKind(decodeClientRequest(frames[0]!), 'delegate');
    expect(app.operation).toBe('application-messages');
    expect(app.delegateKey).toEqual({ key: new Uint8Array(32).fill(1), codeHash: new Uint8Array(32).fill(2) });
    expect(app.params).toEqual(new Uint8Array([9]));
    expect(app.messageCount).toBe(0);
    expect(expectKind(decodeClientRequest(frames[1]!), 'delegate').operation).toBe('unregister-delegate');
  });

  it('decoded byte fields do not alias the caller’s buffer when it is a slice of a larger one', async () => {
    const { api, socket } = officialClient('t');
    await api.update(new UpdateRequest(new ContractKey(identity.instanceId), new UpdateData(UpdateDataType.StateUpdate, new StateUpdate([7]))));
    const frame = socket.sent[0]!;
    const slab = new Uint8Array(frame.length + 64);
    slab.set(frame, 32);
    const view = slab.subarray(32, 32 + frame.length);
    const update = expectKind(decodeClientRequest(view), 'update');
    slab.fill(0);
    expect(update.data).toEqual({ kind: 'state', state: new Uint8Array([7]) });
  });
});

describe('encodeHostResponse is read by FreenetWsApi', () => {
  const key = { instanceId: identity.instanceId, codeHash: identity.codeHash };
  const contract: ContractMsg = { code, codeHash: identity.codeHash, parameters, key };

  it('put response', () => {
    const { socket, received } = officialClient('t');
    socket.deliver(encodeHostResponse({ kind: 'put-response', key }));
    expect(received.puts).toHaveLength(1);
    expect(received.puts[0]!.key.encode()).toBe(new ContractKey(identity.instanceId).encode());
    expect(bytesOf(received.puts[0]!.key.codePart())).toEqual(identity.codeHash);
  });

  it('get response with the contract', () => {
    const { socket, received } = officialClient('t');
    socket.deliver(encodeHostResponse({ kind: 'get-response', key, contract, state }));
    const got = received.gets[0]!;
    expect(bytesOf(got.state)).toEqual(state);
    expect(bytesOf(got.key.bytes())).toEqual(identity.instanceId);
    expect(got.contract.contractType).toBe(ContractType.WasmContractV1);
    const wasm = got.contract.contract!;
    expect(bytesOf(wasm.data!.data)).toEqual(code);
    expect(bytesOf(wasm.data!.codeHash)).toEqual(identity.codeHash);
    expect(bytesOf(wasm.parameters)).toEqual(parameters);
    expect(bytesOf(wasm.key!.instance!.data)).toEqual(identity.instanceId);
  });

  it('get response without the contract, key without code hash', () => {
    const { socket, received } = officialClient('t');
    socket.deliver(encodeHostResponse({ kind: 'get-response', key: { instanceId: identity.instanceId }, state }));
    expect(received.gets[0]!.contract).toBeNull();
    expect(bytesOf(received.gets[0]!.state)).toEqual(state);
  });

  it('update response and update notification', () => {
    const { socket, received } = officialClient('t');
    socket.deliver(encodeHostResponse({ kind: 'update-response', key, summary: new Uint8Array([1]) }));
    socket.deliver(encodeHostResponse({ kind: 'update-notification', key, update: { kind: 'state', state } }));
    expect(bytesOf(received.updates[0]!.summary)).toEqual(new Uint8Array([1]));
    const n = received.notifications[0]!;
    expect(bytesOf(n.key.bytes())).toEqual(identity.instanceId);
    expect(n.update.updateDataType).toBe(UpdateDataType.StateUpdate);
    expect(bytesOf((n.update.updateData as StateUpdate).state)).toEqual(state);
  });

  it('every update kind survives a round trip through the library decoder', () => {
    const related = new Uint8Array(32).fill(4);
    const kinds = [
      { kind: 'delta', delta: new Uint8Array([1]) },
      { kind: 'state-and-delta', state: new Uint8Array([2]), delta: new Uint8Array([3]) },
      { kind: 'related-state', relatedTo: related, state: new Uint8Array([5]) },
      { kind: 'related-delta', relatedTo: related, delta: new Uint8Array([6]) },
      { kind: 'related-state-and-delta', relatedTo: related, state: new Uint8Array([7]), delta: new Uint8Array([8]) },
    ] as const;
    for (const update of kinds) {
      const bytes = encodeHostResponse({ kind: 'update-notification', key, update });
      const unpacked = HostResponse.getRootAsHostResponse(new flatbuffers.ByteBuffer(bytes)).unpack();
      expect(unpacked.responseType).toBe(HostResponseType.ContractResponse);
      const body = (unpacked.response as unknown as { contractResponse: { update: { updateData: Record<string, unknown> } } }).contractResponse
        .update.updateData;
      if ('state' in update) expect(bytesOf(body['state'] as number[])).toEqual(update.state);
      if ('delta' in update) expect(bytesOf(body['delta'] as number[])).toEqual(update.delta);
      if ('relatedTo' in update) expect(bytesOf((body['relatedTo'] as { data: number[] }).data)).toEqual(related);
    }
  });

  it('errors and ok: the library decodes them (FreenetWsApi reports errors with a fixed cause)', () => {
    const { socket, received } = officialClient('t');
    const frame = encodeErrorResponse('contract X not found');
    const unpacked = HostResponse.getRootAsHostResponse(new flatbuffers.ByteBuffer(frame)).unpack();
    expect(unpacked.responseType).toBe(HostResponseType.Error);
    expect((unpacked.response as ErrorT).msg).toBe('contract X not found');
    socket.deliver(frame);
    // FreenetWsApi 0.0.8 has no case for HostResponseType.Error: it calls onErr with this cause.
    expect(received.errors).toEqual([{ cause: 'Received wrong HostResponse type' }]);

    const ok = HostResponse.getRootAsHostResponse(new flatbuffers.ByteBuffer(encodeHostResponse({ kind: 'ok', message: 'subscribed' }))).unpack();
    expect(ok.responseType).toBe(HostResponseType.Ok);
    expect((ok.response as OkT).msg).toBe('subscribed');
    socket.deliver(encodeHostResponse({ kind: 'ok', message: 'subscribed' }));
    expect(received.errors).toHaveLength(1);
  });

  it('the same response object is encoded once', () => {
    const r = { kind: 'update-notification', key, update: { kind: 'state', state } } as const;
    expect(encodeHostResponse(r)).toBe(encodeHostResponse(r));
  });
});

describe('encodeHostResponse with its shared builder', () => {
  const key = { instanceId: identity.instanceId, codeHash: identity.codeHash };

  it('gives the same bytes whatever was encoded before, and never changes bytes handed out', () => {
    const small = { kind: 'get-response', key, state } as const;
    const first = encodeHostResponse(small);
    const copy = Uint8Array.from(first);
    // A response that grows the builder past its shared size, one that throws half-way, and others.
    encodeHostResponse({ kind: 'get-response', key, state: new Uint8Array(200_000).fill(9) });
    expect(() => encodeHostResponse({ kind: 'ok', message: undefined as unknown as string })).toThrow();
    encodeHostResponse({ kind: 'error', message: 'x'.repeat(5000) });
    expect(Uint8Array.from(first)).toEqual(copy);
    expect(Uint8Array.from(encodeHostResponse(small))).toEqual(copy);
    expect(HostResponse.getRootAsHostResponse(new flatbuffers.ByteBuffer(copy)).responseType()).toBe(HostResponseType.ContractResponse);
  });

  it('encodes one notification object once, for all its subscribers', () => {
    const notification = { kind: 'update-notification', key, update: { kind: 'state', state } } as const;
    expect(encodeHostResponse(notification)).toBe(encodeHostResponse(notification));
  });
});

describe('decodeClientRequest rejects what is not a request', () => {
  it('names what is wrong', () => {
    expect(decodeClientRequest(new Uint8Array(3))).toMatchObject({ kind: 'malformed', reason: expect.stringMatching(/too short/) });
    // A HostResponse is a valid flatbuffer but not a ClientRequest of any known type.
    const notARequest = decodeClientRequest(encodeErrorResponse('x'.repeat(40)));
    expect(notARequest.kind).toBe('malformed');
    const zeros = decodeClientRequest(new Uint8Array(64));
    expect(zeros).toMatchObject({ kind: 'malformed' });
  });

  it('rejects a key whose instance id is not 32 bytes', async () => {
    const key = new ContractKey(identity.instanceId);
    key.instance = new ContractInstanceIdT([1, 2, 3]);
    const { api, socket } = officialClient('t');
    await api.get(new GetRequest(key));
    expect(decodeClientRequest(socket.sent[0]!)).toEqual({
      kind: 'malformed',
      reason: 'get key has a 3-byte instance id, expected 32',
    });
  });
});
