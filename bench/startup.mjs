/**
 * §4 of issue 6: start-up, spawn() to the "listening" log line of bin/node-gateway, against
 * spawn() to exit of `node -e 0`, alternating, several repetitions, median. The daemon keeps one
 * data-dir across repetitions, as a restarted service does; the first run of each is a warm-up.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { elapsedMs } from './lib/clock.mjs';
import { startDaemon, tempDir } from './lib/processes.mjs';
import { median } from './lib/stats.mjs';

function nodeE0() {
  return new Promise((resolve, reject) => {
    const t0 = elapsedMs();
    const child = spawn(process.execPath, ['-e', '0'], { stdio: 'ignore' });
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve(elapsedMs() - t0) : reject(new Error(`node -e 0 exited ${code}`))));
  });
}

async function daemonStart(dataDir) {
  const d = await startDaemon({ dataDir });
  await d.stop();
  return d.startMs;
}

export async function run({ repetitions = 9 } = {}) {
  const dir = tempDir();
  try {
    const dataDir = join(dir.path, 'data');
    await nodeE0();
    await daemonStart(dataDir);
    const node = [];
    const daemon = [];
    for (let i = 0; i < repetitions; i++) {
      node.push(await nodeE0());
      daemon.push(await daemonStart(dataDir));
    }
    const nodeMs = median(node);
    const daemonMs = median(daemon);
    return { repetitions, nodeMs, daemonMs, ratio: daemonMs / nodeMs, nodeRuns: node, daemonRuns: daemon };
  } finally {
    dir.remove();
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  console.log(JSON.stringify(await run(), null, 2));
}
