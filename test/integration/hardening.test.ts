import { cpSync, mkdirSync, writeFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { request } from 'node:http';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { EXAMPLE_KEY, commandUrl, loadPage, metricSum, metricsText, openClient } from '../helpers/client.js';
import { cleanEnv, Daemon, eventually, REPO, runCli, tempDir } from '../helpers/daemon.js';

/** Regression tests for what a fresh user's attack on the daemon found. */
const running: Daemon[] = [];
const dirs: Array<{ remove(): void }> = [];
function scratch(): string {
  const d = tempDir();
  dirs.push(d);
  return d.path;
}
afterEach(async () => {
  await Promise.all(running.splice(0).map((d) => d.stop()));
  while (dirs.length > 0) dirs.pop()?.remove();
});

async function start(args: string[], dir = scratch()): Promise<Daemon> {
  const d = await Daemon.start(['--data-dir', join(dir, 'data'), ...args], { cwd: dir, env: cleanEnv({}, dir) });
  running.push(d);
  return d;
}

function rawRequest(port: number, head: string): Promise<string> {
  return new Promise((resolve, reject) => {
    import('node:net').then(({ connect }) => {
      const s = connect(port, '127.0.0.1', () => s.write(head));
      let out = '';
      s.setEncoding('latin1').on('data', (c: string) => (out += c));
      s.on('end', () => resolve(out));
      s.on('error', reject);
    }, reject);
  });
}

describe('HTTP edges', () => {
  it('a non-WebSocket Upgrade offer (h2c) is ignored and answered as plain HTTP', async () => {
    const d = await start([]);
    const r = await rawRequest(
      d.port,
      `GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n`,
    );
    expect(r).toMatch(/^HTTP\/1\.1 200/);
    expect(r).toContain('"status":"ok"');
    const plain = await fetch(`${d.base}/v1/contract/command`);
    expect(plain.status).toBe(426);
  });

  it('a response being sent when SIGTERM arrives gets the grace period to finish', async () => {
    const dir = scratch();
    const apps = join(dir, 'apps');
    cpSync(join(REPO, 'examples', 'webapps'), apps, { recursive: true });
    writeFileSync(join(apps, EXAMPLE_KEY, 'big.bin'), Buffer.alloc(40 * 1024 * 1024, 1));
    const d = await start(['--webapps-dir', apps, '--shutdown-timeout-seconds', '10'], dir);
    let received = 0;
    const done = new Promise<number>((resolve, reject) => {
      const req = request(`${d.base}/v1/contract/web/${EXAMPLE_KEY}/big.bin`, (res) => {
        res.pause();
        // Read slowly: the download is still running when the signal comes.
        setTimeout(() => {
          d.child.kill('SIGTERM');
          res.on('data', (c: Buffer) => (received += c.length));
          res.on('end', () => resolve(received));
          res.on('error', reject);
          res.resume();
        }, 300);
      });
      req.on('error', reject);
      req.end();
    });
    expect(await done).toBe(40 * 1024 * 1024);
    expect((await d.exited).code).toBe(0);
  });

  it('the page under its own name also carries a fresh token; HEAD mints none', async () => {
    const d = await start(['--webapps-dir', join(REPO, 'examples', 'webapps')]);
    const r = await fetch(`${d.base}/v1/contract/web/${EXAMPLE_KEY}/index.html`);
    expect(await r.text()).toMatch(/__FREENET_AUTH_TOKEN__ = "/);
    expect(r.headers.get('cache-control')).toBe('no-store');
    const head = await fetch(`${d.base}/v1/contract/web/${EXAMPLE_KEY}/`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('x-content-type-options')).toBe('nosniff');
    expect((await d.health()).tokens).toBe(1);
  });

  it("another site's script cannot mint tokens; a navigation from anywhere can", async () => {
    const d = await start(['--webapps-dir', join(REPO, 'examples', 'webapps')]);
    // node:http, not fetch: fetch sets Sec-Fetch-Mode itself.
    const status = (headers: Record<string, string>) =>
      new Promise<number>((resolve, reject) => {
        const req = request(`${d.base}/v1/contract/web/${EXAMPLE_KEY}/`, { headers }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        });
        req.on('error', reject);
        req.end();
      });
    expect(await status({ 'Sec-Fetch-Site': 'cross-site', 'Sec-Fetch-Mode': 'no-cors' })).toBe(403);
    expect(await status({ Origin: 'http://evil.example' })).toBe(403);
    // Another port of localhost is "same-site" to a browser (ports do not count): refused too.
    expect(await status({ 'Sec-Fetch-Site': 'same-site', 'Sec-Fetch-Mode': 'no-cors', 'Sec-Fetch-Dest': 'image' })).toBe(403);
    expect(await status({ 'Sec-Fetch-Site': 'same-site', 'Sec-Fetch-Mode': 'navigate', 'Sec-Fetch-Dest': 'iframe' })).toBe(403);
    expect((await d.health()).tokens).toBe(0);
    expect(await status({ 'Sec-Fetch-Site': 'cross-site', 'Sec-Fetch-Mode': 'navigate' })).toBe(200);
    expect(await status({ Origin: `http://127.0.0.1:${d.port}`, 'Sec-Fetch-Site': 'same-origin', 'Sec-Fetch-Mode': 'cors' })).toBe(200);
    expect(await status({})).toBe(200);
    // Another site framing the app: a navigation, but of an iframe.
    expect(await status({ 'Sec-Fetch-Site': 'cross-site', 'Sec-Fetch-Mode': 'navigate', 'Sec-Fetch-Dest': 'iframe' })).toBe(403);
    expect(await status({ 'Sec-Fetch-Site': 'cross-site', 'Sec-Fetch-Mode': 'navigate', 'Sec-Fetch-Dest': 'document' })).toBe(200);
    expect(await status({ 'Sec-Fetch-Site': 'same-site', 'Sec-Fetch-Mode': 'navigate', 'Sec-Fetch-Dest': 'document' })).toBe(200);
    const page = await fetch(`${d.base}/v1/contract/web/${EXAMPLE_KEY}/`);
    expect(page.headers.get('content-security-policy')).toBe("frame-ancestors 'self'");
    expect(page.headers.get('x-frame-options')).toBe('SAMEORIGIN');
  });
});

describe('start-up edges', () => {
  it('says where it listens even at --log-level warn', async () => {
    const d = await start(['--log-level', 'warn']);
    expect(d.port).toBeGreaterThan(0);
    expect(d.logs().filter((l) => l.level < 40).map((l) => l.msg)).toEqual([`listening on 127.0.0.1:${d.port}`]);
  });

  it('warns when bound beyond loopback, and when webapps-dir is missing; still starts', async () => {
    const dir = scratch();
    const d = await start(['--ws-api-address', '0.0.0.0', '--webapps-dir', join(dir, 'not-there')], dir);
    const warnings = d.logs().filter((l) => l.level === 40);
    expect(warnings.find((l) => /not a loopback address/.test(l.msg))).toMatchObject({ address: '0.0.0.0' });
    expect(warnings.find((l) => /webapps-dir is not a directory/.test(l.msg))).toMatchObject({ webappsDir: join(dir, 'not-there') });
    expect((await d.health()).status).toBe('ok');
    // Created after start: read per request, so it serves without a restart.
    cpSync(join(REPO, 'examples', 'webapps'), join(dir, 'not-there'), { recursive: true });
    expect((await loadPage(d, EXAMPLE_KEY)).status).toBe(200);
  });

  it('a data-dir that cannot be created exits 73 at once (even under /proc)', () => {
    const dir = scratch();
    for (const bad of ['/proc/node-gateway-test/x', join(dir, 'file', 'sub')]) {
      writeFileSync(join(dir, 'file'), 'x');
      const t0 = Date.now();
      const r = runCli(['--ws-api-port', '0', '--data-dir', bad], { cwd: dir, env: cleanEnv({}, dir), timeoutMs: 10_000 });
      expect(r.status, bad).toBe(73);
      expect(Date.now() - t0).toBeLessThan(5000);
    }
  });

  it('a second gateway on the same data-dir is refused (exit 75); a stale lock is taken over', async () => {
    const dir = scratch();
    const d = await start([], dir);
    const r = runCli(['--ws-api-port', '0', '--data-dir', join(dir, 'data')], { cwd: dir, env: cleanEnv({}, dir) });
    expect(r.status).toBe(75);
    expect(r.stdout).toMatch(/data-dir is in use/);
    await d.stop();
    running.pop();
    // A lock left by a process that no longer exists does not block a start…
    writeFileSync(join(dir, 'data', 'node-gateway.pid'), '999999999\n');
    const d2 = await start([], dir);
    await d2.stop();
    running.pop();
    // …nor one whose pid now belongs to some other program (after a crash and a reboot).
    const other = spawn('sleep', ['30']);
    try {
      writeFileSync(join(dir, 'data', 'node-gateway.pid'), `${other.pid}\n`);
      await start([], dir);
    } finally {
      other.kill();
    }
  });

  it('unknown FREENET_* variables are reported with the nearest name', async () => {
    const dir = scratch();
    mkdirSync(join(dir, 'data'));
    const r = runCli(['config'], { cwd: dir, env: cleanEnv({ FREENET_TOKEN_TTL: '5' }, dir) });
    expect(r.stdout).toContain('# unknown variable FREENET_TOKEN_TTL ignored (did you mean FREENET_TOKEN_TTL_SECONDS?)');
  });
});

describe('metrics edges', () => {
  it('tokens refused lazily (expired before any sweep) count as expired', async () => {
    const d = await start(['--webapps-dir', join(REPO, 'examples', 'webapps'), '--token-ttl-seconds', '1', '--token-cleanup-interval-seconds', '3600']);
    const page = await loadPage(d);
    await new Promise((r) => setTimeout(r, 1200));
    const c = openClient(commandUrl(d, page.token));
    expect((await c.closed).code).toBe(4401);
    await eventually(async () => metricSum(await metricsText(d), 'node_gateway_tokens_expired_total') === 1, 3000);
  });
});

describe('hostile WebSocket clients', () => {
  it('a refused (4401) client that sends an oversized or unmasked frame does not take the daemon down', async () => {
    const d = await start(['--webapps-dir', join(REPO, 'examples', 'webapps'), '--max-message-bytes', '1024']);
    // An ordinary client: a page reopened with a token the gateway does not know, sending at once.
    const c = openClient(commandUrl(d, '1'.repeat(44)));
    c.ws.on('error', () => {});
    c.ws.once('open', () => c.ws.send(Buffer.alloc(4096)));
    expect([4401, 1006]).toContain((await c.closed).code);
    // Raw: the upgrade and a frame the server must refuse (unmasked, then a 2^63-byte length).
    const { connect } = await import('node:net');
    for (const frame of [Buffer.from([0x82, 0x03, 1, 2, 3]), Buffer.from([0x82, 0xff, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff])]) {
      await new Promise<void>((resolve) => {
        const s = connect(d.port, '127.0.0.1', () => {
          s.write(
            `GET /v1/contract/command?authToken=${'2'.repeat(44)} HTTP/1.1\r\nHost: 127.0.0.1:${d.port}\r\n` +
              'Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
          );
          s.write(frame);
        });
        s.on('error', () => resolve());
        s.on('close', () => resolve());
        s.resume();
      });
    }
    const health = await fetch(`${d.base}/healthz`);
    expect(health.status).toBe(200);
    expect(d.child.exitCode).toBeNull();
  });

  type Frames = { put: Buffer; get: Buffer; subscribe: Buffer; update(next: Buffer): Promise<Buffer> };
  async function frames900k(): Promise<Frames> {
    const { contractFrames } = (await import('../../bench/lib/freenet-frames.mjs')) as {
      contractFrames(stateBytes: number): Promise<Frames>;
    };
    return contractFrames(900 * 1024);
  }
  async function putWith(d: Daemon, frames: Frames): Promise<void> {
    const writer = openClient(commandUrl(d));
    await writer.opened;
    writer.ws.send(frames.put);
    await eventually(() => writer.messages.length === 1);
    writer.ws.close();
  }
  /** `ws.pause()`, not the socket's: the client library resumes its socket by itself otherwise. */
  function stopReading(c: ReturnType<typeof openClient>): { resume(): void } {
    c.ws.pause();
    return c.ws;
  }

  it('a client that asks and never reads is no longer read from; the heartbeat ends it', async () => {
    const d = await start(['--max-message-bytes', '1048576', '--heartbeat-interval-seconds', '1']);
    const frames = await frames900k();
    await putWith(d, frames);
    const reader = openClient(commandUrl(d));
    await reader.opened;
    const socket = stopReading(reader);
    // 300 Gets of a 900 KiB state: ~270 MB of answers if the gateway kept answering.
    for (let i = 0; i < 300; i++) reader.ws.send(frames.get);
    await eventually(async () => metricSum(await metricsText(d), 'node_gateway_connections_terminated_total') >= 1, 15_000);
    const text = await metricsText(d);
    expect(text).toMatch(/node_gateway_connections_terminated_total\{reason="heartbeat"\} 1/);
    // Reading stopped after 1 MiB of unread answers queued in the process (the kernel's socket
    // buffers take several MB more first): a few Gets were answered, not 300.
    const gets = Number(/node_gateway_messages_total\{type="get"\} (\d+)/.exec(text)?.[1]);
    expect(gets).toBeGreaterThanOrEqual(1);
    expect(gets).toBeLessThan(30);
    expect(metricSum(text, 'process_resident_memory_bytes')).toBeLessThan(300 * 1024 * 1024);
    socket.resume();
    await reader.closed;
    expect((await fetch(`${d.base}/healthz`)).status).toBe(200);
  });

  it('a slow but steady reader outlasts a short heartbeat: taking our bytes counts as alive', async () => {
    const d = await start(['--max-message-bytes', '1048576', '--heartbeat-interval-seconds', '1']);
    const frames = await frames900k();
    await putWith(d, frames);
    const c = openClient(commandUrl(d));
    await c.opened;
    for (let i = 0; i < 60; i++) c.ws.send(frames.get);
    // ~54 MB of answers, taken in small sips over several heartbeat intervals.
    let received = 0;
    const started = Date.now();
    c.ws.pause();
    while (received < 60 && c.ws.readyState === c.ws.OPEN) {
      c.ws.resume();
      await new Promise((r) => setTimeout(r, 2));
      c.ws.pause();
      received += c.messages.splice(0).length;
      await new Promise((r) => setTimeout(r, 150));
    }
    expect(received).toBe(60);
    expect(Date.now() - started).toBeGreaterThan(2200); // more than two heartbeat intervals
    expect(await metricsText(d)).toMatch(/connections_terminated_total\{reason="heartbeat"\} 0/);
    c.ws.resume();
    c.ws.close();
  });

  it('requests sent in one burst behind an Authenticate still wait while the client is behind', async () => {
    const { AuthenticateT, ClientRequest, ClientRequestT, ClientRequestType } = await import('@freenetorg/freenet-stdlib/client-request.js');
    const { Builder } = await import('flatbuffers');
    const d = await start(['--webapps-dir', join(REPO, 'examples', 'webapps'), '--max-message-bytes', '1048576', '--max-send-buffer-bytes', '4194304']);
    const frames = await frames900k();
    await putWith(d, frames);
    const token = (await loadPage(d)).token;
    const b = new Builder(256);
    ClientRequest.finishClientRequestBuffer(b, new ClientRequestT(ClientRequestType.Authenticate, new AuthenticateT(token)).pack(b));
    const auth = b.asUint8Array();

    // Authenticate answers later (it asks the token store), so the Gets behind it are held back;
    // 20 answers of 900 KiB are 18 MB, over the 4 MiB limit if they were all queued at once.
    const c = openClient(commandUrl(d));
    await c.opened;
    const socket = (c.ws as unknown as { _socket: import('node:net').Socket })._socket;
    socket.cork();
    c.ws.send(auth);
    for (let i = 0; i < 20; i++) c.ws.send(frames.get);
    socket.uncork();
    // A slow but steady reader.
    const received: number[] = [];
    c.ws.pause();
    while (received.length < 20) {
      c.ws.resume();
      await new Promise((r) => setTimeout(r, 30));
      c.ws.pause();
      received.push(...c.messages.splice(0).map((m) => m.length));
      await new Promise((r) => setTimeout(r, 100));
      if (c.ws.readyState !== c.ws.OPEN) break;
    }
    expect(received.length).toBe(20);
    expect(received.every((n) => n > 900 * 1024)).toBe(true);
    expect(await metricsText(d)).toMatch(/connections_terminated_total\{reason="send_buffer"\} 0/);
    c.ws.resume();
    c.ws.close();
  });

  it('a subscriber that never reads is terminated once its unread notifications pass max-send-buffer-bytes', async () => {
    const d = await start(['--max-message-bytes', '1048576', '--max-send-buffer-bytes', '4194304']);
    const frames = await frames900k();
    await putWith(d, frames);
    const subscriber = openClient(commandUrl(d));
    await subscriber.opened;
    subscriber.ws.send(frames.subscribe);
    await eventually(() => subscriber.messages.length === 1);
    const socket = stopReading(subscriber);

    const writer = openClient(commandUrl(d));
    await writer.opened;
    for (let i = 0; i < 12; i++) {
      writer.ws.send(await frames.update(Buffer.alloc(900 * 1024, i + 1)));
      await eventually(() => writer.messages.length === i + 1);
    }
    await eventually(async () => /connections_terminated_total\{reason="send_buffer"\} 1/.test(await metricsText(d)), 10_000);
    expect(d.stdout).toContain('send buffer over max-send-buffer-bytes');
    // The writer is unaffected.
    writer.ws.send(frames.get);
    await eventually(() => writer.messages.length === 13);
    socket.resume();
    await subscriber.closed;
  });
});
