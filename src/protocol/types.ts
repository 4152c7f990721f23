/**
 * Typed shapes of the Freenet client protocol (the flatbuffers encoding that
 * `@freenetorg/freenet-stdlib` 0.0.8 speaks), as the gateway and its node see them.
 *
 * Byte fields are `Uint8Array`s. In decoded requests they are views into a private copy of the
 * frame, so they stay valid and unshared after decoding; nothing here is a `number[]` as in the
 * library's object API, because states may be megabytes.
 */

/** Contract instance ids, code hashes and delegate keys are 32 bytes (BLAKE3 digests). */
export const KEY_BYTES = 32;

/**
 * A contract key as it travels on the wire: the instance id, and the code hash when the sender
 * knows it. Requests built with `ContractKey.fromInstanceId` carry no code hash.
 */
export interface ContractKeyMsg {
  readonly instanceId: Uint8Array;
  readonly codeHash?: Uint8Array | undefined;
}

/** A WASM contract (the only container type of the protocol): code, parameters and its key. */
export interface ContractMsg {
  readonly code: Uint8Array;
  /** The hash the sender put next to the code (BLAKE3 of the code, if the sender is honest). */
  readonly codeHash: Uint8Array;
  readonly parameters: Uint8Array;
  readonly key: ContractKeyMsg;
}

export type UpdateDataMsg =
  | { readonly kind: 'state'; readonly state: Uint8Array }
  | { readonly kind: 'delta'; readonly delta: Uint8Array }
  | { readonly kind: 'state-and-delta'; readonly state: Uint8Array; readonly delta: Uint8Array }
  | { readonly kind: 'related-state'; readonly relatedTo: Uint8Array; readonly state: Uint8Array }
  | { readonly kind: 'related-delta'; readonly relatedTo: Uint8Array; readonly delta: Uint8Array }
  | {
      readonly kind: 'related-state-and-delta';
      readonly relatedTo: Uint8Array;
      readonly state: Uint8Array;
      readonly delta: Uint8Array;
    };

export interface RelatedContractMsg {
  readonly instanceId: Uint8Array;
  readonly state: Uint8Array;
}

export interface DelegateKeyMsg {
  readonly key: Uint8Array;
  readonly codeHash: Uint8Array;
}

export type DelegateOperation =
  | 'application-messages'
  | 'get-secret-request'
  | 'register-delegate'
  | 'unregister-delegate';

/** Requests from a client, one variant per thing a client can ask. */
export type ClientRequestMsg =
  | {
      readonly kind: 'put';
      readonly contract: ContractMsg;
      readonly state: Uint8Array;
      readonly relatedContracts: readonly RelatedContractMsg[];
    }
  | { readonly kind: 'get'; readonly key: ContractKeyMsg; readonly fetchContract: boolean }
  | { readonly kind: 'update'; readonly key: ContractKeyMsg; readonly data: UpdateDataMsg }
  | { readonly kind: 'subscribe'; readonly key: ContractKeyMsg; readonly summary: Uint8Array }
  | {
      readonly kind: 'delegate';
      readonly operation: DelegateOperation;
      /** The delegate addressed, where the request names one. */
      readonly delegateKey?: DelegateKeyMsg | undefined;
      /** Delegate parameters, where the request carries them. */
      readonly params?: Uint8Array | undefined;
      /** Number of inbound messages of an `application-messages` request. */
      readonly messageCount?: number | undefined;
    }
  | { readonly kind: 'disconnect'; readonly cause?: string | undefined }
  | { readonly kind: 'authenticate'; readonly token: string };

export type ClientRequestKind = ClientRequestMsg['kind'];

/** What the decoder returns: a request, or why the frame is not one. Never an exception. */
export type DecodedRequest = ClientRequestMsg | { readonly kind: 'malformed'; readonly reason: string };

/** Responses and notifications to a client. */
export type HostResponseMsg =
  | { readonly kind: 'put-response'; readonly key: ContractKeyMsg }
  | {
      readonly kind: 'get-response';
      readonly key: ContractKeyMsg;
      /** Present when the request asked for the contract (`fetchContract`). */
      readonly contract?: ContractMsg | undefined;
      readonly state: Uint8Array;
    }
  | { readonly kind: 'update-response'; readonly key: ContractKeyMsg; readonly summary: Uint8Array }
  | { readonly kind: 'update-notification'; readonly key: ContractKeyMsg; readonly update: UpdateDataMsg }
  | { readonly kind: 'ok'; readonly message: string }
  | { readonly kind: 'error'; readonly message: string };

/** Short alias used by the node interface. */
export type HostResponse = HostResponseMsg;
