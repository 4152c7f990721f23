import {
  ApplicationMessages,
  Authenticate,
  ClientRequest,
  ClientRequestType,
  ContractContainer,
  ContractInstanceId,
  ContractKey,
  ContractRequest,
  ContractRequestType,
  ContractType,
  DelegateContainer,
  DelegateKey,
  DelegateRequest,
  DelegateRequestType,
  DelegateType,
  DeltaUpdate,
  Disconnect,
  Get,
  GetSecretRequestType,
  Put,
  RegisterDelegate,
  RelatedDeltaUpdate,
  RelatedStateAndDeltaUpdate,
  RelatedStateUpdate,
  StateAndDeltaUpdate,
  StateUpdate,
  Subscribe,
  UnregisterDelegate,
  Update,
  UpdateData,
  UpdateDataType,
  WasmContractV1,
  WasmDelegateV1,
} from './fbs.js';
import { CheckedByteBuffer, FrameError, exactBytes } from './checked-byte-buffer.js';
import {
  KEY_BYTES,
  type ClientRequestMsg,
  type ContractKeyMsg,
  type ContractMsg,
  type DecodedRequest,
  type DelegateKeyMsg,
  type RelatedContractMsg,
  type UpdateDataMsg,
} from './types.js';

/** Smallest possible flatbuffer: root offset, vtable and table. Anything shorter is noise. */
const MIN_FRAME_BYTES = 12;
/** Decoding reads a handful of words per table; this bounds it to a small multiple of the size. */
const READ_BUDGET_BASE = 4096;
const READ_BUDGET_PER_BYTE = 2;
const EMPTY = new Uint8Array(0);

/**
 * Decodes one binary WebSocket frame sent by a Freenet client into a typed request.
 *
 * Uses the official library's generated accessors over a bounds-checked buffer, so malformed,
 * truncated or random bytes yield `{ kind: 'malformed', reason }`; this function never throws.
 */
export function decodeClientRequest(frame: Uint8Array): DecodedRequest {
  try {
    if (!(frame instanceof Uint8Array)) return malformed('frame is not binary data');
    if (frame.length < MIN_FRAME_BYTES) {
      return malformed(`frame of ${frame.length} bytes is too short for a ClientRequest`);
    }
    const bytes = exactBytes(frame);
    const bb = new CheckedByteBuffer(bytes, READ_BUDGET_BASE + bytes.length * READ_BUDGET_PER_BYTE);
    return readClientRequest(ClientRequest.getRootAsClientRequest(bb));
  } catch (err) {
    return malformed(reasonOf(err));
  }
}

function malformed(reason: string): DecodedRequest {
  return { kind: 'malformed', reason };
}

function reasonOf(err: unknown): string {
  if (err instanceof FrameError) return err.message;
  // RangeError from a view outside the frame, TypeError from a garbled union: all "not a frame".
  if (err instanceof RangeError) return 'a vector overruns the frame';
  return 'not a valid ClientRequest flatbuffer';
}

function readClientRequest(root: ClientRequest): ClientRequestMsg {
  const type = root.clientRequestType();
  switch (type) {
    case ClientRequestType.ContractRequest:
      return readContractRequest(member((o) => root.clientRequest(o), new ContractRequest(), 'contract request'));
    case ClientRequestType.DelegateRequest:
      return readDelegateRequest(member((o) => root.clientRequest(o), new DelegateRequest(), 'delegate request'));
    case ClientRequestType.Disconnect: {
      const d = member((o) => root.clientRequest(o), new Disconnect(), 'disconnect request');
      const cause = d.cause();
      return cause === null ? { kind: 'disconnect' } : { kind: 'disconnect', cause };
    }
    case ClientRequestType.Authenticate: {
      const a = member((o) => root.clientRequest(o), new Authenticate(), 'authenticate request');
      const token = a.token();
      if (token === null) throw new FrameError('authenticate request has no token');
      return { kind: 'authenticate', token };
    }
    default:
      throw new FrameError(`unknown ClientRequest type ${type}`);
  }
}

function readContractRequest(req: ContractRequest): ClientRequestMsg {
  const type = req.contractRequestType();
  switch (type) {
    case ContractRequestType.Put: {
      const put = member((o) => req.contractRequest(o), new Put(), 'put body');
      const container = put.container();
      if (container === null) throw new FrameError('put has no contract');
      return {
        kind: 'put',
        contract: readContractContainer(container),
        state: put.wrappedStateArray() ?? EMPTY,
        relatedContracts: readRelatedContracts(put),
      };
    }
    case ContractRequestType.Get: {
      const get = member((o) => req.contractRequest(o), new Get(), 'get body');
      return { kind: 'get', key: readContractKey(get.key(), 'get'), fetchContract: get.fetchContract() };
    }
    case ContractRequestType.Update: {
      const update = member((o) => req.contractRequest(o), new Update(), 'update body');
      const data = update.data();
      if (data === null) throw new FrameError('update has no data');
      return { kind: 'update', key: readContractKey(update.key(), 'update'), data: readUpdateData(data) };
    }
    case ContractRequestType.Subscribe: {
      const sub = member((o) => req.contractRequest(o), new Subscribe(), 'subscribe body');
      return { kind: 'subscribe', key: readContractKey(sub.key(), 'subscribe'), summary: sub.summaryArray() ?? EMPTY };
    }
    default:
      throw new FrameError(`unknown ContractRequest type ${type}`);
  }
}

function readContractContainer(container: ContractContainer): ContractMsg {
  const type = container.contractType();
  if (type !== ContractType.WasmContractV1) throw new FrameError(`unknown contract type ${type}`);
  const wasm = member((o) => container.contract(o), new WasmContractV1(), 'WASM contract');
  const code = wasm.data();
  if (code === null) throw new FrameError('contract has no code');
  return {
    code: code.dataArray() ?? EMPTY,
    codeHash: code.codeHashArray() ?? EMPTY,
    parameters: wasm.parametersArray() ?? EMPTY,
    key: readContractKey(wasm.key(), 'contract'),
  };
}

function readRelatedContracts(put: Put): RelatedContractMsg[] {
  const related = put.relatedContracts();
  if (related === null) return [];
  const count = related.contractsLength();
  checkCount(count, 'related contracts');
  const out: RelatedContractMsg[] = [];
  for (let i = 0; i < count; i++) {
    const rc = related.contracts(i);
    if (rc === null) throw new FrameError(`related contract ${i} is missing`);
    out.push({ instanceId: readInstanceId(rc.instanceId(), 'related contract'), state: rc.stateArray() ?? EMPTY });
  }
  return out;
}

function readContractKey(key: ContractKey | null, where: string): ContractKeyMsg {
  if (key === null) throw new FrameError(`${where} has no contract key`);
  const instanceId = readInstanceId(key.instance(), `${where} key`);
  const code = key.codeArray();
  if (code === null || code.length === 0) return { instanceId };
  if (code.length !== KEY_BYTES) throw new FrameError(`${where} key has a ${code.length}-byte code hash, expected ${KEY_BYTES}`);
  return { instanceId, codeHash: code };
}

function readInstanceId(id: ContractInstanceId | null, where: string): Uint8Array {
  const bytes = id?.dataArray() ?? null;
  if (bytes === null) throw new FrameError(`${where} has no instance id`);
  if (bytes.length !== KEY_BYTES) {
    throw new FrameError(`${where} has a ${bytes.length}-byte instance id, expected ${KEY_BYTES}`);
  }
  return bytes;
}

function readUpdateData(data: UpdateData): UpdateDataMsg {
  const type = data.updateDataType();
  const body = <T extends Tableish>(table: T): T => member((o) => data.updateData(o), table, 'update data');
  switch (type) {
    case UpdateDataType.StateUpdate:
      return { kind: 'state', state: body(new StateUpdate()).stateArray() ?? EMPTY };
    case UpdateDataType.DeltaUpdate:
      return { kind: 'delta', delta: body(new DeltaUpdate()).deltaArray() ?? EMPTY };
    case UpdateDataType.StateAndDeltaUpdate: {
      const u = body(new StateAndDeltaUpdate());
      return { kind: 'state-and-delta', state: u.stateArray() ?? EMPTY, delta: u.deltaArray() ?? EMPTY };
    }
    case UpdateDataType.RelatedStateUpdate: {
      const u = body(new RelatedStateUpdate());
      return { kind: 'related-state', relatedTo: readInstanceId(u.relatedTo(), 'related update'), state: u.stateArray() ?? EMPTY };
    }
    case UpdateDataType.RelatedDeltaUpdate: {
      const u = body(new RelatedDeltaUpdate());
      return { kind: 'related-delta', relatedTo: readInstanceId(u.relatedTo(), 'related update'), delta: u.deltaArray() ?? EMPTY };
    }
    case UpdateDataType.RelatedStateAndDeltaUpdate: {
      const u = body(new RelatedStateAndDeltaUpdate());
      return {
        kind: 'related-state-and-delta',
        relatedTo: readInstanceId(u.relatedTo(), 'related update'),
        state: u.stateArray() ?? EMPTY,
        delta: u.deltaArray() ?? EMPTY,
      };
    }
    default:
      throw new FrameError(`unknown UpdateData type ${type}`);
  }
}

/**
 * Delegate requests are decoded only as far as a node that runs no delegate code needs: which
 * operation, which delegate, and its parameters. The node still sees them, with the attested
 * contract, so that a node that does run delegates can be put behind the same interface.
 */
function readDelegateRequest(req: DelegateRequest): ClientRequestMsg {
  const type = req.delegateRequestType();
  switch (type) {
    case DelegateRequestType.ApplicationMessages: {
      const m = member((o) => req.delegateRequest(o), new ApplicationMessages(), 'application messages');
      const messageCount = m.inboundLength();
      checkCount(messageCount, 'inbound messages');
      return {
        kind: 'delegate',
        operation: 'application-messages',
        delegateKey: readDelegateKey(m.key(), 'application messages'),
        params: m.paramsArray() ?? EMPTY,
        messageCount,
      };
    }
    case DelegateRequestType.GetSecretRequestType: {
      const g = member((o) => req.delegateRequest(o), new GetSecretRequestType(), 'get secret request');
      return {
        kind: 'delegate',
        operation: 'get-secret-request',
        delegateKey: readDelegateKey(g.key(), 'get secret request'),
        params: g.paramsArray() ?? EMPTY,
      };
    }
    case DelegateRequestType.RegisterDelegate: {
      const r = member((o) => req.delegateRequest(o), new RegisterDelegate(), 'register delegate');
      const container: DelegateContainer | null = r.delegate();
      if (container === null) throw new FrameError('register delegate has no delegate');
      if (container.delegateType() !== DelegateType.WasmDelegateV1) {
        throw new FrameError(`unknown delegate type ${container.delegateType()}`);
      }
      const wasm = member((o) => container.delegate(o), new WasmDelegateV1(), 'WASM delegate');
      return {
        kind: 'delegate',
        operation: 'register-delegate',
        delegateKey: readDelegateKey(wasm.key(), 'register delegate'),
        params: wasm.parametersArray() ?? EMPTY,
      };
    }
    case DelegateRequestType.UnregisterDelegate: {
      const u = member((o) => req.delegateRequest(o), new UnregisterDelegate(), 'unregister delegate');
      return { kind: 'delegate', operation: 'unregister-delegate', delegateKey: readDelegateKey(u.key(), 'unregister delegate') };
    }
    default:
      throw new FrameError(`unknown DelegateRequest type ${type}`);
  }
}

function readDelegateKey(key: DelegateKey | null, where: string): DelegateKeyMsg {
  if (key === null) throw new FrameError(`${where} has no delegate key`);
  return { key: key.keyArray() ?? EMPTY, codeHash: key.codeHashArray() ?? EMPTY };
}

/** A generated table class: what the union accessors initialise in place. */
interface Tableish {
  bb: unknown;
}

/**
 * Reads a union member into `table`. The generated union accessors are typed `any`; this keeps
 * that `any` inside and hands back the concrete table the union type promised.
 */
function member<T extends Tableish>(read: (obj: T) => unknown, table: T, what: string): T {
  if (read(table) === null) throw new FrameError(`${what} is missing`);
  return table;
}

/** A vector's element count must fit in the frame (4 bytes per offset) before we walk it. */
function checkCount(count: number, what: string): void {
  if (!Number.isInteger(count) || count < 0 || count > 0x3fffffff) {
    throw new FrameError(`${what}: bad count ${count}`);
  }
}
