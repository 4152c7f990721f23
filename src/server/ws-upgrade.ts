import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import type { WebSocketServer } from 'ws';
import { isWellFormedToken, tokenFingerprint } from '../tokens/token.js';
import type { AttestedContract, TokenStore } from '../tokens/types.js';
import type { HostPolicy } from './host-check.js';
import { pathOf } from './http-routes.js';

export const COMMAND_PATHS: ReadonlySet<string> = new Set(['/v1/contract/command', '/v1/contract/command/']);
export const SUPPORTED_ENCODINGS: ReadonlySet<string> = new Set(['flatbuffers']);

/** The outcome of checking an upgrade request before the WebSocket handshake. */
export type UpgradeDecision =
  | { readonly ok: false; readonly status: number; readonly message: string }
  | { readonly ok: true; readonly token: string | undefined };

function headerValue(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

/** Printable and short, for echoing a client's value in an error. */
function shown(s: string): string {
  return JSON.stringify(s.length > 40 ? `${s.slice(0, 40)}…` : s);
}

/**
 * Everything that can be decided from the request line and headers alone: path, Host/Origin
 * (DNS rebinding), encoding, and where the token is. Resolving the token comes after.
 */
export function checkUpgrade(req: IncomingMessage, hosts: HostPolicy): UpgradeDecision {
  const path = pathOf(req);
  if (!COMMAND_PATHS.has(path)) return { ok: false, status: 404, message: 'not found' };
  const host = headerValue(req.headers.host);
  if (!hosts.hostAllowed(host)) return { ok: false, status: 403, message: 'host not allowed' };
  if (!hosts.originAllowed(headerValue(req.headers.origin), host)) {
    return { ok: false, status: 403, message: 'origin not allowed' };
  }
  const rawUrl = req.url ?? '/';
  const q = rawUrl.indexOf('?');
  const query = new URLSearchParams(q < 0 ? '' : rawUrl.slice(q + 1));
  const encoding = headerValue(req.headers['encoding-protocol']) ?? query.get('encodingProtocol') ?? 'flatbuffers';
  if (!SUPPORTED_ENCODINGS.has(encoding)) {
    return { ok: false, status: 400, message: `unsupported encoding protocol ${shown(encoding)}; supported: flatbuffers` };
  }
  const auth = headerValue(req.headers.authorization);
  let token: string | undefined;
  if (auth !== undefined) {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(auth);
    if (m === null) return { ok: false, status: 400, message: 'malformed Authorization header; expected "Bearer <token>"' };
    token = m[1];
  } else {
    token = query.get('authToken') ?? undefined;
  }
  return { ok: true, token: token === '' ? undefined : token };
}

export function rejectUpgrade(socket: Duplex, status: number, message: string, extra: Record<string, string> = {}): void {
  const reason = { 400: 'Bad Request', 403: 'Forbidden', 404: 'Not Found', 503: 'Service Unavailable' }[status] ?? 'Error';
  const body = `${message}\n`;
  const headers = Object.entries({
    'Content-Type': 'text/plain; charset=utf-8',
    'Content-Length': String(Buffer.byteLength(body)),
    Connection: 'close',
    ...extra,
  })
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join('');
  if (socket.writable) socket.end(`HTTP/1.1 ${status} ${reason}\r\n${headers}\r\n${body}`);
  else socket.destroy();
}

export interface UpgradeDeps {
  readonly log: Logger;
  readonly hosts: HostPolicy;
  readonly tokens: TokenStore;
  /**
   * `tokens.acquire` without the promise, for a store that answers without I/O (the memory
   * store). The upgrade then completes inside the 'upgrade' event instead of a microtask later,
   * and needs no promise per connection. Must mark the token in use exactly like `acquire`.
   */
  readonly acquireNow?: ((token: string) => AttestedContract | undefined) | undefined;
  readonly wss: WebSocketServer;
  readonly accepting: () => boolean;
}

export type UpgradeOutcome =
  | { readonly kind: 'authenticated'; readonly token: string; readonly attested: AttestedContract }
  | { readonly kind: 'anonymous' }
  | { readonly kind: 'invalid-token'; readonly fingerprint: string };

const ANONYMOUS: UpgradeOutcome = { kind: 'anonymous' };

/**
 * Resolves the token before the handshake completes, so no frame of a connection with a bad
 * token can be read before it is closed with 4401. Calls `done` with the open socket. Returns a
 * promise only when the token store had to be asked asynchronously.
 */
export function upgrade(
  deps: UpgradeDeps,
  req: IncomingMessage,
  socket: Duplex,
  head: Buffer,
  done: (ws: import('ws').WebSocket, outcome: UpgradeOutcome) => void,
): void | Promise<void> {
  if (!deps.accepting()) {
    rejectUpgrade(socket, 503, 'shutting down');
    return;
  }
  const decision = checkUpgrade(req, deps.hosts);
  if (!decision.ok) {
    deps.log.info({ path: pathOf(req), status: decision.status }, `websocket upgrade refused: ${decision.message}`);
    rejectUpgrade(socket, decision.status, decision.message);
    return;
  }
  if (deps.log.isLevelEnabled('trace')) {
    deps.log.trace({ path: pathOf(req), withToken: decision.token !== undefined }, 'websocket upgrade');
  }
  const token = decision.token;
  if (token === undefined) return handshake(deps, req, socket, head, done, ANONYMOUS);
  // Garbage that cannot be a token is refused without touching the store.
  if (!isWellFormedToken(token)) return handshake(deps, req, socket, head, done, resolved(token, undefined));
  if (deps.acquireNow !== undefined) return handshake(deps, req, socket, head, done, resolved(token, deps.acquireNow(token)));
  return deps.tokens.acquire(token).then(
    (attested) => handshake(deps, req, socket, head, done, resolved(token, attested)),
    (err: unknown) => {
      // The store logs each outage once; per-request lines would flood during one.
      deps.log.debug({ err: err instanceof Error ? err.message : String(err) }, 'token store unavailable; upgrade refused');
      rejectUpgrade(socket, 503, 'token store unavailable; try again later', { 'Retry-After': '5' });
    },
  );
}

function resolved(token: string, attested: AttestedContract | undefined): UpgradeOutcome {
  return attested === undefined
    ? { kind: 'invalid-token', fingerprint: tokenFingerprint(token) }
    : { kind: 'authenticated', token, attested };
}

function handshake(
  deps: UpgradeDeps,
  req: IncomingMessage,
  socket: Duplex,
  head: Buffer,
  done: (ws: import('ws').WebSocket, outcome: UpgradeOutcome) => void,
  outcome: UpgradeOutcome,
): void {
  if (socket.destroyed) {
    if (outcome.kind === 'authenticated') deps.tokens.release(outcome.token);
    return;
  }
  // ws answers a broken handshake itself without calling back; the in-use mark must not leak then.
  let upgraded = false;
  if (outcome.kind === 'authenticated') {
    const held = outcome.token;
    socket.once('close', () => {
      if (!upgraded) deps.tokens.release(held);
    });
  }
  deps.wss.handleUpgrade(req, socket, head, (ws) => {
    upgraded = true;
    done(ws, outcome);
  });
}
