import type { Logger } from 'pino';
import type { GatewayNode, NodeRequest } from '../node/types.js';
import { decodeClientRequest, encodeHostResponse } from '../protocol/index.js';
import type { ApiBinding, ApiSession, Inbound } from './api-binding.js';

/** The flatbuffers client protocol in front of a node: bytes in, bytes out. */
export class FreenetApiBinding implements ApiBinding<NodeRequest> {
  constructor(
    private readonly node: GatewayNode,
    private readonly log: Logger,
  ) {}

  decode(bytes: Uint8Array): Inbound<NodeRequest> {
    const req = decodeClientRequest(bytes);
    switch (req.kind) {
      case 'malformed':
        return { kind: 'malformed', reason: req.reason };
      case 'authenticate':
        return { kind: 'authenticate', token: req.token };
      case 'disconnect':
        return { kind: 'disconnect' };
      default:
        return { kind: 'request', label: req.kind, request: req };
    }
  }

  errorResponse(message: string): Uint8Array {
    return encodeHostResponse({ kind: 'error', message });
  }

  openSession(send: (bytes: Uint8Array) => void): ApiSession<NodeRequest> {
    const session = this.node.openSession((response) => {
      try {
        send(encodeHostResponse(response));
      } catch (err) {
        this.log.error({ err: err instanceof Error ? err.message : String(err), kind: response.kind }, 'cannot encode response');
      }
    });
    return {
      handle: (request, attested) => session.handle(request, attested),
      close: () => session.close(),
    };
  }
}
