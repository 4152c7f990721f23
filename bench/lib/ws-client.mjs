/** WebSocket client operations the benchmarks time, the same against every server. */
import WebSocket from 'ws';
import { elapsedMs } from './clock.mjs';

/** The URL FreenetWsApi opens: token and encoding in the query. */
export function commandUrl(port, token) {
  return `ws://127.0.0.1:${port}/v1/contract/command?authToken=${encodeURIComponent(token)}&encodingProtocol=flatbuffers`;
}

/**
 * Connect, send `frame`, wait for the answer, close, wait for the close: one page opening its
 * socket, making its first request and going away. Rejects if the answer is not `expectBytes` long.
 */
export function connectRequestClose(url, frame, expectBytes) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: false });
    let answered = false;
    ws.once('open', () => ws.send(frame));
    ws.once('message', (data) => {
      answered = true;
      if (expectBytes !== undefined && data.length !== expectBytes) {
        reject(new Error(`answer of ${data.length} bytes, expected ${expectBytes}`));
      }
      ws.close();
    });
    ws.once('close', (code, reason) => {
      if (answered) resolve();
      else reject(new Error(`closed with ${code} ${reason} before answering`));
    });
    ws.once('error', reject);
  });
}

/** An open connection that sends a frame and resolves on the next message. */
export function openConnection(url) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: false });
    let pending;
    ws.on('message', (data) => {
      const p = pending;
      pending = undefined;
      p?.(data);
    });
    ws.once('open', () =>
      resolve({
        ws,
        request(frame) {
          return new Promise((r) => {
            pending = r;
            ws.send(frame);
          });
        },
        close() {
          return new Promise((r) => {
            if (ws.readyState === WebSocket.CLOSED) return r();
            ws.once('close', () => r());
            ws.close();
          });
        },
      }),
    );
    ws.once('error', reject);
    ws.once('unexpected-response', (_req, res) => reject(new Error(`upgrade refused: HTTP ${res.statusCode}`)));
  });
}

/**
 * `concurrency` workers each run `op(workerIndex)` back to back for `seconds`.
 * Returns completions per second and every operation's latency in ms.
 */
export async function closedLoop({ concurrency, seconds, op }) {
  const latencies = [];
  const start = elapsedMs();
  const deadline = start + seconds * 1000;
  const worker = async (w) => {
    while (elapsedMs() < deadline) {
      const t0 = elapsedMs();
      await op(w);
      latencies.push(elapsedMs() - t0);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, (_, w) => worker(w)));
  const elapsed = elapsedMs() - start;
  return { perSec: (latencies.length / elapsed) * 1000, latencies };
}
