import { createReadStream } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { pipeline } from 'node:stream/promises';
import type { Logger } from 'pino';
import { isTokenStoreUnavailable } from '../tokens/redis-errors.js';
import type { TokenStore } from '../tokens/types.js';
import { isContractInstanceId } from './contract-key.js';
import type { HostPolicy } from './host-check.js';
import { readWhole, safeSegments, type WebAppFile, type WebAppSource } from './webapps.js';

export interface HttpDeps {
  readonly log: Logger;
  readonly tokens: TokenStore;
  readonly webApps: WebAppSource;
  readonly hosts: HostPolicy;
  readonly tokenTtlSeconds: number;
  /** Seconds a refused page load is told to wait (the next cleanup run may free room). */
  readonly retryAfterSeconds: number;
  readonly health: () => Promise<Record<string, unknown>>;
  readonly metrics?: () => Promise<{ contentType: string; body: string }>;
  /** Called when a mint is refused at the cap; rate-limits its own logging. */
  readonly onCapacityRefusal: () => void;
  readonly onTokenIssued?: () => void;
}

const WEB_PREFIX = '/v1/contract/web/';

function send(res: ServerResponse, status: number, body: string, headers: Record<string, string | number> = {}): void {
  res.writeHead(status, {
    'Content-Type': 'text/plain; charset=utf-8',
    'Content-Length': Buffer.byteLength(body),
    'X-Content-Type-Options': 'nosniff',
    ...headers,
  });
  res.end(body);
}

const PAGE_HEADERS = {
  'Content-Type': 'text/html; charset=utf-8',
  'Cache-Control': 'no-store',
  // No other site may frame a page that carries a token (clickjacking, token minting).
  'Content-Security-Policy': "frame-ancestors 'self'",
  'X-Frame-Options': 'SAMEORIGIN',
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
} as const;

/**
 * A page load may come from a navigation (any site may link here) but not from another site's
 * script or subresource: browsers say which through Origin and the Sec-Fetch-* headers.
 * "same-site" is another site too: browsers ignore the port, so a dev server on another port of
 * localhost is "same-site" to the gateway, and must not fill `max-tokens` any more than the web.
 */
function pageLoadAllowed(req: IncomingMessage, hosts: HostPolicy): boolean {
  const site = req.headers['sec-fetch-site'];
  const mode = req.headers['sec-fetch-mode'];
  const dest = req.headers['sec-fetch-dest'];
  const foreign = site === 'cross-site' || site === 'same-site';
  if (foreign && mode !== undefined && mode !== 'navigate') return false;
  // A navigation of a frame on another site is that site loading (and driving) the app unseen.
  if (foreign && dest !== undefined && dest !== 'document') return false;
  const origin = req.headers.origin;
  if (origin !== undefined && mode !== 'navigate') return hosts.originAllowed(origin, req.headers.host);
  return true;
}

function injectToken(html: string, token: string): string {
  const script = `<script>window.__FREENET_AUTH_TOKEN__ = "${token}";</script>`;
  const at = html.search(/<\/head\s*>/i);
  if (at >= 0) return html.slice(0, at) + script + html.slice(at);
  // No head element: the script must still run before the page's own scripts.
  const body = html.search(/<body[\s>]/i);
  return body >= 0 ? html.slice(0, body) + script + html.slice(body) : script + html;
}

/** The HTTP side of the gateway (§4). WebSocket upgrades never reach this handler. */
export function createHttpHandler(deps: HttpDeps): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    if (deps.log.isLevelEnabled('trace')) {
      // Path only: a query string may carry a credential.
      res.once('finish', () => deps.log.trace({ method: req.method, path: pathOf(req), status: res.statusCode }, 'http request'));
    }
    handle(deps, req, res).catch((err: unknown) => {
      deps.log.error({ err: err instanceof Error ? err.message : String(err), path: pathOf(req) }, 'http handler failed');
      if (!res.headersSent) send(res, 500, 'internal error\n');
      else res.destroy();
    });
  };
}

/** The path without its query: queries may carry credentials and are never logged. */
export function pathOf(req: IncomingMessage): string {
  let url = req.url ?? '/';
  // Absolute-form request targets (RFC 9112 §3.2.2) carry scheme and authority first.
  if (!url.startsWith('/')) {
    const m = /^[a-z][a-z0-9+.-]*:\/\/[^/?#]*/i.exec(url);
    url = m === null ? url : url.slice(m[0].length) || '/';
  }
  const q = url.indexOf('?');
  return q < 0 ? url : url.slice(0, q);
}

async function handle(deps: HttpDeps, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const path = pathOf(req);
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    send(res, 405, 'method not allowed\n', { Allow: 'GET, HEAD' });
    return;
  }
  if (path === '/healthz') {
    const body = JSON.stringify(await deps.health());
    send(res, 200, body, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' });
    return;
  }
  if (path === '/metrics' && deps.metrics !== undefined) {
    const m = await deps.metrics();
    send(res, 200, m.body, { 'Content-Type': m.contentType, 'Cache-Control': 'no-store' });
    return;
  }
  if (path === '/v1/contract/command' || path === '/v1/contract/command/') {
    send(res, 426, 'this is the WebSocket client API: connect with a WebSocket\n', { Upgrade: 'websocket' });
    return;
  }
  if (!path.startsWith(WEB_PREFIX)) {
    send(res, 404, 'not found\n');
    return;
  }
  // Pages hand out tokens: a rebinding attacker's page must not be able to load one.
  if (!deps.hosts.hostAllowed(req.headers.host)) {
    send(res, 403, 'host not allowed\n');
    return;
  }
  const rest = path.slice(WEB_PREFIX.length);
  const slash = rest.indexOf('/');
  const key = slash < 0 ? rest : rest.slice(0, slash);
  if (!isContractInstanceId(key)) {
    send(res, 400, 'invalid contract key: expected a base58 contract instance id of 32 bytes\n');
    return;
  }
  const app = await deps.webApps.find(key);
  if (app === undefined) {
    send(res, 404, 'unknown contract: no web app for this key\n');
    return;
  }
  if (slash < 0) {
    // Relative asset URLs in the page only work under the trailing slash.
    send(res, 301, 'moved\n', { Location: `${WEB_PREFIX}${key}/` });
    return;
  }
  const segments = safeSegments(rest.slice(slash + 1));
  if (segments === undefined) {
    send(res, 400, 'invalid path\n');
    return;
  }
  // The page itself, however it is named, always carries a fresh token.
  if (segments.length === 0 || (segments.length === 1 && segments[0] === 'index.html')) {
    await servePage(deps, key, app, req, res);
    return;
  }
  const file = await app.file(segments);
  if (file === undefined) {
    send(res, 404, 'not found\n');
    return;
  }
  serveFile(file, req, res);
}

/** Files on disk are streamed: twenty slow readers of a large file must not hold twenty copies. */
function serveFile(file: WebAppFile, req: IncomingMessage, res: ServerResponse): void {
  const size = file.kind === 'buffer' ? file.body.length : file.size;
  res.writeHead(200, {
    'Content-Type': file.contentType,
    'Content-Length': size,
    'X-Content-Type-Options': 'nosniff',
  });
  if (req.method === 'HEAD') {
    res.end();
  } else if (file.kind === 'buffer') {
    res.end(file.body);
  } else {
    pipeline(createReadStream(file.path), res).catch(() => res.destroy());
  }
}

async function servePage(
  deps: HttpDeps,
  key: string,
  app: NonNullable<Awaited<ReturnType<WebAppSource['find']>>>,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const indexFile = await app.file(['index.html']);
  const index = indexFile === undefined ? undefined : await readWhole(indexFile);
  if (index === undefined) {
    send(res, 404, 'web app has no index.html (or it is larger than 8 MiB)\n');
    return;
  }
  if (!pageLoadAllowed(req, deps.hosts)) {
    // Another site's script may not mint tokens (it could exhaust max-tokens for everyone).
    send(res, 403, 'page load from another site refused\n');
    return;
  }
  if (req.method === 'HEAD') {
    // A token minted for a HEAD request could never reach a page: mint nothing.
    res.writeHead(200, { ...PAGE_HEADERS });
    res.end();
    return;
  }
  let minted;
  try {
    minted = await deps.tokens.mint(key);
  } catch (err) {
    if (!isTokenStoreUnavailable(err)) throw err;
    // The store logs the outage once per episode; a page load only gets told to come back.
    send(res, 503, 'token store unavailable; try again later\n', { 'Retry-After': 5, 'Cache-Control': 'no-store' });
    return;
  }
  if (!minted.ok) {
    deps.onCapacityRefusal();
    send(res, 503, 'too many live tokens; try again later\n', {
      'Retry-After': deps.retryAfterSeconds,
      'Cache-Control': 'no-store',
    });
    return;
  }
  deps.onTokenIssued?.();
  const token = minted.token;
  const html = Buffer.from(injectToken(index.toString('utf8'), token), 'utf8');
  res.writeHead(200, {
    ...PAGE_HEADERS,
    'Content-Length': html.length,
    Authorization: `Bearer ${token}`,
    // Not HttpOnly: the official client library reads it from document.cookie.
    'Set-Cookie': `authorization=Bearer ${token}; Path=${WEB_PREFIX}${key}; SameSite=Strict; Max-Age=${deps.tokenTtlSeconds}`,
  });
  res.end(html);
}
