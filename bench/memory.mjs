/**
 * §3 of issue 6: resident memory per idle authenticated connection. A fresh daemon is warmed up
 * (page loads, a few connections), the tokens are minted by page loads, then 2,000 connections
 * are opened with them and left idle; the figure is the growth of the daemon's VmRSS divided by
 * the number of connections. RSS grows in steps (V8 commits heap pages ahead of use), so the
 * daemon's own heapUsed + external (from its /metrics) is shown next to it. The bare `ws` server
 * gets the same treatment as a reference.
 */
import { fileURLToPath } from 'node:url';
import { sleep } from './lib/clock.mjs';
import { mintTokens, rssBytes, startBareServer, startDaemon } from './lib/processes.mjs';
import { median } from './lib/stats.mjs';
import { commandUrl, openConnection } from './lib/ws-client.mjs';

/** VmRSS once the process has been quiet for `settleMs`: median of five readings. */
async function settledRss(pid, settleMs) {
  await sleep(settleMs);
  const xs = [];
  for (let i = 0; i < 5; i++) {
    xs.push(rssBytes(pid));
    await sleep(100);
  }
  return median(xs);
}

async function openMany(port, tokens, concurrency = 50) {
  const conns = [];
  let next = 0;
  const worker = async () => {
    while (next < tokens.length) {
      const token = tokens[next++];
      conns.push(await openConnection(commandUrl(port, token)));
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return conns;
}

/** heapUsed + external of the daemon, from its own /metrics (prom-client's process defaults). */
async function daemonHeapBytes(port) {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const value = (name) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);
  return value('nodejs_heap_size_used_bytes') + value('nodejs_external_memory_bytes');
}

async function measure(server, tokens, settleMs, heapBytes) {
  // Warm-up: the code paths of an upgrade and a connection run (and are compiled) before the baseline.
  const warm = await openMany(server.port, tokens.slice(0, 50));
  await Promise.all(warm.map((c) => c.close()));
  const before = await settledRss(server.pid, settleMs);
  const heapBefore = await heapBytes?.();
  const conns = await openMany(server.port, tokens);
  const after = await settledRss(server.pid, settleMs);
  const heapAfter = await heapBytes?.();
  await Promise.all(conns.map((c) => c.close()));
  return {
    connections: conns.length,
    rssBeforeBytes: before,
    rssAfterBytes: after,
    bytesPerConnection: (after - before) / conns.length,
    ...(heapBefore !== undefined ? { heapBytesPerConnection: (heapAfter - heapBefore) / conns.length } : {}),
  };
}

export async function run({ connections = 2000, settleMs = 1500, log = () => {} } = {}) {
  const daemon = await startDaemon();
  let gateway;
  try {
    const tokens = await mintTokens(daemon.port, connections);
    gateway = await measure(daemon, tokens, settleMs, () => daemonHeapBytes(daemon.port));
    log(`  memory: gateway ${(gateway.bytesPerConnection / 1024).toFixed(1)} KiB per connection`);
  } finally {
    await daemon.stop();
  }
  const bare = await startBareServer();
  try {
    const tokens = Array.from({ length: connections }, (_, i) => `bare${i}`);
    const ref = await measure(bare, tokens, settleMs);
    log(`  memory: bare ws ${(ref.bytesPerConnection / 1024).toFixed(1)} KiB per connection`);
    return { gateway, bare: ref };
  } finally {
    await bare.stop();
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  console.log(JSON.stringify(await run({ log: console.error }), null, 2));
}
