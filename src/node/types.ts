import type { AttestedContract } from '../tokens/types.js';
import type { ClientRequestMsg, HostResponse } from '../protocol/types.js';

export type { AttestedContract, HostResponse };

/**
 * What the gateway hands its node: every request except the two the connection handles itself
 * (`authenticate` binds the connection to a token; `disconnect` closes it).
 */
export type NodeRequest = Exclude<ClientRequestMsg, { kind: 'authenticate' } | { kind: 'disconnect' }>;

/** One client connection, as the node sees it. */
export interface NodeSession {
  /**
   * Handles one request. Answers (and later notifications) go to the session's `send`.
   * A node that answers before returning returns nothing; one that answers later returns a
   * promise that settles once it has. The gateway starts the connection's next request only
   * then, so a node that can answer synchronously saves every request a trip through the
   * microtask queue. `attested` is the contract the connection's token was minted for,
   * undefined on a connection without a token.
   */
  handle(request: NodeRequest, attested: AttestedContract | undefined): void | Promise<void>;
  /** The connection ended: its subscriptions end, and nothing more is sent. Idempotent. */
  close(): void;
}

/** The files of a web app stored in a contract's state (§6), by relative path. */
export interface WebAppFiles {
  /** `index.html`, `assets/app.js`, … : normalised, never absolute, never with `..`. */
  readonly files: ReadonlyMap<string, Uint8Array>;
  /** The container's metadata bytes (opaque; often empty). */
  readonly metadata: Uint8Array;
  /** State version the files were unpacked from. */
  readonly stateVersion: number;
}

/**
 * The one small interface between the gateway and its node (§6): requests plus the attested
 * contract in, responses and notifications out. The embedded node implements it in-process; a
 * remote node could implement it over the network.
 */
export interface GatewayNode {
  openSession(send: (response: HostResponse) => void): NodeSession;
  /**
   * The web app held in the state of the contract with this base58 instance id, or undefined
   * when there is no such contract or its state is not a usable web-app container.
   */
  webApp(contractId: string): Promise<WebAppFiles | undefined>;
  close(): Promise<void>;
}

/** The logging the node does; pino's Logger fits. The node never sees tokens, so logs none. */
export interface NodeLogger {
  debug(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}
