import type { Logger } from 'pino';
import type { WebSocket } from 'ws';
import { tokenFingerprint } from '../tokens/token.js';
import type { AttestedContract, TokenStore } from '../tokens/types.js';
import type { ApiBinding, ApiSession } from './api-binding.js';

/** Close code and reason for an unknown or expired token (§5). */
export const AUTH_INVALID_CODE = 4401;
export const AUTH_INVALID_REASON = 'AUTH_TOKEN_INVALID';

/** What the connection reports; metrics implement it. */
export interface ConnectionEvents {
  connectionOpened(): void;
  connectionClosed(): void;
  message(label: string): void;
  authFailure(): void;
  messageRejected(reason: 'too_large' | 'malformed'): void;
  connectionTerminated(reason: 'heartbeat' | 'send_buffer'): void;
}

/** When to stop reading a client that does not read its answers, and when to give up on it. */
export interface SendBufferLimits {
  /** Queued bytes past which the client's requests are no longer read (until half of it drained). */
  readonly pauseAtBytes: number;
  /** Queued bytes past which the connection is terminated. */
  readonly limitBytes: number;
}

/** Pause point: a client that has not taken 1 MiB of answers need not be sent more yet. */
const PAUSE_AT_BYTES = 1_048_576;
/** Held-back requests past which the socket is paused too (a burst behind a slow Authenticate). */
const BACKLOG_PAUSE = 256;

export function sendBufferLimits(maxSendBufferBytes: number, maxMessageBytes: number): SendBufferLimits {
  // One answer can be as large as a message (a Get of a state put at the limit): never less than two.
  const limitBytes = Math.max(maxSendBufferBytes, 2 * maxMessageBytes);
  return { pauseAtBytes: Math.min(PAUSE_AT_BYTES, limitBytes), limitBytes };
}

export interface ConnectionDeps<R> {
  readonly log: Logger;
  readonly tokens: TokenStore;
  readonly api: ApiBinding<R>;
  readonly events: ConnectionEvents;
  /** Logs a refused token once per fingerprint (bounded memory). */
  readonly warnInvalidToken: (fingerprint: string, how: string) => void;
  readonly onClosed: (conn: ClientConnection<R>) => void;
  readonly sendBuffer: SendBufferLimits;
}

/**
 * One WebSocket client. Owns the token's in-use mark while open: acquired before it was
 * constructed (header/query) or by an `Authenticate` request, released exactly once on close.
 */
export class ClientConnection<R> {
  /** Answered the last ping, or took some of our bytes since; the heartbeat terminates one that did neither. */
  alive = true;
  private token: string | undefined;
  private attested: AttestedContract | undefined;
  private readonly session: ApiSession<R>;
  /**
   * Requests run one after another, so a put is stored before the get that follows it. Most
   * requests are answered synchronously (the embedded node, the memory token store) and run
   * straight from the message event; while one that answers later is pending, the following ones
   * wait in `backlog`. Undefined when nothing is pending.
   */
  private pending: Promise<void> | undefined;
  private closed = false;
  /** Too much is queued for the client (see `send`): its requests wait until it catches up. */
  private sendBlocked = false;
  /** The socket is paused (`ws.pause`): by `sendBlocked`, or by a long backlog. */
  private socketPaused = false;
  /**
   * Requests held back, in arrival order: while one that answers later is pending, or while the
   * client is send-blocked. Pausing the socket stops further reads, but the frames of a chunk
   * already read are still delivered; past BACKLOG_PAUSE held requests the socket is paused too.
   */
  private backlog: Array<{ bytes: Uint8Array; isBinary: boolean }> | undefined;
  /** Made on first use: most connections never log, and a fingerprint costs a SHA-256. */
  private connLogCache: Logger | undefined;

  constructor(
    private readonly ws: WebSocket,
    private readonly deps: ConnectionDeps<R>,
    auth: { token: string; attested: AttestedContract } | undefined,
    readonly id: number,
  ) {
    this.token = auth?.token;
    this.attested = auth?.attested;
    this.session = deps.api.openSession((bytes) => this.send(bytes));
    deps.events.connectionOpened();
    ws.on('pong', () => {
      this.alive = true;
    });
    ws.on('message', (data, isBinary) => this.onMessage(toBytes(data), isBinary));
    ws.on('error', (err: Error & { code?: string }) => {
      if (err.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH' || err.code === 'WS_ERR_UNSUPPORTED_DATA_PAYLOAD_LENGTH') {
        deps.events.messageRejected('too_large');
        this.connLog.warn('message over max-message-bytes; connection closed with 1009');
      } else {
        this.connLog.debug({ err: err.message }, 'websocket error');
      }
    });
    ws.on('close', (code) => this.onClose(code));
  }

  private get connLog(): Logger {
    this.connLogCache ??= this.deps.log.child({
      conn: this.id,
      ...(this.token !== undefined && this.attested !== undefined
        ? { tokenFp: tokenFingerprint(this.token), contract: this.attested.contractId }
        : {}),
    });
    return this.connLogCache;
  }

  get authenticated(): boolean {
    return this.attested !== undefined;
  }

  /**
   * Nothing bounds what a client that stops reading makes the gateway queue (a small Get can
   * answer megabytes; notifications come unasked). Past `pauseAtBytes` its requests are no longer
   * read, so TCP pushes back on it; past `limitBytes` (unasked notifications keep coming) it is
   * terminated.
   */
  private send(bytes: Uint8Array): void {
    if (this.closed || this.ws.readyState !== this.ws.OPEN) return;
    this.ws.send(bytes, this.written);
    const queued = this.ws.bufferedAmount;
    if (queued <= this.deps.sendBuffer.pauseAtBytes) return;
    if (queued > this.deps.sendBuffer.limitBytes) {
      this.connLog.warn({ queuedBytes: queued }, 'client does not read its answers; send buffer over max-send-buffer-bytes, connection terminated');
      this.deps.events.connectionTerminated('send_buffer');
      this.terminate();
    } else if (!this.sendBlocked) {
      this.sendBlocked = true;
      this.updateReading();
    }
  }

  /** A frame reached the socket: read again once the client has taken half of what paused it. */
  private readonly written = (err?: Error): void => {
    // A failed write means the socket is gone (terminated): nothing more to read or answer.
    if (err !== undefined && err !== null) return;
    // The peer is taking our bytes, so it is there: a client busy draining a large answer has its
    // pong stuck behind it (and is not read while send-blocked), but must not count as silent.
    this.alive = true;
    if (!this.sendBlocked || !this.isOpen()) return;
    if (this.ws.bufferedAmount > this.deps.sendBuffer.pauseAtBytes / 2) return;
    this.sendBlocked = false;
    this.drain();
  };

  private isOpen(): boolean {
    return !this.closed && this.ws.readyState === this.ws.OPEN;
  }

  private onMessage(bytes: Uint8Array, isBinary: boolean): void {
    if (this.closed) return;
    if (this.sendBlocked || this.pending !== undefined || (this.backlog !== undefined && this.backlog.length > 0)) {
      (this.backlog ??= []).push({ bytes, isBinary });
      if (this.backlog.length > BACKLOG_PAUSE) this.updateReading();
      return;
    }
    this.handleMessage(bytes, isBinary);
  }

  /** Run held-back requests in order until one answers later or the client is send-blocked. */
  private drain(): void {
    const backlog = this.backlog;
    while (backlog !== undefined && backlog.length > 0 && this.pending === undefined && !this.sendBlocked && this.isOpen()) {
      const m = backlog.shift()!;
      this.handleMessage(m.bytes, m.isBinary);
    }
    this.updateReading();
  }

  /** Read from the socket only while the client is not send-blocked and the backlog is short. */
  private updateReading(): void {
    if (!this.isOpen()) return;
    const pause = this.sendBlocked || (this.backlog !== undefined && this.backlog.length > BACKLOG_PAUSE);
    if (pause === this.socketPaused) return;
    this.socketPaused = pause;
    if (pause) this.ws.pause();
    else this.ws.resume();
  }

  private handleMessage(bytes: Uint8Array, isBinary: boolean): void {
    if (!isBinary) {
      // Text frames are not part of the flatbuffers protocol; answer instead of guessing.
      this.deps.events.message('malformed');
      this.deps.events.messageRejected('malformed');
      this.send(this.deps.api.errorResponse('expected a binary flatbuffers ClientRequest, got a text frame'));
      return;
    }
    let later: void | Promise<void>;
    try {
      later = this.process(bytes);
    } catch (err) {
      this.failed(err);
      return;
    }
    if (later !== undefined) this.wait(later);
  }

  /** Holds back the requests that follow until `work` has settled; a failure does not block them. */
  private wait(work: Promise<void>): void {
    const settled: Promise<void> = work
      .catch((err: unknown) => this.failed(err))
      .then(() => {
        if (this.pending !== settled) return;
        this.pending = undefined;
        this.drain();
      });
    this.pending = settled;
  }

  private failed(err: unknown): void {
    this.connLog.error({ err: err instanceof Error ? err.message : String(err) }, 'request failed');
    this.send(this.deps.api.errorResponse('internal error while handling the request'));
  }

  /** Returns a promise only when the request is answered after returning. */
  private process(bytes: Uint8Array): void | Promise<void> {
    if (this.closed) return;
    if (this.token !== undefined) this.deps.tokens.touch(this.token);
    const inbound = this.deps.api.decode(bytes);
    switch (inbound.kind) {
      case 'malformed':
        this.deps.events.message('malformed');
        this.deps.events.messageRejected('malformed');
        this.send(this.deps.api.errorResponse(`malformed request: ${inbound.reason}`));
        return;
      case 'disconnect':
        this.deps.events.message('disconnect');
        this.ws.close(1000, 'disconnect requested');
        return;
      case 'authenticate':
        this.deps.events.message('authenticate');
        return this.authenticate(inbound.token);
      case 'request':
        this.deps.events.message(inbound.label);
        if (this.deps.log.isLevelEnabled('trace')) this.connLog.trace({ kind: inbound.label, bytes: bytes.length }, 'request');
        return this.session.handle(inbound.request, this.attested);
    }
  }

  private async authenticate(token: string): Promise<void> {
    if (this.token !== undefined) {
      if (token === this.token) return;
      this.send(this.deps.api.errorResponse('connection is already authenticated with another token'));
      return;
    }
    const attested = await this.deps.tokens.acquire(token).catch((err: unknown) => {
      this.connLog.debug({ err: err instanceof Error ? err.message : String(err) }, 'token store unavailable');
      return null;
    });
    if (attested === null) {
      this.ws.close(1013, 'TOKEN_STORE_UNAVAILABLE');
      return;
    }
    if (this.closed) {
      if (attested !== undefined) this.deps.tokens.release(token);
      return;
    }
    if (attested === undefined) {
      this.deps.events.authFailure();
      this.deps.warnInvalidToken(tokenFingerprint(token), 'Authenticate request');
      this.closeInvalid();
      return;
    }
    this.token = token;
    this.attested = attested;
    this.connLogCache = undefined;
  }

  /** Close 4401 and make sure nothing already queued runs. */
  closeInvalid(): void {
    this.closed = true;
    this.ws.close(AUTH_INVALID_CODE, AUTH_INVALID_REASON);
  }

  /** Graceful server shutdown: 1001 Going Away. */
  goingAway(): void {
    this.ws.close(1001, 'server shutting down');
  }

  terminate(): void {
    this.ws.terminate();
  }

  ping(): void {
    this.alive = false;
    try {
      this.ws.ping();
    } catch {
      // The socket is already gone; the close event does the cleanup.
    }
  }

  private onClose(code: number): void {
    const wasClosed = this.closed;
    // Before the token is dropped, so the line still names its fingerprint.
    if (this.deps.log.isLevelEnabled('debug')) this.connLog.debug({ code, invalidated: wasClosed }, 'connection closed');
    this.closed = true;
    this.backlog = undefined;
    this.session.close();
    if (this.token !== undefined) {
      this.deps.tokens.release(this.token);
      this.token = undefined;
    }
    this.deps.events.connectionClosed();
    this.deps.onClosed(this);
  }
}

function toBytes(data: Buffer | ArrayBuffer | Buffer[]): Uint8Array {
  if (Array.isArray(data)) return Buffer.concat(data);
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  return data;
}
