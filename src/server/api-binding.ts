import type { AttestedContract } from '../tokens/types.js';

/**
 * What a connection needs from the wire protocol and the node, seen from the connection: it
 * handles authentication and disconnects itself and hands everything else on. Keeping this
 * seam narrow lets the connection lifecycle be tested and reasoned about without the codec.
 */
export type Inbound<R> =
  | { readonly kind: 'authenticate'; readonly token: string }
  | { readonly kind: 'disconnect' }
  | { readonly kind: 'malformed'; readonly reason: string }
  | { readonly kind: 'request'; readonly label: string; readonly request: R };

export interface ApiSession<R> {
  /** Returns a promise only when the answer comes after returning (see `NodeSession.handle`). */
  handle(request: R, attested: AttestedContract | undefined): void | Promise<void>;
  /** The connection ended: drop subscriptions and anything else held for it. */
  close(): void;
}

export interface ApiBinding<R> {
  decode(bytes: Uint8Array): Inbound<R>;
  /** An encoded `Error` host response. */
  errorResponse(message: string): Uint8Array;
  openSession(send: (bytes: Uint8Array) => void): ApiSession<R>;
}
