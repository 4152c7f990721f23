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
 *
 * Each class is bound to a module constant here rather than re-exported with `export { … } from`:
 * once bundled (scripts/bundle-daemon.mjs), a re-exported CommonJS name becomes a getter that runs
 * on every use, and the codec touches a dozen of them per message.
 */
import * as clientRequest from '@freenetorg/freenet-stdlib/client-request.js';
import * as hostResponse from '@freenetorg/freenet-stdlib/host-response.js';
import * as common from '@freenetorg/freenet-stdlib/common.js';

export const ClientRequest = clientRequest.ClientRequest;
export type ClientRequest = clientRequest.ClientRequest;
export const ClientRequestType = clientRequest.ClientRequestType;
export type ClientRequestType = clientRequest.ClientRequestType;
export const ContractRequest = clientRequest.ContractRequest;
export type ContractRequest = clientRequest.ContractRequest;
export const ContractRequestType = clientRequest.ContractRequestType;
export type ContractRequestType = clientRequest.ContractRequestType;
export const DelegateRequest = clientRequest.DelegateRequest;
export type DelegateRequest = clientRequest.DelegateRequest;
export const DelegateRequestType = clientRequest.DelegateRequestType;
export type DelegateRequestType = clientRequest.DelegateRequestType;
export const Put = clientRequest.Put;
export type Put = clientRequest.Put;
export const Get = clientRequest.Get;
export type Get = clientRequest.Get;
export const Update = clientRequest.Update;
export type Update = clientRequest.Update;
export const Subscribe = clientRequest.Subscribe;
export type Subscribe = clientRequest.Subscribe;
export const Disconnect = clientRequest.Disconnect;
export type Disconnect = clientRequest.Disconnect;
export const Authenticate = clientRequest.Authenticate;
export type Authenticate = clientRequest.Authenticate;
export const RelatedContracts = clientRequest.RelatedContracts;
export type RelatedContracts = clientRequest.RelatedContracts;
export const RelatedContract = clientRequest.RelatedContract;
export type RelatedContract = clientRequest.RelatedContract;
export const ApplicationMessages = clientRequest.ApplicationMessages;
export type ApplicationMessages = clientRequest.ApplicationMessages;
export const GetSecretRequestType = clientRequest.GetSecretRequestType;
export type GetSecretRequestType = clientRequest.GetSecretRequestType;
export const RegisterDelegate = clientRequest.RegisterDelegate;
export type RegisterDelegate = clientRequest.RegisterDelegate;
export const UnregisterDelegate = clientRequest.UnregisterDelegate;
export type UnregisterDelegate = clientRequest.UnregisterDelegate;
export const DelegateKey = clientRequest.DelegateKey;
export type DelegateKey = clientRequest.DelegateKey;
export const DelegateContainer = clientRequest.DelegateContainer;
export type DelegateContainer = clientRequest.DelegateContainer;
export const DelegateType = clientRequest.DelegateType;
export type DelegateType = clientRequest.DelegateType;
export const WasmDelegateV1 = clientRequest.WasmDelegateV1;
export type WasmDelegateV1 = clientRequest.WasmDelegateV1;

export const HostResponse = hostResponse.HostResponse;
export type HostResponse = hostResponse.HostResponse;
export const HostResponseType = hostResponse.HostResponseType;
export type HostResponseType = hostResponse.HostResponseType;
export const ContractResponse = hostResponse.ContractResponse;
export type ContractResponse = hostResponse.ContractResponse;
export const ContractResponseType = hostResponse.ContractResponseType;
export type ContractResponseType = hostResponse.ContractResponseType;
export const PutResponse = hostResponse.PutResponse;
export type PutResponse = hostResponse.PutResponse;
export const GetResponse = hostResponse.GetResponse;
export type GetResponse = hostResponse.GetResponse;
export const UpdateResponse = hostResponse.UpdateResponse;
export type UpdateResponse = hostResponse.UpdateResponse;
export const UpdateNotification = hostResponse.UpdateNotification;
export type UpdateNotification = hostResponse.UpdateNotification;
export const Ok = hostResponse.Ok;
export type Ok = hostResponse.Ok;
export const HostError = hostResponse.Error;
export type HostError = hostResponse.Error;

export const ContractKey = common.ContractKey;
export type ContractKey = common.ContractKey;
export const ContractInstanceId = common.ContractInstanceId;
export type ContractInstanceId = common.ContractInstanceId;
export const ContractCode = common.ContractCode;
export type ContractCode = common.ContractCode;
export const ContractContainer = common.ContractContainer;
export type ContractContainer = common.ContractContainer;
export const ContractType = common.ContractType;
export type ContractType = common.ContractType;
export const WasmContractV1 = common.WasmContractV1;
export type WasmContractV1 = common.WasmContractV1;
export const UpdateData = common.UpdateData;
export type UpdateData = common.UpdateData;
export const UpdateDataType = common.UpdateDataType;
export type UpdateDataType = common.UpdateDataType;
export const StateUpdate = common.StateUpdate;
export type StateUpdate = common.StateUpdate;
export const DeltaUpdate = common.DeltaUpdate;
export type DeltaUpdate = common.DeltaUpdate;
export const StateAndDeltaUpdate = common.StateAndDeltaUpdate;
export type StateAndDeltaUpdate = common.StateAndDeltaUpdate;
export const RelatedStateUpdate = common.RelatedStateUpdate;
export type RelatedStateUpdate = common.RelatedStateUpdate;
export const RelatedDeltaUpdate = common.RelatedDeltaUpdate;
export type RelatedDeltaUpdate = common.RelatedDeltaUpdate;
export const RelatedStateAndDeltaUpdate = common.RelatedStateAndDeltaUpdate;
export type RelatedStateAndDeltaUpdate = common.RelatedStateAndDeltaUpdate;
