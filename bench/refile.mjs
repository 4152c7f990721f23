/**
 * `npm run bench:refile`: what the gateway's lazy idle touch defers. A touch of an idle token only
 * writes its last access; the sweep that reaches the token's old bucket re-files it. The main token
 * benchmark never sees that work (every token it touches has expired by its next sweep), so this
 * one measures it: N idle tokens in 100 groups along the clock, all touched in random order, then
 * the cleanup loop's own async sweep run every 1/200 of the TTL for half a TTL, with nothing
 * expiring, so all a sweep does is re-file. Prints a Markdown table.
 *   node --expose-gc bench/refile.mjs [N]
 */
import { MemoryTokenStore } from '../dist/tokens/memory-store.js';
import { cheapTokenGenerator } from './token-store-adapters.mjs';
import { elapsedMs } from './lib/clock.mjs';
import { startLoopProbe } from './lib/event-loop.mjs';
import { fmt, permutation } from './lib/stats.mjs';

const n = Number(process.argv[2] ?? 1_000_000);
const GROUPS = 100;
const TTL_MS = 36_000_000;
const STEP_MS = TTL_MS / GROUPS;
if (!Number.isSafeInteger(n) || n < GROUPS || n % GROUPS !== 0) {
  process.stderr.write(`N must be a multiple of ${GROUPS}\n`);
  process.exit(64);
}

let t = 0;
const store = new MemoryTokenStore({ ttlMs: TTL_MS, maxTokens: 2 * n, clock: { now: () => t }, generateToken: cheapTokenGenerator() });
const tokens = [];
for (let g = 0; g < GROUPS; g++) {
  for (let i = 0; i < n / GROUPS; i++) tokens.push(store.mintSync('c').token);
  t += STEP_MS;
}
t -= STEP_MS / 2; // half a group after the last mint: nothing has expired yet

const order = permutation(n, 0x5eed);
let t0 = elapsedMs();
for (let k = 0; k < n; k++) store.touch(tokens[order[k]]);
const touchMs = elapsedMs() - t0;

const visitedBefore = store.stats().sweepVisited;
const refiledBefore = store.stats().refiled;
const yieldsBefore = store.stats().sweepYields;
const probe = startLoopProbe();
let sweepMs = 0;
let worstSweepMs = 0;
let removed = 0;
for (let step = 0; step < 100; step++) {
  // Let the event loop turn, as between the cleanup loop's runs: a sweep that never needs to yield
  // resolves without one, and back-to-back sweeps would look like one long block to the probe.
  await new Promise((resolve) => setImmediate(resolve));
  t += TTL_MS / 200;
  t0 = elapsedMs();
  removed += (await store.sweep()).removed;
  const ms = elapsedMs() - t0;
  sweepMs += ms;
  if (ms > worstSweepMs) worstSweepMs = ms;
}
const loop = probe.stop();
const visited = store.stats().sweepVisited - visitedBefore;
if (removed !== 0 || store.sizeSync() !== n) throw new Error(`check failed: removed ${removed}, size ${store.sizeSync()}`);

const row = (a, b) => `| ${a} | ${b} |`;
process.stdout.write(
  [
    `N = ${fmt(n)} idle tokens, all touched once in random order, then 100 async sweeps over half a TTL (nothing expires).`,
    '',
    '| figure | value |',
    '|---|---|',
    row('touch of an idle token', `${fmt((touchMs * 1e6) / n)} ns`),
    row('tokens the sweeps looked at (re-filed, plus one bucket bound per sweep)', fmt(visited)),
    row('tokens re-filed', fmt(store.stats().refiled - refiledBefore)),
    row('all 100 sweeps', `${fmt(sweepMs, 1)} ms`),
    row('per token looked at', `${fmt((sweepMs * 1e6) / Math.max(1, visited))} ns`),
    row('slowest sweep', `${fmt(worstSweepMs, 1)} ms`),
    row('worst event-loop block (histogram / probe)', `${fmt(loop.histogramMaxMs, 2)} ms / ${fmt(loop.probeMaxMs, 2)} ms`),
    row('times the sweeps gave the event loop back', fmt(store.stats().sweepYields - yieldsBefore)),
    '',
  ].join('\n'),
);
