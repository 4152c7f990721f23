/**
 * Request frames exactly as the official client library sends them: `FreenetWsApi` of
 * @freenetorg/freenet-stdlib driven over a stand-in WebSocket that only records what is sent.
 */
import { randomBytes } from 'node:crypto';
import { ContractCodeT, ContractType, UpdateDataType } from '@freenetorg/freenet-stdlib/common.js';
import { RelatedContractsT } from '@freenetorg/freenet-stdlib/client-request.js';
import {
  ContractContainer,
  ContractKey,
  FreenetWsApi,
  GetRequest,
  PutRequest,
  StateUpdate,
  SubscribeRequest,
  UpdateData,
  UpdateRequest,
  WasmContractV1,
} from '@freenetorg/freenet-stdlib/websocket-interface.js';
import { contractIdentity, encodeContractId } from '../../dist/node/contract-key.js';

class RecordingWebSocket {
  static last;
  binaryType = 'blob';
  onmessage = null;
  sent = [];
  constructor(url) {
    this.url = String(url);
    RecordingWebSocket.last = this;
  }
  addEventListener() {}
  send(data) {
    this.sent.push(Buffer.from(data));
  }
}

/** Runs `drive(api)` against a recording socket and returns the frames it sent. */
async function framesOf(drive) {
  const previous = globalThis.WebSocket;
  globalThis.WebSocket = RecordingWebSocket;
  try {
    const noop = () => {};
    const handler = {
      onContractPut: noop, onContractGet: noop, onContractUpdate: noop,
      onContractUpdateNotification: noop, onDelegateResponse: noop, onErr: noop, onOpen: noop,
    };
    // A token argument keeps the library from reading document.cookie, which Node lacks.
    const api = new FreenetWsApi(new URL('ws://127.0.0.1:7509/v1/contract/command'), handler, 'unused');
    await drive(api);
    return RecordingWebSocket.last.sent;
  } finally {
    globalThis.WebSocket = previous;
  }
}

/**
 * A contract with a `stateBytes` state: the Put that stores it and the Get that reads it back.
 * Its key is BLAKE3(BLAKE3(code) ‖ params), as the gateway checks.
 */
export async function contractFrames(stateBytes = 1024) {
  const code = new Uint8Array(Buffer.from(`\0asm benchmark contract ${randomBytes(8).toString('hex')}`));
  const parameters = new Uint8Array([1, 2, 3, 4]);
  const state = randomBytes(stateBytes);
  const id = contractIdentity(code, parameters);
  const key = new ContractKey(id.instanceId, id.codeHash);
  const wasm = new WasmContractV1(new ContractCodeT(Array.from(code), Array.from(id.codeHash)), Array.from(parameters), key);
  const container = new ContractContainer(ContractType.WasmContractV1, wasm);
  const [put] = await framesOf((api) => api.put(new PutRequest(container, Array.from(state), new RelatedContractsT([]))));
  const [get] = await framesOf((api) => api.get(new GetRequest(ContractKey.fromInstanceId(encodeContractId(id.instanceId)), false)));
  const [subscribe] = await framesOf((api) => api.subscribe(new SubscribeRequest(key)));
  /** A full-state Update of this contract to `next`. */
  const update = async (next) =>
    (await framesOf((api) => api.update(new UpdateRequest(key, new UpdateData(UpdateDataType.StateUpdate, new StateUpdate(Array.from(next)))))))[0];
  return { contractId: encodeContractId(id.instanceId), put, get, subscribe, update, state };
}
