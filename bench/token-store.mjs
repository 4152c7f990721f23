/**
 * §1 of issue 6: the token store against the stores a user would pick instead, N = 1,000,000.
 * The parent runs each store in its own child process (`node --expose-gc`), so heaps and JIT
 * state do not interfere; the child prints one JSON line.
 *
 * What every child does, with the same tokens and the same (seeded) random access order:
 *   mint N in 100 groups of 1 %, each later on the clock → heap per token (Δ heapUsed+external
 *   after gc) → resolve N → five sweeps, each with the next-oldest 1 % expired (median) → refill
 *   to N → touch N → age all, add 1 % live → sweep (mass expiry of N, 1 % survive) → refill to N
 *   → age all → sweep (100 % of N). Both mass expiries run with the event loop watched.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { CONTRACT, STORES, cheapTokenGenerator } from './token-store-adapters.mjs';
import { OffsetClock, elapsedMs, sleep } from './lib/clock.mjs';
import { startLoopProbe } from './lib/event-loop.mjs';
import { permutation } from './lib/stats.mjs';

/**
 * Long, so that a group's step of the clock (1/100 of it) dwarfs the real time a slow store
 * takes between minting a group and sweeping the one before it (a few seconds).
 */
const TTL_MS = 36_000_000;
const SELF = fileURLToPath(import.meta.url);

function gcFull() {
  globalThis.gc();
  globalThis.gc();
}

function memNow() {
  const m = process.memoryUsage();
  return m.heapUsed + m.external;
}

function check(cond, what) {
  if (!cond) throw new Error(`check failed: ${what}`);
}

/** Advance the stores' clock, then let timers run (lru-cache caches "now" until a timer clears it). */
async function advance(clock, ms) {
  clock.advance(ms);
  await sleep(5);
}

/** One sweep, timed, with the event loop watched from a quiet start (after a full GC). */
async function timedSweep(s) {
  gcFull();
  const probe = startLoopProbe();
  await sleep(50);
  probe.reset();
  // The histogram's first interval after a reset is not recorded: let it tick before the sweep.
  await sleep(5);
  const t0 = elapsedMs();
  const removed = await s.sweep();
  const ms = elapsedMs() - t0;
  await sleep(30); // let the probes fire once after a sweep that never yielded
  return { removed, ms, loop: probe.stop() };
}

/** Tokens are minted in this many groups, GROUP_STEP_MS of the stores' clock apart. */
const GROUPS = 100;
const GROUP_STEP_MS = TTL_MS / GROUPS;
/** Sweeps of 1 % expired, one after another: the figure is their median, a steady cleanup loop. */
const ONE_PERCENT_SWEEPS = 5;
/** Beyond a group's TTL when it is swept: covers the real time its minting took. */
const MARGIN_MS = 1_000;

async function measureStore(name, n) {
  const adapter = STORES[name];
  const clock = new OffsetClock();
  const tokens = new Array(n).fill(0);
  const order = permutation(n, 0x5eed);
  const onePercent = Math.floor(n / 100);
  check(n % GROUPS === 0, `N must be a multiple of ${GROUPS}`);

  gcFull();
  const base = memNow();
  const s = await adapter.create({ ttlMs: TTL_MS, n, clock, generateToken: cheapTokenGenerator() });

  // Mint N in 100 groups of 1 %, each a step of the clock later than the one before, so that
  // moving the clock expires exactly one group more: the oldest 1 %.
  let mintMs = 0;
  for (let g = 0; g < GROUPS; g++) {
    if (g > 0) await advance(clock, GROUP_STEP_MS);
    const t0 = elapsedMs();
    for (let i = g * onePercent; i < (g + 1) * onePercent; i++) tokens[i] = s.mint();
    mintMs += elapsedMs() - t0;
  }
  const mintedAt = clock.offset - (GROUPS - 1) * GROUP_STEP_MS; // clock offset of group 0
  check(s.size() === n, `size after mint is ${s.size()}, expected ${n}`);
  gcFull();
  const heapBytesPerToken = (memNow() - base) / n;

  let live = 0;
  let t0 = elapsedMs();
  for (let k = 0; k < n; k++) if (s.resolve(tokens[order[k]])) live++;
  const resolveMs = elapsedMs() - t0;
  check(live === n, `resolve found ${live} of ${n}`);

  // Sweeps with 1 % expired: groups 0, 1, 2, … expire one at a time, as a cleanup loop in steady
  // state finds them. The first sweep of a process also pays for compiling the sweep's code.
  const sweepsOnePercentMs = [];
  for (let j = 0; j < ONE_PERCENT_SWEEPS; j++) {
    await advance(clock, mintedAt + j * GROUP_STEP_MS + TTL_MS + MARGIN_MS - clock.offset);
    t0 = elapsedMs();
    const removed = await s.sweep();
    sweepsOnePercentMs.push(elapsedMs() - t0);
    check(removed === onePercent, `1 % sweep ${j + 1} removed ${removed}, expected ${onePercent}`);
    check(s.size() === n - (j + 1) * onePercent, `size after 1 % sweep ${j + 1} is ${s.size()}`);
  }
  const sweepOnePercentMs = [...sweepsOnePercentMs].sort((x, y) => x - y)[ONE_PERCENT_SWEEPS >> 1];

  // Back to N, then touch every token, idle, in random order, half a step on (the oldest group is
  // then half a step short of its TTL; the refill is past the gateway's bucket span of TTL/256,
  // so every touch moves a token).
  for (let i = 0; i < ONE_PERCENT_SWEEPS * onePercent; i++) tokens[i] = s.mint();
  await advance(clock, GROUP_STEP_MS / 2);
  t0 = elapsedMs();
  for (let k = 0; k < n; k++) s.touch(tokens[order[k]]);
  const touchMs = elapsedMs() - t0;
  check(s.size() === n, `size after touch is ${s.size()}, expected ${n}`);

  // Mass expiry, twice: N expired while 1 % of the tokens are still live (a store cannot take a
  // shortcut such as clearing everything), then N expired out of N (100 %).
  await advance(clock, TTL_MS + 1);
  for (let i = 0; i < onePercent; i++) s.mint();
  const mass = await timedSweep(s);
  check(mass.removed === n, `mass expiry removed ${mass.removed}, expected ${n}`);
  check(s.size() === onePercent, `size after mass expiry is ${s.size()}, expected ${onePercent}`);

  for (let i = onePercent; i < n; i++) s.mint();
  await advance(clock, TTL_MS + 1);
  const all = await timedSweep(s);
  check(all.removed === n, `100 % sweep removed ${all.removed}, expected ${n}`);
  check(s.size() === 0, `size after 100 % sweep is ${s.size()}`);
  const sweepYields = s.store?.stats().sweepYields;
  s.close?.();

  return {
    name,
    label: adapter.label,
    n,
    mintPerSec: (n / mintMs) * 1000,
    touchPerSec: (n / touchMs) * 1000,
    resolvePerSec: (n / resolveMs) * 1000,
    touchResolvePerSec: ((2 * n) / (touchMs + resolveMs)) * 1000,
    sweepOnePercentMs,
    sweepOnePercentFirstMs: sweepsOnePercentMs[0],
    sweepMassMs: mass.ms,
    sweepAllMs: all.ms,
    heapBytesPerToken,
    // Worst of the two mass expiries, each watched by both probes.
    loopHistogramMaxMs: Math.max(mass.loop.histogramMaxMs, all.loop.histogramMaxMs),
    loopProbeMaxMs: Math.max(mass.loop.probeMaxMs, all.loop.probeMaxMs),
    loopDuringMass: mass.loop,
    loopDuringAll: all.loop,
    ...(sweepYields !== undefined ? { sweepYields } : {}),
  };
}

/**
 * The gateway as deployed: the default token generator (32 CSPRNG bytes, base58). Shows what
 * minting really costs and what a real token string occupies on the heap.
 */
async function measureRealTokens(n) {
  const { MemoryTokenStore } = await import('../dist/tokens/memory-store.js');
  gcFull();
  const base = memNow();
  const store = new MemoryTokenStore({ ttlMs: TTL_MS, maxTokens: n });
  const t0 = elapsedMs();
  for (let i = 0; i < n; i++) store.mintSync(CONTRACT);
  const mintMs = elapsedMs() - t0;
  gcFull();
  const heapBytesPerToken = (memNow() - base) / n;
  check(store.sizeSync() === n, 'real-token store size');
  return { n, mintPerSec: (n / mintMs) * 1000, heapBytesPerToken };
}

async function childMain(name, n, realN) {
  const result = await measureStore(name, n);
  if (name === 'gateway' && realN > 0) {
    gcFull();
    result.realTokens = await measureRealTokens(realN);
  }
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

function runChild(name, n, realN) {
  return new Promise((resolve) => {
    const child = spawn(
      process.execPath,
      ['--expose-gc', '--max-old-space-size=8192', SELF, '--child', name, String(n), String(realN)],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (d) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d) => (err += d));
    child.on('exit', (code) => {
      const line = out.trim().split('\n').pop() ?? '';
      if (code === 0 && line.startsWith('{')) resolve(JSON.parse(line));
      else resolve({ name, label: STORES[name].label, error: `exit ${code}: ${err.trim().split('\n').slice(-3).join(' | ')}` });
    });
  });
}

/**
 * Each number's median across same-shaped results (nested objects too), except the worst-case
 * figures (`…MaxMs`: event-loop blocks), which keep the worst of all rounds; the rest from the first.
 */
function medianOf(results, worst = false) {
  const [first] = results;
  if (typeof first === 'number') {
    const sorted = [...results].sort((x, y) => x - y);
    return worst ? sorted[sorted.length - 1] : sorted[Math.floor(sorted.length / 2)];
  }
  if (first === null || typeof first !== 'object' || Array.isArray(first)) return first;
  return Object.fromEntries(Object.keys(first).map((k) => [k, medianOf(results.map((r) => r[k]), worst || k.endsWith('MaxMs'))]));
}

/**
 * Runs every store, one child each, one after another (two cores: no overlap), `repetitions`
 * rounds with the stores in turn, and reports each figure's median over the rounds: on a shared
 * machine the load drifts over minutes, and one pass would give each store a different share of it.
 */
export async function run({ n = 1_000_000, realN = 100_000, stores = Object.keys(STORES), repetitions = 3, log = () => {} } = {}) {
  const byStore = new Map(stores.map((name) => [name, []]));
  for (let rep = 1; rep <= repetitions; rep++) {
    for (const name of stores) {
      const t0 = elapsedMs();
      const r = await runChild(name, n, rep === 1 ? realN : 0);
      log(`  token store ${name} (round ${rep}/${repetitions}): ${r.error ?? 'done'} (${((elapsedMs() - t0) / 1000).toFixed(1)} s)`);
      byStore.get(name).push(r);
    }
  }
  return stores.map((name) => {
    const runs = byStore.get(name);
    const failed = runs.find((r) => r.error !== undefined);
    if (failed !== undefined) return failed;
    const { realTokens } = runs[0];
    return { ...medianOf(runs.map(({ realTokens: _, ...rest }) => rest)), ...(realTokens ? { realTokens } : {}), rounds: runs.length };
  });
}

if (process.argv[2] === '--child') {
  await childMain(process.argv[3], Number(process.argv[4]), Number(process.argv[5]));
} else if (process.argv[1] === SELF) {
  const n = Number(process.argv[2] ?? 1_000_000);
  console.log(JSON.stringify(await run({ n, log: console.error }), null, 2));
}
