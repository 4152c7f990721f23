/** Turns the benchmark results into the Markdown of docs/PERFORMANCE.md. */
import { arch, availableParallelism, cpus, loadavg, platform, release, totalmem } from 'node:os';
import { fmt, fmtRate } from './stats.mjs';

export function machine() {
  const cpu = cpus()[0]?.model?.trim() ?? 'unknown CPU';
  return {
    cpu,
    cores: availableParallelism(),
    ramGiB: totalmem() / 2 ** 30,
    node: process.version,
    os: `${platform()} ${release()} ${arch()}`,
  };
}

export const loadAverage = () => loadavg().map((x) => x.toFixed(2)).join(' / ');

const ms = (x) => (x === undefined ? 'n/a' : `${fmt(x, x < 10 ? 2 : x < 100 ? 1 : 0)} ms`);
const ratio = (x) => (x === undefined || !Number.isFinite(x) ? 'n/a' : `${fmt(x, x < 0.1 ? 3 : 2)}×`);
const verdict = (ok) => (ok === undefined ? 'n/a' : ok ? '**pass**' : '**miss**');
const kib = (b) => `${fmt(b / 1024, 1)} KiB`;

function targetRows(r) {
  const rows = [];
  const ts = r.tokenStore && !r.tokenStore.error ? r.tokenStore : undefined;
  const gw = ts?.find((s) => s.name === 'gateway' && !s.error);
  const map = ts?.find((s) => s.name === 'freenet-map' && !s.error);
  const peers = ts?.filter((s) => s.name !== 'gateway' && !s.error) ?? [];
  const fastest = peers.reduce((a, b) => (a === undefined || b.touchResolvePerSec > a.touchResolvePerSec ? b : a), undefined);

  if (gw && map) {
    const x = gw.sweepOnePercentMs / map.sweepOnePercentMs;
    rows.push([`Sweep, 1 % of ${fmt(gw.n)} expired, vs full-scan Map (median of 5 sweeps in a row)`, `${ms(gw.sweepOnePercentMs)} vs ${ms(map.sweepOnePercentMs)} = ${ratio(x)}`, '≤ 0.05× (1/20)', verdict(x <= 0.05)]);
    if (gw.sweepOnePercentFirstMs !== undefined && map.sweepOnePercentFirstMs !== undefined) {
      const y = gw.sweepOnePercentFirstMs / map.sweepOnePercentFirstMs;
      rows.push(['… the first of those sweeps alone (code not yet compiled)', `${ms(gw.sweepOnePercentFirstMs)} vs ${ms(map.sweepOnePercentFirstMs)} = ${ratio(y)}`, '(shown, not a target)', '']);
    }
  }
  if (gw) {
    const worst = Math.max(gw.loopHistogramMaxMs, gw.loopProbeMaxMs);
    rows.push([`Mass expiry of ${fmt(gw.n)} (with 1 % live, and 100 %): worst event-loop block`, `${ms(worst)} (histogram ${ms(gw.loopHistogramMaxMs)}, probe ${ms(gw.loopProbeMaxMs)})`, '≤ 20 ms', verdict(worst <= 20)]);
  }
  if (gw && fastest) {
    const x = gw.touchResolvePerSec / fastest.touchResolvePerSec;
    rows.push(['Touch + resolve throughput vs fastest peer', `${fmtRate(gw.touchResolvePerSec)}/s vs ${fmtRate(fastest.touchResolvePerSec)}/s (${fastest.label}) = ${ratio(x)}`, '≥ 1×', verdict(x >= 1)]);
  }
  if (gw?.realTokens) {
    const b = gw.realTokens.heapBytesPerToken;
    rows.push(['Heap per token, as deployed (CSPRNG base58 token, random clientId)', `${fmt(b)} B`, '≤ 300 B', verdict(b <= 300)]);
  }
  if (gw) {
    rows.push(['Heap per token, store with flat 44-char tokens (as in the peer table)', `${fmt(gw.heapBytesPerToken)} B`, '≤ 300 B', verdict(gw.heapBytesPerToken <= 300)]);
  }
  const ws = r.websocket && !r.websocket.error ? r.websocket : undefined;
  if (ws) {
    rows.push(['Authenticated connect + first Get + close, vs bare ws', `${fmtRate(ws.connect.gateway.perSec)}/s vs ${fmtRate(ws.connect.bare.perSec)}/s = ${ratio(ws.connect.ratio)}`, '≥ 0.85×', verdict(ws.connect.ratio >= 0.85)]);
    rows.push(['1 KiB Get round-trips (1 connection), vs bare ws', `${fmtRate(ws.rtt1.gateway.perSec)}/s vs ${fmtRate(ws.rtt1.bare.perSec)}/s = ${ratio(ws.rtt1.ratio)}`, '≥ 0.6×', verdict(ws.rtt1.ratio >= 0.6)]);
  }
  const mem = r.memory && !r.memory.error ? r.memory : undefined;
  if (mem) {
    const b = mem.gateway.bytesPerConnection;
    rows.push(['RSS per idle authenticated connection (2,000)', `${kib(b)} (${fmt(b)} B)`, '≤ 40 KB (40,000 B)', verdict(b <= 40_000)]);
  }
  const st = r.startup && !r.startup.error ? r.startup : undefined;
  if (st) {
    rows.push(['Start-up: spawn → "listening", vs `node -e 0`', `${ms(st.daemonMs)} vs ${ms(st.nodeMs)} = ${ratio(st.ratio)}`, '≤ 3×', verdict(st.ratio <= 3)]);
  }
  return rows;
}

function table(header, rows) {
  return [`| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
}

function tokenStoreSection(ts) {
  if (ts.error) return `Failed: ${ts.error}`;
  const n = ts.find((s) => s.n)?.n;
  const rows = ts.map((s) =>
    s.error
      ? [s.label, `error: ${s.error}`, '', '', '', '', '', '', '', '']
      : [
          s.label,
          fmtRate(s.mintPerSec),
          fmtRate(s.touchPerSec),
          fmtRate(s.resolvePerSec),
          fmtRate(s.touchResolvePerSec),
          s.sweepOnePercentFirstMs === undefined ? ms(s.sweepOnePercentMs) : `${ms(s.sweepOnePercentMs)} (${ms(s.sweepOnePercentFirstMs)})`,
          ms(s.sweepMassMs),
          ms(s.sweepAllMs),
          `${ms(s.loopHistogramMaxMs)} / ${ms(s.loopProbeMaxMs)}`,
          fmt(s.heapBytesPerToken),
        ],
  );
  const gw = ts.find((s) => s.name === 'gateway' && s.realTokens);
  const real = gw
    ? `\nThe gateway as deployed (default generator: 32 CSPRNG bytes, base58; ${fmt(gw.realTokens.n)} tokens): ` +
      `mint ${fmtRate(gw.realTokens.mintPerSec)}/s, heap ${fmt(gw.realTokens.heapBytesPerToken)} B per token.` +
      (gw.sweepYields !== undefined ? ` Its mass expiry gave the event loop back ${fmt(gw.sweepYields)} times.` : '')
    : '';
  return [
    `N = ${fmt(n)} tokens, each store in its own \`node --expose-gc\` process, same tokens, same seeded random access order. ` +
      `${ts[0]?.rounds ?? 1} round(s), the stores taking turns; each figure is the median over the rounds, except the worst event-loop block, the worst of all rounds.`,
    '',
    table(
      ['store', 'mint/s', 'touch/s', 'resolve/s', 'touch+resolve/s', 'sweep, 1 % expired: median of 5 (first)', `sweep, ${fmt(n)} expired + 1 % live`, 'sweep, 100 % expired', 'worst loop delay in these two (histogram / probe)', 'heap B/token'],
      rows,
    ),
    real,
  ].join('\n');
}

function wsSection(ws) {
  if (ws.error) return `Failed: ${ws.error}`;
  const row = (label, k) => [
    label,
    `${fmtRate(ws[k].gateway.perSec)}/s`,
    `${ms(ws[k].gateway.p50Ms)} / ${ms(ws[k].gateway.p99Ms)}`,
    `${fmtRate(ws[k].bare.perSec)}/s`,
    `${ms(ws[k].bare.p50Ms)} / ${ms(ws[k].bare.p99Ms)}`,
    ratio(ws[k].ratio),
  ];
  return [
    `Loopback, client in the benchmark process, each server in its own process. ${ws.rounds} alternating rounds of ${ws.secondsPerRound} s each after a warm-up of ${ws.warmupSeconds ?? 0.5} s per server and operation; rate = median round, latencies pooled. ` +
      `Tokens: ${fmt(ws.tokenPool)} from real page loads, minted beforehand and reused round-robin (a reconnect keeps its token). ` +
      `Request: the Get that FreenetWsApi sends for a contract with a 1 KiB state; answer: ${fmt(ws.getAnswerBytes)} bytes, which the bare server sends back too.`,
    '',
    table(
      ['operation', 'node-gateway', 'p50 / p99', 'bare ws', 'p50 / p99', 'ratio'],
      [
        row('connect (authToken) + first Get + close, 8 clients', 'connect'),
        row('1 KiB Get round-trip, 1 connection', 'rtt1'),
        row('1 KiB Get round-trip, 8 connections', 'rtt8'),
      ],
    ),
  ].join('\n');
}

function memorySection(m) {
  if (m.error) return `Failed: ${m.error}`;
  const row = (label, x) => [
    label,
    fmt(x.connections),
    kib(x.rssBeforeBytes),
    kib(x.rssAfterBytes),
    kib(x.bytesPerConnection),
    x.heapBytesPerConnection === undefined ? 'n/a' : kib(x.heapBytesPerConnection),
  ];
  return table(
    ['server', 'idle connections', 'VmRSS before', 'VmRSS after', 'RSS per connection', 'heap + external per connection (/metrics)'],
    [row('node-gateway (authenticated)', m.gateway), row('bare ws', m.bare)],
  );
}

function startupSection(s) {
  if (s.error) return `Failed: ${s.error}`;
  return table(
    ['process', `median of ${s.repetitions}`, 'runs (ms)'],
    [
      ['`bin/node-gateway` (spawn → "listening")', ms(s.daemonMs), s.daemonRuns.map((x) => fmt(x)).join(', ')],
      ['`node -e 0` (spawn → exit)', ms(s.nodeMs), s.nodeRuns.map((x) => fmt(x)).join(', ')],
    ],
  );
}

export function renderReport({ results, machine: m, date, command, totalSeconds, loadStart, loadEnd, tree }) {
  return `## Latest run

Generated by \`${command}\` (bench/run.mjs) between the bench markers of this file; everything
outside them is kept. Benchmarks, not tests: compare the ratios within one run, not absolute
figures across machines.

- Date: ${date}
- Machine: ${m.cpu}, ${m.cores} cores, ${fmt(m.ramGiB, 1)} GiB RAM, ${m.os}
- Node: ${m.node}
- Code: ${tree}
- Command: \`${command}\` — benchmarks ${fmt(totalSeconds)} s (plus the build)
- Load average (1 / 5 / 15 min) at start: ${loadStart}; at end: ${loadEnd}

### Targets (issue 6)

${table(['target', 'figure', 'target', 'result'], targetRows(results))}

### 1. Token store

${results.tokenStore ? tokenStoreSection(results.tokenStore) : 'not run'}

Method: tokens are 44 random base58 characters from a fast seeded generator, the same for every
store. Mint N in 100 groups of 1 %, each group 1/100 of the TTL later on the stores' clock; heap
per token = growth of heapUsed + external after two forced GCs, divided by N (token string,
record and map entry included); resolve N in random order; then five sweeps in a row, the clock
moved each time just past the TTL of the next-oldest group, so each finds 1 % expired (a cleanup
loop in steady state): the figure is their median, and the first, which also pays for compiling
the sweep's code, is in brackets; mint back to N; touch N in random order, half a step on; move
the clock past the TTL and mint 1 % more (live); sweep (a mass expiry of N that leaves the live
1 %, so no store can clear everything at once); mint back to N; move the clock past the TTL;
sweep all N. Both mass expiries run while a 1 ms \`monitorEventLoopDelay\` histogram and a 1 ms
\`setInterval\` probe watch the event loop; the table shows the worse of the two. Every store sees
real monotonic time plus an offset that the benchmark jumps forward (\`node-cache\` and
\`@isaacs/ttlcache\` read the global clocks, so they are patched in their child process; the
gateway and \`lru-cache\` take the clock as an option).
As in the daemon, the gateway reuses a clock reading until timers next run, at least 1 ms
(\`CoarseClock\`; \`lru-cache\`'s default \`ttlResolution\` does the same): inside one of the
benchmark's synchronous loops the clock therefore stands still for it.
Peers: a plain \`Map\` swept by a full scan (Freenet's cleanup), \`node-cache\` (\`useClones: false\`,
sweep = the \`checkperiod\` pass \`_checkData\`), \`@isaacs/ttlcache\` (\`checkAgeOnGet\`, touch =
\`get\` with \`updateAgeOnGet\`, sweep = \`purgeStale\`), \`lru-cache\` (\`ttl\` + \`updateAgeOnGet\`, touch =
\`get\`, resolve = \`peek\`, sweep = \`purgeStale\`). The gateway's touch here hits an idle token: it
writes the record's last access and raises its bucket's upper bound, and the token is moved once,
later, by the sweep that reaches its old bucket (that re-filing is not in these sweeps: every
touched token has expired by the next one); a touch on a connection's token in use is one lookup.

### 2. WebSocket

${results.websocket ? wsSection(results.websocket) : 'not run'}

### 3. Memory per idle connection

${results.memory ? memorySection(results.memory) : 'not run'}

Fresh processes; 50 connections opened and closed as a warm-up; VmRSS (\`/proc/<pid>/status\`) read
as the median of five readings after 1.5 s of quiet, before and after opening the connections.
RSS grows in steps as V8 commits heap pages ahead of use, so a process whose heap had room (the
daemon starts with a larger one) shows a smaller delta; the heap column (the daemon's own
\`nodejs_heap_size_used_bytes\` + \`nodejs_external_memory_bytes\`, garbage not yet collected
included) is the finer figure.

### 4. Start-up

${results.startup ? startupSection(results.startup) : 'not run'}

<details><summary>Raw results (JSON)</summary>

\`\`\`json
${JSON.stringify(results, null, 1)}
\`\`\`

</details>
`;
}

export const BEGIN_MARK = '<!-- bench:start -->';
export const END_MARK = '<!-- bench:end -->';

/** Puts `generated` between the markers of `existing` (or makes a new file around it). */
export function mergeIntoDocument(existing, generated) {
  const i = existing?.indexOf(BEGIN_MARK) ?? -1;
  const j = existing?.indexOf(END_MARK) ?? -1;
  if (existing === undefined || i < 0 || j < i) {
    return `# Performance\n\n${BEGIN_MARK}\n${generated}\n${END_MARK}\n`;
  }
  return `${existing.slice(0, i)}${BEGIN_MARK}\n${generated}\n${existing.slice(j)}`;
}
