import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * Prometheus metrics for `GET /metrics` (§4).
 *
 * Every label value comes from a small closed set fixed here, so the number of series is bounded
 * whatever clients send, and nothing a client controls — above all a token (§3) — can ever become
 * a label: an unknown value is counted as `other`.
 */

/** Request kinds counted by `node_gateway_messages_total{type}`. */
export const MESSAGE_KINDS = [
  'put',
  'get',
  'update',
  'subscribe',
  'delegate',
  'disconnect',
  'authenticate',
  'malformed',
  'other',
] as const;
export type MessageKind = (typeof MESSAGE_KINDS)[number];

/** Reasons counted by `node_gateway_messages_rejected_total{reason}`. */
export const REJECT_REASONS = [
  /** Over `max-message-bytes`; the connection is closed with 1009 (§5). */
  'too_large',
  /** Could not be decoded; answered with an Error, the connection stays open (§5). */
  'malformed',
  /** Arrived on a connection whose token was refused (4401) or is no longer valid. */
  'unauthenticated',
  /** Arrived while the gateway was shutting down (§7). */
  'shutting_down',
  'other',
] as const;
export type RejectReason = (typeof REJECT_REASONS)[number];

/** Reasons counted by `node_gateway_connections_terminated_total{reason}`. */
export const TERMINATE_REASONS = [
  /** No pong to the previous ping (§5). */
  'heartbeat',
  /** More than `max-send-buffer-bytes` queued for a client that does not read. */
  'send_buffer',
] as const;
export type TerminateReason = (typeof TERMINATE_REASONS)[number];

/**
 * Buckets for `node_gateway_cleanup_run_duration_seconds`: 0.1 ms to 10 s, roughly 1-2.5-5 per
 * decade. A sweep that removes nothing takes microseconds; a mass expiry of a million tokens,
 * sliced to yield to the event loop, takes seconds.
 */
export const CLEANUP_DURATION_BUCKETS_SECONDS: readonly number[] = [
  0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
];

/** Values read at scrape time, so the gauges cannot drift from the truth. */
export interface MetricsSources {
  /** Live tokens held (the token store's size). May be async (Redis, §8). */
  readonly liveTokens: () => number | Promise<number>;
  /** Open WebSocket connections. */
  readonly connections: () => number;
  /**
   * Tokens expired so far, as the store counts them (sweeps, lazy refusals, room made at the cap).
   * When given, `node_gateway_tokens_expired_total` follows it and `tokensExpired()` is not needed.
   */
  readonly expiredTotal?: () => number;
}

export interface GatewayMetricsOptions {
  /**
   * Longest a scrape waits for `liveTokens()`; past it, or if it throws, `node_gateway_tokens` is
   * reported as NaN for that scrape, so a slow or down token store never fails or hangs /metrics.
   * Default 2000 ms.
   */
  readonly sourceTimeoutMs?: number;
  /** Include prom-client's process / Node.js defaults (`process_*`, `nodejs_*`). Default true. */
  readonly defaultMetrics?: boolean;
}

export interface RenderedMetrics {
  readonly contentType: string;
  readonly body: string;
}

const MESSAGE_KIND_SET: ReadonlySet<string> = new Set(MESSAGE_KINDS);
const REJECT_REASON_SET: ReadonlySet<string> = new Set(REJECT_REASONS);

/**
 * Map anything to a member of `allowed`, else `other`. Case-insensitive, so a protocol enum name
 * such as `Put` or `Subscribe` maps to its label; longer or foreign strings never become one.
 */
function closedLabel<T extends string>(value: unknown, allowed: ReadonlySet<string>): T {
  if (typeof value === 'string' && value.length <= 32) {
    const v = value.toLowerCase();
    if (allowed.has(v)) return v as T;
  }
  return 'other' as T;
}

export function messageKindLabel(kind: unknown): MessageKind {
  return closedLabel<MessageKind>(kind, MESSAGE_KIND_SET);
}

export function rejectReasonLabel(reason: unknown): RejectReason {
  return closedLabel<RejectReason>(reason, REJECT_REASON_SET);
}

/** A count to add: a finite number > 0, else nothing is added (metrics never throw on the hot path). */
function positiveCount(n: unknown): number | undefined {
  return typeof n === 'number' && Number.isFinite(n) && n > 0 ? n : undefined;
}

/**
 * The gateway's metrics, in a registry of their own (not prom-client's global one), so a process
 * — or a test — can hold several independent instances.
 *
 * Note: prom-client's default collectors install a GC PerformanceObserver and an event-loop-delay
 * monitor per registry that cannot be removed; one instance per process is the intended use.
 */
export class GatewayMetrics {
  readonly registry: Registry;

  readonly #tokensIssued: Counter;
  readonly #tokensExpired: Counter;
  readonly #tokensRefused: Counter;
  readonly #authFailures: Counter;
  /**
   * The per-connection and per-message counts are plain numbers, added to their counters when
   * a scrape collects them: prom-client's `inc` validates and hashes the label set on every
   * call (a `labels()` child only binds the labels, it does not cache the hash), which showed
   * in profiles of the connect and request loops.
   */
  #connectionsOpenedPending = 0;
  #connectionsClosedPending = 0;
  readonly #messagesPending = new Map<MessageKind, number>(MESSAGE_KINDS.map((k) => [k, 0]));
  readonly #rejected: Counter<'reason'>;
  readonly #terminated: Counter<'reason'>;
  readonly #cleanupDuration: Histogram;

  constructor(sources: MetricsSources, opts: GatewayMetricsOptions = {}) {
    if (typeof sources?.liveTokens !== 'function' || typeof sources.connections !== 'function') {
      throw new TypeError('GatewayMetrics needs sources.liveTokens() and sources.connections()');
    }
    const timeoutMs = opts.sourceTimeoutMs ?? 2000;
    if (!(Number.isFinite(timeoutMs) && timeoutMs > 0 && timeoutMs <= 2_147_483_647)) {
      throw new RangeError(`sourceTimeoutMs must be in 1..2147483647, got ${timeoutMs}`);
    }

    const registry = new Registry();
    this.registry = registry;
    const registers = [registry];

    if (opts.defaultMetrics !== false) collectDefaultMetrics({ register: registry });

    new Gauge({
      name: 'node_gateway_tokens',
      help: 'Live auth tokens held (minted and not yet removed by expiry).',
      registers,
      async collect() {
        this.set(await readWithTimeout(sources.liveTokens, timeoutMs));
      },
    });
    new Gauge({
      name: 'node_gateway_connections',
      help: 'Open WebSocket client connections.',
      registers,
      collect() {
        let n: number;
        try {
          n = sources.connections();
        } catch {
          n = Number.NaN;
        }
        this.set(typeof n === 'number' ? n : Number.NaN);
      },
    });

    this.#tokensIssued = new Counter({
      name: 'node_gateway_tokens_issued_total',
      help: 'Auth tokens minted (one per web app page load).',
      registers,
    });
    const expiredTotal = sources.expiredTotal;
    this.#tokensExpired = new Counter({
      name: 'node_gateway_tokens_expired_total',
      help: 'Auth tokens removed because they stayed idle for token-ttl-seconds.',
      registers,
      ...(expiredTotal !== undefined
        ? {
            collect(this: Counter) {
              // The store's own total is the truth; a counter only ever moves up with it.
              const v = expiredTotal();
              if (Number.isFinite(v) && v >= 0) {
                this.reset();
                this.inc(v);
              }
            },
          }
        : {}),
    });
    this.#tokensRefused = new Counter({
      name: 'node_gateway_tokens_refused_total',
      help: 'Page loads refused with 503 because max-tokens live tokens were held.',
      registers,
    });
    this.#authFailures = new Counter({
      name: 'node_gateway_auth_failures_total',
      help: 'WebSocket connections closed with 4401 AUTH_TOKEN_INVALID (unknown or expired token).',
      registers,
    });
    const opened: Counter = new Counter({
      name: 'node_gateway_connections_total',
      help: 'WebSocket client connections opened.',
      registers,
      collect: () => {
        opened.inc(this.#connectionsOpenedPending);
        this.#connectionsOpenedPending = 0;
      },
    });
    const closed: Counter = new Counter({
      name: 'node_gateway_connections_closed_total',
      help: 'WebSocket client connections closed, for any reason.',
      registers,
      collect: () => {
        closed.inc(this.#connectionsClosedPending);
        this.#connectionsClosedPending = 0;
      },
    });
    const messages: Counter<'type'> = new Counter({
      name: 'node_gateway_messages_total',
      help: `WebSocket client requests received, by type (${MESSAGE_KINDS.join(', ')}).`,
      labelNames: ['type'] as const,
      registers,
      collect: () => {
        for (const [type, n] of this.#messagesPending) {
          if (n === 0) continue;
          messages.inc({ type }, n);
          this.#messagesPending.set(type, 0);
        }
      },
    });
    this.#rejected = new Counter({
      name: 'node_gateway_messages_rejected_total',
      help: `WebSocket client messages rejected, by reason (${REJECT_REASONS.join(', ')}).`,
      labelNames: ['reason'] as const,
      registers,
    });
    this.#terminated = new Counter({
      name: 'node_gateway_connections_terminated_total',
      help: `WebSocket client connections the gateway cut off, by reason (${TERMINATE_REASONS.join(', ')}).`,
      labelNames: ['reason'] as const,
      registers,
    });
    this.#cleanupDuration = new Histogram({
      name: 'node_gateway_cleanup_run_duration_seconds',
      help: 'Duration of one run of the token cleanup loop.',
      buckets: [...CLEANUP_DURATION_BUCKETS_SECONDS],
      registers,
    });

    // Every series exists from the start (at 0), so rate() and absent() work before the first event.
    for (const type of MESSAGE_KINDS) messages.inc({ type }, 0);
    for (const reason of REJECT_REASONS) this.#rejected.inc({ reason }, 0);
    for (const reason of TERMINATE_REASONS) this.#terminated.inc({ reason }, 0);
  }

  /** A token was minted. */
  tokenIssued(): void {
    this.#tokensIssued.inc();
  }

  /** `n` tokens were removed as expired (e.g. a cleanup run's `removed`). */
  tokensExpired(n: number): void {
    const c = positiveCount(n);
    if (c !== undefined) this.#tokensExpired.inc(c);
  }

  /** A mint was refused at `max-tokens`. */
  tokenRefused(): void {
    this.#tokensRefused.inc();
  }

  /** A connection was closed with 4401. */
  authFailure(): void {
    this.#authFailures.inc();
  }

  connectionOpened(): void {
    this.#connectionsOpenedPending++;
  }

  connectionClosed(): void {
    this.#connectionsClosedPending++;
  }

  /** A client request of `kind` was received; anything outside MESSAGE_KINDS counts as `other`. */
  message(kind: MessageKind | string): void {
    // The connection passes the decoder's own lower-case kinds: one set lookup, no case folding.
    const type = MESSAGE_KIND_SET.has(kind) ? (kind as MessageKind) : messageKindLabel(kind);
    this.#messagesPending.set(type, (this.#messagesPending.get(type) ?? 0) + 1);
  }

  /** The gateway terminated a connection (rare: prom-client's labelled `inc` is fine here). */
  connectionTerminated(reason: TerminateReason): void {
    this.#terminated.inc({ reason });
  }

  /** A client message was rejected; anything outside REJECT_REASONS counts as `other`. */
  messageRejected(reason: RejectReason | string): void {
    this.#rejected.inc({ reason: rejectReasonLabel(reason) });
  }

  /** One cleanup-loop run took `durationMs` milliseconds. */
  cleanupRun(durationMs: number): void {
    if (typeof durationMs === 'number' && Number.isFinite(durationMs) && durationMs >= 0) {
      this.#cleanupDuration.observe(durationMs / 1000);
    }
  }

  /** The exposition for `GET /metrics` (Prometheus text format 0.0.4). */
  async render(): Promise<RenderedMetrics> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}

/** `read()`'s value, or NaN if it throws, rejects, returns a non-number or takes over `timeoutMs`. */
async function readWithTimeout(read: () => number | Promise<number>, timeoutMs: number): Promise<number> {
  let timer: NodeJS.Timeout | undefined;
  try {
    const timeout = new Promise<number>((resolve) => {
      timer = setTimeout(resolve, timeoutMs, Number.NaN);
      timer.unref();
    });
    const v = await Promise.race([Promise.resolve().then(read), timeout]);
    return typeof v === 'number' ? v : Number.NaN;
  } catch {
    return Number.NaN;
  } finally {
    if (timer !== undefined) clearTimeout(timer);
  }
}
