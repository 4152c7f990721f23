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
    expect((await d.health()).tokens).toBe(0);
    expect(await status({ 'Sec-Fetch-Site': 'cross-site', 'Sec-Fetch-Mode': 'navigate' })).toBe(200);
    expect(await status({ Origin: `http://127.0.0.1:${d.port}`, 'Sec-Fetch-Site': 'same-origin', 'Sec-Fetch-Mode': 'cors' })).toBe(200);
    expect(await status({})).toBe(200);
    // Another site framing the app: a navigation, but of an iframe.
    expect(await status({ 'Sec-Fetch-Site': 'cross-site', 'Sec-Fetch-Mode': 'navigate', 'Sec-Fetch-Dest': 'iframe' })).toBe(403);
    expect(await status({ 'Sec-Fetch-Site': 'cross-site', 'Sec-Fetch-Mode': 'navigate', 'Sec-Fetch-Dest': 'document' })).toBe(200);
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
