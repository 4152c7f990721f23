/**
 * The one place that imports the flatbuffers code of the official client library.
 *
 * `@freenetorg/freenet-stdlib` 0.0.8 (MIT OR Apache-2.0, The Freenet Foundation) ships the
 * classes that `flatc --ts --gen-object-api` generated from Freenet's schemas
 * (`client_request.fbs`, `host_response.fbs`, `common.fbs`) as compiled CommonJS with `.d.ts`
 * files — not as TypeScript source, whatever its `main` field says. Importing them straight from
 * the package means the gateway reads and writes frames with exactly the code that
 * `FreenetWsApi` uses, with no copy to keep in sync: the lockfile pins the version. Node's ESM
 * loader sees their named exports (cjs-module-lexer), and tsc under NodeNext types them from the
 * `.d.ts` files next to them. The `flatbuffers` runtime they require is pinned to the same major
 * (23) at the top level so both sides share one copy.
 */
export {
  ClientRequest,
  ClientRequestType,
  ContractRequest,
  ContractRequestType,
  DelegateRequest,
  DelegateRequestType,
  Put,
  Get,
  Update,
  Subscribe,
  Disconnect,
  Authenticate,
  RelatedContracts,
  RelatedContract,
  ApplicationMessages,
  GetSecretRequestType,
  RegisterDelegate,
  UnregisterDelegate,
  DelegateKey,
  DelegateContainer,
  DelegateType,
  WasmDelegateV1,
} from '@freenetorg/freenet-stdlib/client-request.js';

export {
  HostResponse,
  HostResponseType,
  ContractResponse,
  ContractResponseType,
  PutResponse,
  GetResponse,
  UpdateResponse,
  UpdateNotification,
  Ok,
  Error as HostError,
} from '@freenetorg/freenet-stdlib/host-response.js';

export {
  ContractKey,
  ContractInstanceId,
  ContractCode,
  ContractContainer,
  ContractType,
  WasmContractV1,
  UpdateData,
  UpdateDataType,
  StateUpdate,
  DeltaUpdate,
  StateAndDeltaUpdate,
  RelatedStateUpdate,
  RelatedDeltaUpdate,
  RelatedStateAndDeltaUpdate,
} from '@freenetorg/freenet-stdlib/common.js';
