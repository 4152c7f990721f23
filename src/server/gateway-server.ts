import { createServer, ServerResponse, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { WebSocketServer } from 'ws';
import { CleanupLoop } from '../tokens/cleanup-loop.js';
import { isTokenStoreUnavailable } from '../tokens/redis-errors.js';
import type { AttestedContract, TokenStore } from '../tokens/types.js';
import type { ApiBinding } from './api-binding.js';
import { AuthWarningLimiter } from './auth-warnings.js';
import {
  AUTH_INVALID_CODE,
  AUTH_INVALID_REASON,
  ClientConnection,
  sendBufferLimits,
  type ConnectionEvents,
  type SendBufferLimits,
} from './connection.js';
import { HostPolicy } from './host-check.js';
import { createHttpHandler } from './http-routes.js';
import type { WebAppSource } from './webapps.js';
import { upgrade, type UpgradeDeps, type UpgradeOutcome } from './ws-upgrade.js';

/** Everything the server reports; the metrics implement it, tests may pass a no-op. */
export interface GatewayEvents extends ConnectionEvents {
  tokenIssued(): void;
  tokenRefused(): void;
  cleanupRun(durationMs: number): void;
}

export const NO_EVENTS: GatewayEvents = {
  connectionOpened() {},
  connectionClosed() {},
  message() {},
  authFailure() {},
  messageRejected() {},
  connectionTerminated() {},
  tokenIssued() {},
  tokenRefused() {},
  cleanupRun() {},
};

export interface GatewayServerOptions<R> {
  readonly log: Logger;
  readonly bindAddress: string;
  readonly port: number;
  readonly allowedHosts: readonly string[];
  readonly tokenTtlSeconds: number;
  readonly cleanupIntervalSeconds: number;
  readonly heartbeatIntervalSeconds: number;
  readonly maxMessageBytes: number;
  /** Bytes queued for one client past which it is terminated (raised to 2 × maxMessageBytes). */
  readonly maxSendBufferBytes: number;
  readonly tokens: TokenStore;
  /** `tokens.acquire` without a promise, when the store can answer without I/O (see UpgradeDeps). */
  readonly acquireNow?: ((token: string) => AttestedContract | undefined) | undefined;
  readonly webApps: WebAppSource;
  readonly api: ApiBinding<R>;
  readonly events?: GatewayEvents;
  readonly metrics?: () => Promise<{ contentType: string; body: string }>;
  readonly version: string;
}

/**
 * One port for HTTP and the WebSocket client API. Owns the connections, the heartbeat and
 * the token cleanup loop, and takes them all down in `stop`.
 */
export class GatewayServer<R> {
  private readonly http: Server;
  private readonly wss: WebSocketServer;
  private readonly connections = new Set<ClientConnection<R>>();
  private readonly cleanup: CleanupLoop;
  private readonly warnings = new AuthWarningLimiter();
  private readonly events: GatewayEvents;
  private readonly sendBuffer: SendBufferLimits;
  private heartbeat: NodeJS.Timeout | undefined;
  private accepting = true;
  private nextConnId = 1;
  private readonly startedAt = process.hrtime.bigint();
  private refusalsSinceLog = 0;
  private lastRefusalLog = -Infinity;

  constructor(private readonly opts: GatewayServerOptions<R>) {
    this.events = opts.events ?? NO_EVENTS;
    this.sendBuffer = sendBufferLimits(opts.maxSendBufferBytes, opts.maxMessageBytes);
    const hosts = new HostPolicy(opts.bindAddress, opts.allowedHosts);
    // maxPayload makes ws close an oversized message with 1009 before buffering all of it.
    this.wss = new WebSocketServer({ noServer: true, maxPayload: opts.maxMessageBytes, clientTracking: false });
    this.http = createServer(
      createHttpHandler({
        log: opts.log,
        tokens: opts.tokens,
        webApps: opts.webApps,
        hosts,
        tokenTtlSeconds: opts.tokenTtlSeconds,
        retryAfterSeconds: opts.cleanupIntervalSeconds,
        health: () => this.health(),
        ...(opts.metrics !== undefined ? { metrics: opts.metrics } : {}),
        onCapacityRefusal: () => this.capacityRefused(),
        onTokenIssued: () => this.events.tokenIssued(),
      }),
    );
    const httpHandler = this.http.listeners('request')[0] as (req: IncomingMessage, res: ServerResponse) => void;
    // Made once, not per upgrade: connection set-up is one of the hot paths (issue 6).
    const upgradeDeps: UpgradeDeps = {
      log: opts.log,
      hosts,
      tokens: opts.tokens,
      acquireNow: opts.acquireNow,
      wss: this.wss,
      accepting: () => this.accepting,
    };
    const upgraded = (ws: import('ws').WebSocket, outcome: UpgradeOutcome): void => {
      if (outcome.kind === 'invalid-token') {
        this.events.authFailure();
        this.warnInvalidToken(outcome.fingerprint, 'upgrade');
        // The refused client may still send frames before it reads the close (an oversized or
        // unmasked one makes `ws` emit 'error'); without a listener that error would end the process.
        ws.on('error', () => ws.terminate());
        ws.close(AUTH_INVALID_CODE, AUTH_INVALID_REASON);
        return;
      }
      this.accept(ws, outcome.kind === 'authenticated' ? { token: outcome.token, attested: outcome.attested } : undefined);
    };
    this.http.on('upgrade', (req, socket, head: Buffer) => {
      socket.on('error', () => socket.destroy());
      if ((req.headers.upgrade ?? '').toLowerCase() !== 'websocket') {
        // Upgrade: h2c and friends: ignore the offer and answer as plain HTTP/1.1.
        serveAsPlainHttp(req, socket as Socket, httpHandler);
        return;
      }
      try {
        upgrade(upgradeDeps, req, socket, head, upgraded)?.catch((err: unknown) => this.upgradeFailed(socket, err));
      } catch (err) {
        this.upgradeFailed(socket, err);
      }
    });
    this.cleanup = new CleanupLoop({
      intervalMs: opts.cleanupIntervalSeconds * 1000,
      sweep: () => opts.tokens.sweep(),
      onRun: (run) => {
        this.events.cleanupRun(run.durationMs);
        if (run.removed > 0) {
          opts.log.info(
            { removed: run.removed, remaining: run.remaining, durationMs: Math.round(run.durationMs * 100) / 100 },
            'expired tokens removed',
          );
        }
      },
      onError: (err) => {
        // A shared store that is away is logged once per episode by the store itself.
        const level = isTokenStoreUnavailable(err) ? 'debug' : 'error';
        opts.log[level]({ err: err instanceof Error ? err.message : String(err) }, 'token cleanup failed');
      },
    });
  }

  private accept(ws: import('ws').WebSocket, auth: ConstructorParameters<typeof ClientConnection<R>>[2]): void {
    const conn = new ClientConnection<R>(
      ws,
      {
        log: this.opts.log,
        tokens: this.opts.tokens,
        api: this.opts.api,
        events: this.events,
        warnInvalidToken: (fp, how) => this.warnInvalidToken(fp, how),
        onClosed: (c) => this.connections.delete(c),
        sendBuffer: this.sendBuffer,
      },
      auth,
      this.nextConnId++,
    );
    this.connections.add(conn);
  }

  private upgradeFailed(socket: Duplex, err: unknown): void {
    this.opts.log.error({ err: err instanceof Error ? err.message : String(err) }, 'upgrade failed');
    socket.destroy();
  }

  private warnInvalidToken(fingerprint: string, how: string): void {
    const warn = this.warnings.shouldWarn(fingerprint);
    const dropped = this.warnings.takeDropped();
    if (dropped > 0) {
      this.opts.log.warn({ tokens: dropped }, 'more refusals of unknown or expired auth tokens (4401) were not logged one by one (rate limit)');
    }
    if (warn) {
      this.opts.log.warn({ tokenFp: fingerprint, via: how }, 'unknown or expired auth token; connection closed with 4401');
    }
  }

  /** At the cap every page load is refused; say so once per cleanup interval, not per request. */
  private capacityRefused(): void {
    this.events.tokenRefused();
    this.refusalsSinceLog++;
    const now = performance.now();
    if (now - this.lastRefusalLog >= this.opts.cleanupIntervalSeconds * 1000) {
      this.opts.log.warn({ refused: this.refusalsSinceLog }, 'token cap reached (max-tokens); page loads refused with 503');
      this.refusalsSinceLog = 0;
      this.lastRefusalLog = now;
    }
  }

  async health(): Promise<Record<string, unknown>> {
    // A shared store that is away makes the gateway degraded, not its health check broken.
    const tokens = await this.opts.tokens.size().catch(() => null);
    return {
      status: !this.accepting ? 'stopping' : tokens === null ? 'degraded' : 'ok',
      version: this.opts.version,
      tokens,
      tokenStore: tokens === null ? 'unavailable' : 'ok',
      connections: this.connections.size,
      uptimeSeconds: Math.floor(Number(process.hrtime.bigint() - this.startedAt) / 1e9),
    };
  }

  get connectionCount(): number {
    return this.connections.size;
  }

  async start(): Promise<AddressInfo> {
    await new Promise<void>((resolve, reject) => {
      this.http.once('error', reject);
      this.http.listen(this.opts.port, this.opts.bindAddress, () => {
        this.http.off('error', reject);
        resolve();
      });
    });
    this.cleanup.start();
    const period = this.opts.heartbeatIntervalSeconds * 1000;
    this.heartbeat = setInterval(() => {
      for (const conn of this.connections) {
        // No pong since the last ping: a half-open socket that will never fire close by itself.
        if (!conn.alive) {
          this.opts.log.info({ conn: conn.id }, 'no answer to the last ping; connection terminated');
          this.events.connectionTerminated('heartbeat');
          conn.terminate();
        } else {
          conn.ping();
        }
      }
    }, period);
    this.heartbeat.unref();
    return this.http.address() as AddressInfo;
  }

  /**
   * Graceful stop: refuse new work, send 1001 to every client, stop the timers, and terminate
   * whoever has not finished the close handshake when `graceMs` runs out.
   */
  async stop(graceMs: number): Promise<void> {
    this.accepting = false;
    if (this.heartbeat !== undefined) clearInterval(this.heartbeat);
    const cleanupStopped = this.cleanup.stop();
    const httpClosed = new Promise<void>((resolve) => this.http.close(() => resolve()));
    this.http.closeIdleConnections();
    for (const conn of this.connections) conn.goingAway();
    const deadline = Date.now() + graceMs;
    const sleepUntilDeadline = () => new Promise<void>((r) => setTimeout(r, Math.max(0, deadline - Date.now())));
    while (this.connections.size > 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 25));
    }
    for (const conn of this.connections) {
      this.opts.log.info({ conn: conn.id }, 'terminating a connection that did not finish closing in time');
      conn.terminate();
    }
    // Responses still being sent (a large file) get the rest of the grace period, not a cut.
    await Promise.race([httpClosed, sleepUntilDeadline()]);
    this.http.closeAllConnections();
    await Promise.race([httpClosed, new Promise((r) => setTimeout(r, 250))]);
    await Promise.race([cleanupStopped, new Promise((r) => setTimeout(r, 1000))]);
  }
}

/** Answers a request that came with a non-WebSocket Upgrade header through the normal handler. */
function serveAsPlainHttp(
  req: IncomingMessage,
  socket: Socket,
  handler: (req: IncomingMessage, res: ServerResponse) => void,
): void {
  const res = new ServerResponse(req);
  res.shouldKeepAlive = false;
  res.assignSocket(socket);
  res.once('finish', () => {
    res.detachSocket(socket);
    socket.end();
  });
  handler(req, res);
}
