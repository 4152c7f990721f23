/**
 * §2 of issue 6: the WebSocket client API of the real daemon on loopback against a bare `ws`
 * server in the same run.
 *   - connect rate: authenticated connect (token from a real page load, minted beforehand) +
 *     first request (a Get of a contract with a 1 KiB state) + close, 8 clients at a time;
 *   - round-trips of that 1 KiB Get on open connections (1 and 8 connections), p50/p99.
 * The bare server answers every message with the very bytes the daemon answered the Get with,
 * so both servers put the same bytes on the wire. Rounds alternate daemon / bare; the figure is
 * the median round, latencies are pooled over all rounds.
 */
import { fileURLToPath } from 'node:url';
import { contractFrames } from './lib/freenet-frames.mjs';
import { mintTokens, startBareServer, startDaemon } from './lib/processes.mjs';
import { median, percentile } from './lib/stats.mjs';
import { closedLoop, commandUrl, connectRequestClose, openConnection } from './lib/ws-client.mjs';

const TOKEN_POOL = 1000;

/** Stores the 1 KiB contract through the daemon and captures its answer to the Get. */
async function prepareDaemon(daemon, frames, token) {
  const conn = await openConnection(commandUrl(daemon.port, token));
  const putAnswer = await conn.request(frames.put);
  const getAnswer = await conn.request(frames.get);
  await conn.close();
  if (getAnswer.indexOf(frames.state) < 0) {
    throw new Error(`the daemon's answer to the Get does not carry the state (put answered ${putAnswer.length} bytes)`);
  }
  return Buffer.from(getAnswer);
}

function summarize(rounds) {
  const all = rounds.flatMap((r) => r.latencies);
  return {
    perSec: median(rounds.map((r) => r.perSec)),
    p50Ms: percentile(all, 50),
    p99Ms: percentile(all, 99),
    rounds: rounds.map((r) => r.perSec),
  };
}

export async function run({ seconds = 2, rounds = 3, warmupSeconds = 1.5, log = () => {} } = {}) {
  const frames = await contractFrames(1024);
  const daemon = await startDaemon();
  let bare;
  try {
    const tokens = await mintTokens(daemon.port, TOKEN_POOL);
    const answer = await prepareDaemon(daemon, frames, tokens[0]);
    bare = await startBareServer({ reply: answer });
    log(`  websocket: ${tokens.length} tokens from page loads; Get answer ${answer.length} bytes`);

    let next = 0;
    const servers = {
      gateway: { port: daemon.port, token: () => tokens[next++ % tokens.length] },
      bare: { port: bare.port, token: () => tokens[next++ % tokens.length] },
    };
    const connectOp = (s) => () => connectRequestClose(commandUrl(s.port, s.token()), frames.get, answer.length);
    const results = { connect: { gateway: [], bare: [] }, rtt1: { gateway: [], bare: [] }, rtt8: { gateway: [], bare: [] } };

    for (const s of Object.values(servers)) await closedLoop({ concurrency: 8, seconds: warmupSeconds, op: connectOp(s) });
    for (let r = 0; r < rounds; r++) {
      for (const [name, s] of Object.entries(servers)) {
        results.connect[name].push(await closedLoop({ concurrency: 8, seconds, op: connectOp(s) }));
      }
    }

    for (const [label, concurrency] of [['rtt1', 1], ['rtt8', 8]]) {
      const open = {};
      for (const [name, s] of Object.entries(servers)) {
        open[name] = await Promise.all(Array.from({ length: concurrency }, () => openConnection(commandUrl(s.port, s.token()))));
        await closedLoop({ concurrency, seconds: warmupSeconds, op: (w) => open[name][w].request(frames.get) });
      }
      for (let r = 0; r < rounds; r++) {
        for (const name of Object.keys(servers)) {
          results[label][name].push(await closedLoop({ concurrency, seconds, op: (w) => open[name][w].request(frames.get) }));
        }
      }
      for (const conns of Object.values(open)) await Promise.all(conns.map((c) => c.close()));
    }

    const out = { getAnswerBytes: answer.length, tokenPool: tokens.length, secondsPerRound: seconds, rounds, warmupSeconds };
    for (const [k, v] of Object.entries(results)) {
      out[k] = { gateway: summarize(v.gateway), bare: summarize(v.bare) };
      out[k].ratio = out[k].gateway.perSec / out[k].bare.perSec;
    }
    return out;
  } finally {
    await bare?.stop();
    await daemon.stop();
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  console.log(JSON.stringify(await run({ log: console.error }), null, 2));
}
