/**
 * `npm run bench`: every benchmark of issue 6, one after another (the machine may have two
 * cores: nothing runs in parallel), then a Markdown report on stdout and in docs/PERFORMANCE.md
 * (between its bench markers; the hand-written analysis around them is kept).
 *   node bench/run.mjs [--quick] [--only token-store,websocket,memory,startup]
 * --quick (N = 100,000, short rounds) is for trying the harness; its report is not written.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { elapsedMs } from './lib/clock.mjs';
import { REPO } from './lib/processes.mjs';
import { loadAverage, machine, mergeIntoDocument, renderReport } from './lib/report.mjs';
import * as memory from './memory.mjs';
import * as startup from './startup.mjs';
import * as tokenStore from './token-store.mjs';
import * as websocket from './websocket.mjs';

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const onlyIdx = args.indexOf('--only');
const only = onlyIdx >= 0 ? new Set(args[onlyIdx + 1].split(',')) : undefined;
const log = (s) => process.stderr.write(`${s}\n`);

const sections = [
  ['startup', 'startup', () => startup.run({ repetitions: quick ? 3 : 9 })],
  ['token-store', 'tokenStore', () => tokenStore.run({ n: quick ? 100_000 : 1_000_000, realN: quick ? 20_000 : 100_000, repetitions: quick ? 1 : 3, log })],
  ['websocket', 'websocket', () => websocket.run({ seconds: quick ? 1 : 2, rounds: quick ? 1 : 3, log })],
  ['memory', 'memory', () => memory.run({ connections: 2000, log })],
];

const t0 = elapsedMs();
const loadStart = loadAverage();
const results = {};
for (const [name, key, fn] of sections) {
  if (only !== undefined && !only.has(name)) continue;
  const s0 = elapsedMs();
  log(`${name}…`);
  try {
    results[key] = await fn();
  } catch (err) {
    results[key] = { error: err instanceof Error ? err.message : String(err) };
  }
  log(`${name}: ${results[key].error ? `failed: ${results[key].error}` : 'done'} in ${((elapsedMs() - s0) / 1000).toFixed(1)} s`);
}

/** Which code was measured: the commit, and the source files that differed from it. */
function treeState() {
  try {
    const git = (...a) => execFileSync('git', a, { cwd: REPO, encoding: 'utf8' });
    const head = git('rev-parse', '--short', 'HEAD').trim();
    const dirty = git('status', '--porcelain', '--', 'src', 'bin').split('\n').filter(Boolean).map((l) => l.slice(3));
    return dirty.length === 0 ? `${head}` : `${head} plus uncommitted changes to ${dirty.join(', ')}`;
  } catch {
    return 'unknown (not a git checkout)';
  }
}

const command = `npm run bench${args.length > 0 ? ` -- ${args.join(' ')}` : ''}`;
const report = renderReport({
  results,
  machine: machine(),
  date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
  command,
  totalSeconds: (elapsedMs() - t0) / 1000,
  loadStart,
  loadEnd: loadAverage(),
  tree: treeState(),
});
process.stdout.write(report);
if (!quick && only === undefined) {
  const doc = join(REPO, 'docs', 'PERFORMANCE.md');
  writeFileSync(doc, mergeIntoDocument(existsSync(doc) ? readFileSync(doc, 'utf8') : undefined, report));
  log('written to docs/PERFORMANCE.md');
}
