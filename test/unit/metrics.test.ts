import { describe, it, expect } from 'vitest';
import { performance } from 'node:perf_hooks';
import { register as globalRegister } from 'prom-client';
import {
  CLEANUP_DURATION_BUCKETS_SECONDS,
  GatewayMetrics,
  MESSAGE_KINDS,
  REJECT_REASONS,
  messageKindLabel,
  type MetricsSources,
} from '../../src/server/metrics.js';
import { ManualClock } from '../../src/tokens/clock.js';
import { MemoryTokenStore } from '../../src/tokens/memory-store.js';
import { newToken } from '../../src/tokens/token.js';

// ---- a tiny parser for the Prometheus text exposition format (0.0.4) ----

interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}
interface Exposition {
  readonly types: ReadonlyMap<string, string>;
  readonly helps: ReadonlyMap<string, string>;
  readonly samples: readonly Sample[];
}

/**
 * Like Prometheus (Go's strconv.ParseFloat), NaN and Inf are case-insensitive: prom-client 15
 * writes NaN as `Nan`.
 */
function parseValue(s: string): number {
  if (/^nan$/i.test(s)) return Number.NaN;
  if (/^\+?inf$/i.test(s)) return Infinity;
  if (/^-inf$/i.test(s)) return -Infinity;
  const v = Number(s);
  if (s.trim() === '' || Number.isNaN(v)) throw new Error(`bad sample value ${JSON.stringify(s)}`);
  return v;
}

function parseLabels(src: string): Record<string, string> {
  const labels: Record<string, string> = {};
  let i = 0;
  while (i < src.length) {
    const m = /^([a-zA-Z_][a-zA-Z0-9_]*)="/.exec(src.slice(i));
    if (!m) throw new Error(`bad labels at ${JSON.stringify(src.slice(i))}`);
    const name = m[1]!;
    i += m[0].length;
    let value = '';
    for (;;) {
      const c = src[i++];
      if (c === undefined) throw new Error('unterminated label value');
      if (c === '"') break;
      if (c === '\\') {
        const e = src[i++];
        value += e === 'n' ? '\n' : (e ?? '');
      } else value += c;
    }
    if (name in labels) throw new Error(`duplicate label ${name}`);
    labels[name] = value;
    if (src[i] === ',') i++;
  }
  return labels;
}

function parseExposition(text: string): Exposition {
  const types = new Map<string, string>();
  const helps = new Map<string, string>();
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '') continue;
    if (line.startsWith('#')) {
      const m = /^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) (.*)$/.exec(line);
      if (m) (m[1] === 'TYPE' ? types : helps).set(m[2]!, m[3]!);
      continue;
    }
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)(?: \d+)?$/.exec(line);
    if (!m) throw new Error(`unparseable sample line: ${JSON.stringify(line)}`);
    samples.push({ name: m[1]!, labels: m[2] ? parseLabels(m[2]) : {}, value: parseValue(m[3]!) });
  }
  return { types, helps, samples };
}

function find(exp: Exposition, name: string, labels: Record<string, string> = {}): Sample[] {
  return exp.samples.filter(
    (s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v),
  );
}

/** The single sample `name{labels}`; fails if there is not exactly one. */
function value(exp: Exposition, name: string, labels: Record<string, string> = {}): number {
  const found = find(exp, name, labels);
  if (found.length !== 1) {
    throw new Error(`expected one sample ${name}${JSON.stringify(labels)}, found ${found.length}`);
  }
  return found[0]!.value;
}

async function scrape(m: GatewayMetrics): Promise<Exposition> {
  return parseExposition((await m.render()).body);
}

function fixed(over: Partial<MetricsSources> = {}): { metrics: GatewayMetrics; state: { tokens: number; conns: number } } {
  const state = { tokens: 0, conns: 0 };
  const metrics = new GatewayMetrics({
    liveTokens: () => state.tokens,
    connections: () => state.conns,
    ...over,
  });
  return { metrics, state };
}

// ---- tests ----

describe('exposition parser (self-check)', () => {
  it('parses labels with escapes, special values and timestamps', () => {
    const e = parseExposition(
      [
        '# HELP a_total An a.',
        '# TYPE a_total counter',
        'a_total{x="q\\"uo\\\\te",y="line\\nbreak"} 3',
        'b NaN',
        'b2 Nan',
        'c{le="+Inf"} +Inf 1700000000000',
      ].join('\n'),
    );
    expect(e.types.get('a_total')).toBe('counter');
    expect(value(e, 'a_total')).toBe(3);
    expect(find(e, 'a_total')[0]!.labels).toEqual({ x: 'q"uo\\te', y: 'line\nbreak' });
    expect(value(e, 'b')).toBeNaN();
    expect(value(e, 'b2')).toBeNaN();
    expect(value(e, 'c')).toBe(Infinity);
    expect(() => parseExposition('oops')).toThrow(/unparseable/);
    expect(() => parseExposition('d 12abc')).toThrow(/bad sample value/);
  });
});

describe('GatewayMetrics', () => {
  it('renders Prometheus text with every gateway metric and the right types', async () => {
    const { metrics } = fixed();
    const out = await metrics.render();
    expect(out.contentType).toMatch(/^text\/plain; version=0\.0\.4; charset=utf-8$/);
    const e = parseExposition(out.body);
    const expected: Record<string, string> = {
      node_gateway_tokens: 'gauge',
      node_gateway_tokens_issued_total: 'counter',
      node_gateway_tokens_expired_total: 'counter',
      node_gateway_tokens_refused_total: 'counter',
      node_gateway_auth_failures_total: 'counter',
      node_gateway_connections: 'gauge',
      node_gateway_connections_total: 'counter',
      node_gateway_connections_closed_total: 'counter',
      node_gateway_messages_total: 'counter',
      node_gateway_messages_rejected_total: 'counter',
      node_gateway_cleanup_run_duration_seconds: 'histogram',
    };
    for (const [name, type] of Object.entries(expected)) {
      expect(e.types.get(name), name).toBe(type);
      expect(e.helps.get(name), name).toBeTruthy();
    }
    // Every counter starts at 0, labelled ones with every allowed label value present.
    for (const name of Object.keys(expected).filter((n) => n.endsWith('_total'))) {
      for (const s of find(e, name)) expect(s.value, name).toBe(0);
    }
    expect(find(e, 'node_gateway_messages_total').map((s) => s.labels.type).sort()).toEqual([...MESSAGE_KINDS].sort());
    expect(find(e, 'node_gateway_messages_rejected_total').map((s) => s.labels.reason).sort()).toEqual(
      [...REJECT_REASONS].sort(),
    );
  });

  it('includes the process and Node.js default metrics', async () => {
    const e = await scrape(fixed().metrics);
    for (const name of [
      'process_cpu_user_seconds_total',
      'process_cpu_seconds_total',
      'process_start_time_seconds',
      'process_resident_memory_bytes',
      'process_open_fds',
      'process_max_fds',
      'nodejs_heap_size_used_bytes',
      'nodejs_eventloop_lag_seconds',
      'nodejs_active_handles_total',
    ]) {
      expect(find(e, name).length, name).toBeGreaterThan(0);
    }
    expect(find(e, 'nodejs_version_info')[0]?.labels.version).toBe(process.version);
    expect(value(e, 'process_resident_memory_bytes')).toBeGreaterThan(0);
  });

  it('can leave the defaults out', async () => {
    const m = new GatewayMetrics({ liveTokens: () => 0, connections: () => 0 }, { defaultMetrics: false });
    const e = await scrape(m);
    expect(e.samples.every((s) => s.name.startsWith('node_gateway_'))).toBe(true);
  });

  it('counters move with the events', async () => {
    const { metrics } = fixed();
    for (let i = 0; i < 3; i++) metrics.tokenIssued();
    metrics.tokensExpired(2);
    metrics.tokensExpired(5);
    metrics.tokenRefused();
    metrics.authFailure();
    metrics.authFailure();
    for (let i = 0; i < 4; i++) metrics.connectionOpened();
    metrics.connectionClosed();
    metrics.message('put');
    metrics.message('get');
    metrics.message('get');
    metrics.messageRejected('too_large');
    const e = await scrape(metrics);
    expect(value(e, 'node_gateway_tokens_issued_total')).toBe(3);
    expect(value(e, 'node_gateway_tokens_expired_total')).toBe(7);
    expect(value(e, 'node_gateway_tokens_refused_total')).toBe(1);
    expect(value(e, 'node_gateway_auth_failures_total')).toBe(2);
    expect(value(e, 'node_gateway_connections_total')).toBe(4);
    expect(value(e, 'node_gateway_connections_closed_total')).toBe(1);
    expect(value(e, 'node_gateway_messages_total', { type: 'put' })).toBe(1);
    expect(value(e, 'node_gateway_messages_total', { type: 'get' })).toBe(2);
    expect(value(e, 'node_gateway_messages_total', { type: 'update' })).toBe(0);
    expect(value(e, 'node_gateway_messages_rejected_total', { reason: 'too_large' })).toBe(1);
  });

  it('ignores nonsense counts instead of throwing', async () => {
    const { metrics } = fixed();
    for (const n of [0, -1, Number.NaN, Infinity, '3' as unknown as number]) {
      expect(() => metrics.tokensExpired(n)).not.toThrow();
    }
    for (const d of [-1, Number.NaN, Infinity]) expect(() => metrics.cleanupRun(d)).not.toThrow();
    const e = await scrape(metrics);
    expect(value(e, 'node_gateway_tokens_expired_total')).toBe(0);
    expect(value(e, 'node_gateway_cleanup_run_duration_seconds_count')).toBe(0);
  });

  it('reads the gauges from the sources at each scrape, sync or async', async () => {
    let conns = 2;
    const m = new GatewayMetrics({ liveTokens: async () => 41, connections: () => conns });
    let e = await scrape(m);
    expect(value(e, 'node_gateway_tokens')).toBe(41);
    expect(value(e, 'node_gateway_connections')).toBe(2);
    conns = 0;
    e = await scrape(m);
    expect(value(e, 'node_gateway_connections')).toBe(0);
  });

  it('the token gauge follows mint and expiry of a real token store', async () => {
    const clock = new ManualClock(0);
    const store = new MemoryTokenStore({ ttlMs: 60_000, maxTokens: 3, clock });
    const m = new GatewayMetrics({ liveTokens: () => store.size(), connections: () => 0 });
    const contract = 'DCBi7HNZC3rGsNbGwJqFjMbJ5vpPdW2ZbBjWx7NJ7xEN';
    const mint = async () => {
      const r = await store.mint(contract);
      if (r.ok) m.tokenIssued();
      else m.tokenRefused();
      return r;
    };

    expect(value(await scrape(m), 'node_gateway_tokens')).toBe(0);
    await mint();
    await mint();
    expect(value(await scrape(m), 'node_gateway_tokens')).toBe(2);
    clock.advance(30_000);
    await mint();
    expect((await mint()).ok).toBe(false); // at the cap
    let e = await scrape(m);
    expect(value(e, 'node_gateway_tokens')).toBe(3);
    expect(value(e, 'node_gateway_tokens_issued_total')).toBe(3);
    expect(value(e, 'node_gateway_tokens_refused_total')).toBe(1);

    clock.advance(30_000); // the first two reach the TTL
    const t0 = performance.now();
    const run = await store.sweep();
    m.tokensExpired(run.removed);
    m.cleanupRun(performance.now() - t0);
    e = await scrape(m);
    expect(run.removed).toBe(2);
    expect(value(e, 'node_gateway_tokens')).toBe(1);
    expect(value(e, 'node_gateway_tokens_expired_total')).toBe(2);
    expect(value(e, 'node_gateway_cleanup_run_duration_seconds_count')).toBe(1);

    clock.advance(30_000);
    m.tokensExpired((await store.sweep()).removed);
    e = await scrape(m);
    expect(value(e, 'node_gateway_tokens')).toBe(0);
    expect(value(e, 'node_gateway_tokens_expired_total')).toBe(3);
  });

  it('a failing or hanging token source gives NaN, never a failed or hung scrape', async () => {
    const throwing = new GatewayMetrics({
      liveTokens: () => {
        throw new Error('redis down');
      },
      connections: () => 1,
    });
    let e = await scrape(throwing);
    expect(value(e, 'node_gateway_tokens')).toBeNaN();
    expect(value(e, 'node_gateway_connections')).toBe(1);

    const rejecting = fixed({ liveTokens: () => Promise.reject(new Error('redis down')) }).metrics;
    expect(value(await scrape(rejecting), 'node_gateway_tokens')).toBeNaN();

    const hanging = new GatewayMetrics(
      { liveTokens: () => new Promise<number>(() => {}), connections: () => 0 },
      { sourceTimeoutMs: 50 },
    );
    const t0 = performance.now();
    e = await scrape(hanging);
    expect(performance.now() - t0).toBeLessThan(2000);
    expect(value(e, 'node_gateway_tokens')).toBeNaN();
  });

  it('bounds label values: unknown kinds and tokens become "other"', async () => {
    const { metrics } = fixed();
    const token = newToken();
    const hostile: unknown[] = [
      token,
      `put${token}`,
      'PUT',
      'Subscribe',
      'constructor',
      '__proto__',
      'toString',
      '',
      ' put',
      'x'.repeat(100_000),
      'type="injected"',
      'a\nb',
      undefined,
      null,
      42,
      { toString: () => 'put' },
    ];
    for (const k of hostile) {
      metrics.message(k as string);
      metrics.messageRejected(k as string);
    }
    const text = (await metrics.render()).body;
    expect(text).not.toContain(token);
    expect(text).not.toContain('injected');
    const e = parseExposition(text);
    const types = find(e, 'node_gateway_messages_total').map((s) => s.labels.type);
    const reasons = find(e, 'node_gateway_messages_rejected_total').map((s) => s.labels.reason);
    expect(types.sort()).toEqual([...MESSAGE_KINDS].sort());
    expect(reasons.sort()).toEqual([...REJECT_REASONS].sort());
    // 'PUT' and 'Subscribe' map case-insensitively; the other 14 are 'other'.
    expect(value(e, 'node_gateway_messages_total', { type: 'put' })).toBe(1);
    expect(value(e, 'node_gateway_messages_total', { type: 'subscribe' })).toBe(1);
    expect(value(e, 'node_gateway_messages_total', { type: 'other' })).toBe(hostile.length - 2);
    expect(value(e, 'node_gateway_messages_rejected_total', { reason: 'other' })).toBe(hostile.length);
    expect(messageKindLabel('delegate')).toBe('delegate');
    expect(messageKindLabel(token)).toBe('other');
  });

  it('no sample anywhere carries an unexpected label', async () => {
    const { metrics } = fixed();
    metrics.message(newToken());
    metrics.cleanupRun(3);
    const e = await scrape(metrics);
    const allowed = new Set(['type', 'reason', 'le']);
    for (const s of e.samples.filter((x) => x.name.startsWith('node_gateway_'))) {
      for (const k of Object.keys(s.labels)) expect(allowed.has(k), `${s.name} label ${k}`).toBe(true);
    }
  });

  it('observes cleanup durations in seconds with buckets from 0.1 ms to 10 s', async () => {
    const { metrics } = fixed();
    metrics.cleanupRun(0.05); // 50 µs
    metrics.cleanupRun(3); // 3 ms
    metrics.cleanupRun(20_000); // 20 s: only in +Inf
    const e = await scrape(metrics);
    const b = (le: string) => value(e, 'node_gateway_cleanup_run_duration_seconds_bucket', { le });
    expect(CLEANUP_DURATION_BUCKETS_SECONDS[0]).toBe(0.0001);
    expect(CLEANUP_DURATION_BUCKETS_SECONDS.at(-1)).toBe(10);
    expect(b('0.0001')).toBe(1);
    expect(b('0.0025')).toBe(1);
    expect(b('0.005')).toBe(2);
    expect(b('10')).toBe(2);
    expect(b('+Inf')).toBe(3);
    expect(value(e, 'node_gateway_cleanup_run_duration_seconds_count')).toBe(3);
    expect(value(e, 'node_gateway_cleanup_run_duration_seconds_sum')).toBeCloseTo(20.00305, 6);
  });

  it('instances are independent and stay out of the global registry', async () => {
    const a = fixed().metrics;
    const b = fixed().metrics;
    a.tokenIssued();
    a.tokenIssued();
    b.tokenIssued();
    expect(value(await scrape(a), 'node_gateway_tokens_issued_total')).toBe(2);
    expect(value(await scrape(b), 'node_gateway_tokens_issued_total')).toBe(1);
    expect(globalRegister.getSingleMetric('node_gateway_tokens_issued_total')).toBeUndefined();
    expect(a.registry).not.toBe(b.registry);
  });

  it('rejects missing sources at construction', () => {
    expect(() => new GatewayMetrics({} as MetricsSources)).toThrow(TypeError);
    expect(() => new GatewayMetrics({ liveTokens: () => 0, connections: () => 0 }, { sourceTimeoutMs: 0 })).toThrow(
      RangeError,
    );
  });
});
