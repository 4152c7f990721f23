/** The Freenet client protocol (flatbuffers encoding), as `@freenetorg/freenet-stdlib` speaks it. */
export { decodeClientRequest } from './decode-request.js';
export { encodeHostResponse, encodeErrorResponse, errorResponse } from './encode-response.js';
export * from './types.js';
