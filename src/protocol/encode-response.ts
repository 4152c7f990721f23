import * as flatbuffers from 'flatbuffers';
import {
  ContractCode,
  ContractContainer,
  ContractInstanceId,
  ContractKey,
  ContractResponse,
  ContractResponseType,
  ContractType,
  DeltaUpdate,
  GetResponse,
  HostError,
  HostResponse,
  HostResponseType,
  Ok,
  PutResponse,
  RelatedDeltaUpdate,
  RelatedStateAndDeltaUpdate,
  RelatedStateUpdate,
  StateAndDeltaUpdate,
  StateUpdate,
  UpdateData,
  UpdateDataType,
  UpdateNotification,
  UpdateResponse,
  WasmContractV1,
} from './fbs.js';
import type { ContractKeyMsg, ContractMsg, HostResponseMsg, UpdateDataMsg } from './types.js';

type Offset = flatbuffers.Offset;

/** The builder's write position; private in its typings, but the format it writes is fixed. */
interface BuilderInternals {
  space: number;
}

/**
 * A ubyte vector, byte for byte what the generated `create…Vector` helpers write, in one copy:
 * they add one byte per call, ~10 µs for a 1 KiB state and ~165 ms for 16 MiB.
 */
export function byteVector(b: flatbuffers.Builder, data: Uint8Array): Offset {
  b.startVector(1, data.length, 1);
  const internals = b as unknown as BuilderInternals;
  internals.space -= data.length;
  b.dataBuffer().setPosition(internals.space);
  b.dataBuffer().bytes().set(data, internals.space);
  return b.endVector();
}

const EMPTY = new Uint8Array(0);

/**
 * One notification is sent to every subscriber: encode each notification object once. Keyed
 * weakly so a notification that nobody holds any more is forgotten with its bytes. Other
 * responses go to one connection and are not cached (a WeakMap entry per answer is not free).
 */
const encodedNotifications = new WeakMap<HostResponseMsg, Uint8Array>();

/**
 * Responses up to this size are built in one builder kept for the process and copied out, instead
 * of a fresh builder (its ArrayBuffer and TextEncoder) per response. Larger ones get their own
 * builder, so the shared one never holds on to a big state's worth of memory.
 */
const SHARED_BUILDER_BYTES = 64 * 1024;
let sharedBuilder = new flatbuffers.Builder(4096);

/**
 * Encodes a response or notification as a `HostResponse` flatbuffer, built with the official
 * library's generated builders in the same order as its object API (`HostResponseT.pack`), so the
 * bytes are what `FreenetWsApi` expects. The result must not be mutated (it may be shared).
 */
export function encodeHostResponse(response: HostResponseMsg): Uint8Array {
  const notification = response.kind === 'update-notification';
  if (notification) {
    const cached = encodedNotifications.get(response);
    if (cached !== undefined) return cached;
  }
  const size = initialSize(response);
  const shared = size <= SHARED_BUILDER_BYTES;
  const builder = shared ? sharedBuilder : new flatbuffers.Builder(size);
  // clear() also resets a builder left half-way by a build that threw.
  if (shared) builder.clear();
  const [type, body] = buildResponse(builder, response);
  HostResponse.finishHostResponseBuffer(builder, HostResponse.createHostResponse(builder, type, body));
  let bytes = builder.asUint8Array();
  if (shared) {
    // The next response overwrites the builder. A small copy comes from Node's Buffer pool, and
    // ws sends a Buffer as it is, without wrapping it again.
    bytes = Buffer.from(bytes);
    // The size estimate was too low and the buffer grew: do not keep the big buffer around.
    if (builder.dataBuffer().capacity() > SHARED_BUILDER_BYTES) sharedBuilder = new flatbuffers.Builder(4096);
  }
  if (notification) encodedNotifications.set(response, bytes);
  return bytes;
}

/** An `Error` response, for the server's malformed-frame and internal-error paths. */
export function errorResponse(message: string): HostResponseMsg {
  return { kind: 'error', message };
}

/** The encoded `Error` response for `message`. */
export function encodeErrorResponse(message: string): Uint8Array {
  return encodeHostResponse(errorResponse(message));
}

function buildResponse(b: flatbuffers.Builder, r: HostResponseMsg): [HostResponseType, Offset] {
  switch (r.kind) {
    case 'ok':
      return [HostResponseType.Ok, Ok.createOk(b, b.createString(r.message))];
    case 'error':
      return [HostResponseType.Error, HostError.createError(b, b.createString(r.message))];
    case 'put-response':
      return contractResponse(b, ContractResponseType.PutResponse, PutResponse.createPutResponse(b, buildKey(b, r.key)));
    case 'get-response': {
      const key = buildKey(b, r.key);
      const contract = r.contract === undefined ? 0 : buildContractContainer(b, r.contract);
      const state = byteVector(b, r.state);
      GetResponse.startGetResponse(b);
      GetResponse.addKey(b, key);
      GetResponse.addContract(b, contract);
      GetResponse.addState(b, state);
      return contractResponse(b, ContractResponseType.GetResponse, GetResponse.endGetResponse(b));
    }
    case 'update-response': {
      const key = buildKey(b, r.key);
      const summary = byteVector(b, r.summary);
      return contractResponse(b, ContractResponseType.UpdateResponse, UpdateResponse.createUpdateResponse(b, key, summary));
    }
    case 'update-notification': {
      const key = buildKey(b, r.key);
      const update = buildUpdateData(b, r.update);
      UpdateNotification.startUpdateNotification(b);
      UpdateNotification.addKey(b, key);
      UpdateNotification.addUpdate(b, update);
      return contractResponse(b, ContractResponseType.UpdateNotification, UpdateNotification.endUpdateNotification(b));
    }
  }
}

function contractResponse(b: flatbuffers.Builder, type: ContractResponseType, body: Offset): [HostResponseType, Offset] {
  return [HostResponseType.ContractResponse, ContractResponse.createContractResponse(b, type, body)];
}

function buildInstanceId(b: flatbuffers.Builder, id: Uint8Array): Offset {
  return ContractInstanceId.createContractInstanceId(b, byteVector(b, id));
}

/** The library always writes the code vector, empty when the code hash is unknown. */
function buildKey(b: flatbuffers.Builder, key: ContractKeyMsg): Offset {
  const instance = buildInstanceId(b, key.instanceId);
  const code = byteVector(b, key.codeHash ?? EMPTY);
  return ContractKey.createContractKey(b, instance, code);
}

function buildContractContainer(b: flatbuffers.Builder, c: ContractMsg): Offset {
  const code = ContractCode.createContractCode(
    b,
    byteVector(b, c.code),
    byteVector(b, c.codeHash),
  );
  const parameters = byteVector(b, c.parameters);
  const key = buildKey(b, c.key);
  WasmContractV1.startWasmContractV1(b);
  WasmContractV1.addData(b, code);
  WasmContractV1.addParameters(b, parameters);
  WasmContractV1.addKey(b, key);
  const wasm = WasmContractV1.endWasmContractV1(b);
  return ContractContainer.createContractContainer(b, ContractType.WasmContractV1, wasm);
}

function buildUpdateData(b: flatbuffers.Builder, u: UpdateDataMsg): Offset {
  const [type, body] = buildUpdateBody(b, u);
  return UpdateData.createUpdateData(b, type, body);
}

function buildUpdateBody(b: flatbuffers.Builder, u: UpdateDataMsg): [UpdateDataType, Offset] {
  switch (u.kind) {
    case 'state':
      return [UpdateDataType.StateUpdate, StateUpdate.createStateUpdate(b, byteVector(b, u.state))];
    case 'delta':
      return [UpdateDataType.DeltaUpdate, DeltaUpdate.createDeltaUpdate(b, byteVector(b, u.delta))];
    case 'state-and-delta': {
      const state = byteVector(b, u.state);
      const delta = byteVector(b, u.delta);
      return [UpdateDataType.StateAndDeltaUpdate, StateAndDeltaUpdate.createStateAndDeltaUpdate(b, state, delta)];
    }
    case 'related-state': {
      const related = buildInstanceId(b, u.relatedTo);
      const state = byteVector(b, u.state);
      return [UpdateDataType.RelatedStateUpdate, RelatedStateUpdate.createRelatedStateUpdate(b, related, state)];
    }
    case 'related-delta': {
      const related = buildInstanceId(b, u.relatedTo);
      const delta = byteVector(b, u.delta);
      return [UpdateDataType.RelatedDeltaUpdate, RelatedDeltaUpdate.createRelatedDeltaUpdate(b, related, delta)];
    }
    case 'related-state-and-delta': {
      const related = buildInstanceId(b, u.relatedTo);
      const state = byteVector(b, u.state);
      const delta = byteVector(b, u.delta);
      return [
        UpdateDataType.RelatedStateAndDeltaUpdate,
        RelatedStateAndDeltaUpdate.createRelatedStateAndDeltaUpdate(b, related, state, delta),
      ];
    }
  }
}

/** Start big enough for the payload, so a large state is not copied by repeated doubling. */
function initialSize(r: HostResponseMsg): number {
  const overhead = 256;
  switch (r.kind) {
    case 'ok':
    case 'error':
      return overhead + r.message.length * 3;
    case 'get-response':
      return overhead + r.state.length + (r.contract ? r.contract.code.length + r.contract.parameters.length : 0);
    case 'update-notification':
      return overhead + payloadBytes(r.update);
    default:
      return overhead;
  }
}

function payloadBytes(u: UpdateDataMsg): number {
  return ('state' in u ? u.state.length : 0) + ('delta' in u ? u.delta.length : 0);
}
