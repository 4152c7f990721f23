import { connect, type Socket } from 'node:net';
import WebSocket from 'ws';
import type { Daemon } from './daemon.js';

export const EXAMPLE_KEY = '13R8CLpkV3NkhQJeEtFJEeK5zuWPdbaRZy2AzmRfHPpx';

export interface PageLoad {
  status: number;
  token: string | undefined;
  html: string;
  headers: Headers;
}

/** Loads a web app's page the way a browser does and pulls out the injected token. */
export async function loadPage(d: Daemon, key = EXAMPLE_KEY): Promise<PageLoad> {
  const res = await fetch(`${d.base}/v1/contract/web/${key}/`);
  const html = await res.text();
  const m = /window\.__FREENET_AUTH_TOKEN__ = "([1-9A-HJ-NP-Za-km-z]+)"/.exec(html);
  return { status: res.status, token: m?.[1], html, headers: res.headers };
}

export async function mintToken(d: Daemon, key = EXAMPLE_KEY): Promise<string> {
  const page = await loadPage(d, key);
  if (page.status !== 200 || page.token === undefined) throw new Error(`page load failed: ${page.status}`);
  return page.token;
}

export interface Client {
  ws: WebSocket;
  opened: Promise<void>;
  closed: Promise<{ code: number; reason: string }>;
  messages: Buffer[];
}

export function openClient(url: string, options: WebSocket.ClientOptions = {}): Client {
  const ws = new WebSocket(url, options);
  const messages: Buffer[] = [];
  ws.on('message', (data) => messages.push(Buffer.isBuffer(data) ? data : Buffer.from(data as ArrayBuffer)));
  const opened = new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
    ws.once('error', reject);
  });
  opened.catch(() => {});
  const closed = new Promise<{ code: number; reason: string }>((resolve) => {
    ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() }));
  });
  return { ws, opened, closed, messages };
}

export function commandUrl(d: Daemon, token?: string): string {
  return `${d.wsBase}/v1/contract/command${token === undefined ? '' : `?authToken=${encodeURIComponent(token)}`}`;
}

/** The HTTP status of a refused upgrade, or 101. */
export function upgradeStatus(url: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers });
    ws.once('open', () => {
      ws.terminate();
      resolve({ status: 101, body: '' });
    });
    ws.once('unexpected-response', (_req, res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    ws.once('error', (e) => reject(e));
  });
}

/**
 * A client that completes the WebSocket handshake by hand and then never reads again: a
 * half-open peer that will never answer a ping (what a vanished laptop looks like).
 */
export function silentClient(d: Daemon, token: string, received?: Buffer[]): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const sock = connect(d.port, '127.0.0.1', () => {
      sock.write(
        `GET /v1/contract/command?authToken=${token} HTTP/1.1\r\nHost: 127.0.0.1:${d.port}\r\n` +
          'Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n' +
          'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n',
      );
    });
    let head = '';
    const onData = (b: Buffer) => {
      head += b.toString('latin1');
      if (head.includes('\r\n\r\n')) {
        sock.off('data', onData);
        if (!head.startsWith('HTTP/1.1 101')) reject(new Error(head.split('\r\n')[0]));
        if (received !== undefined) {
          // Reads what the server sends but never answers anything, close frames included.
          sock.on('data', (chunk: Buffer) => received.push(chunk));
        } else {
          sock.pause();
        }
        resolve(sock);
      }
    };
    sock.on('data', onData);
    sock.on('error', reject);
  });
}

export async function metricsText(d: Daemon): Promise<string> {
  return (await fetch(`${d.base}/metrics`)).text();
}

/** Sum of a metric's samples (all label sets) in Prometheus text. */
export function metricSum(text: string, name: string): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)/.exec(line);
    if (m !== null && m[1] === name) sum += Number(m[3]);
  }
  return sum;
}

/** The close code of the first close frame (opcode 8) in unmasked server frames, if any. */
export function closeCodeIn(frames: Buffer[]): number | undefined {
  const buf = Buffer.concat(frames);
  let i = 0;
  while (i + 2 <= buf.length) {
    const opcode = (buf[i] as number) & 0x0f;
    let len = (buf[i + 1] as number) & 0x7f;
    let off = i + 2;
    if (len === 126) {
      len = buf.readUInt16BE(off);
      off += 2;
    } else if (len === 127) {
      len = Number(buf.readBigUInt64BE(off));
      off += 8;
    }
    if (opcode === 8 && len >= 2 && off + 2 <= buf.length) return buf.readUInt16BE(off);
    i = off + len;
  }
  return undefined;
}
