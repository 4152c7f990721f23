import type { ApiBinding, Inbound } from '../server/api-binding.js';
import { decodeClientRequest, encodeErrorResponse, encodeHostResponse } from '../protocol/index.js';
import type { GatewayNode, NodeRequest } from './types.js';

/**
 * Glue between the server's connection seam (`ApiBinding`) and a node, in the flatbuffers
 * encoding: frames are decoded with the official library's generated code, responses encoded
 * with it, and everything but authenticate/disconnect goes to the node.
 */
export function flatbuffersApiBinding(node: GatewayNode): ApiBinding<NodeRequest> {
  return {
    decode(bytes: Uint8Array): Inbound<NodeRequest> {
      const decoded = decodeClientRequest(bytes);
      switch (decoded.kind) {
        case 'malformed':
          return decoded;
        case 'authenticate':
          return { kind: 'authenticate', token: decoded.token };
        case 'disconnect':
          return { kind: 'disconnect' };
        default:
          return { kind: 'request', label: decoded.kind, request: decoded };
      }
    },
    errorResponse: encodeErrorResponse,
    openSession(send) {
      return node.openSession((response) => send(encodeHostResponse(response)));
    },
  };
}
