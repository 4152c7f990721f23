import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  commandUrl,
  EXAMPLE_KEY,
  loadPage,
  metricSum,
  metricsText,
  mintToken,
  openClient,
  silentClient,
  upgradeStatus,
} from '../helpers/client.js';
import { cleanEnv, Daemon, eventually, REPO, runCli, tempDir } from '../helpers/daemon.js';

const WEBAPPS = join(REPO, 'examples', 'webapps');
const running: Daemon[] = [];
const dirs: Array<{ remove(): void }> = [];

async function start(args: string[], env: Record<string, string> = {}): Promise<Daemon> {
  const dir = tempDir();
  dirs.push(dir);
  const d = await Daemon.start(['--data-dir', join(dir.path, 'data'), '--webapps-dir', WEBAPPS, ...args], {
    cwd: dir.path,
    env: cleanEnv(env, dir.path),
  });
  running.push(d);
  return d;
}

afterEach(async () => {
  await Promise.all(running.splice(0).map((d) => d.stop()));
  while (dirs.length > 0) dirs.pop()?.remove();
});

describe('token expiry against the real daemon', () => {
  it('custom TTL and interval are applied: config shows them and the daemon uses them', async () => {
    const dir = tempDir();
    dirs.push(dir);
    const cfg = runCli(['config', '--json', '--token-ttl-seconds', '2', '--token-cleanup-interval-seconds', '1'], {
      cwd: dir.path,
      env: cleanEnv({}, dir.path),
    });
    const keys = (JSON.parse(cfg.stdout) as { keys: Record<string, { value: unknown }> }).keys;
    expect(keys['token-ttl-seconds']?.value).toBe(2);
    expect(keys['token-cleanup-interval-seconds']?.value).toBe(1);

    const d = await start(['--token-ttl-seconds', '2', '--token-cleanup-interval-seconds', '1']);
    const tokens = await Promise.all([mintToken(d), mintToken(d), mintToken(d)]);
    expect((await d.health()).tokens).toBe(3);
    // Removed by the loop, observed from outside: back to 0 within TTL + interval (+ slack).
    await eventually(async () => (await d.health()).tokens === 0, 6000);
    const removal = await d.waitForLog((l) => l.msg === 'expired tokens removed');
    expect(removal).toMatchObject({ removed: 3, remaining: 0 });
    // And such a token no longer opens a connection.
    const c = openClient(commandUrl(d, tokens[0]));
    expect(await c.closed).toEqual({ code: 4401, reason: 'AUTH_TOKEN_INVALID' });
  });

  it('defaults are 86400 / 300 in the running daemon', async () => {
    const d = await start([]);
    const lines = d.logs().filter((l) => l.msg === 'config');
    expect(lines.find((l) => l['key'] === 'token-ttl-seconds')).toMatchObject({ value: 86400, source: 'default' });
    expect(lines.find((l) => l['key'] === 'token-cleanup-interval-seconds')).toMatchObject({ value: 300, source: 'default' });
    const page = await loadPage(d);
    expect(page.headers.get('set-cookie')).toContain('Max-Age=86400');
  });

  it('C2: 1,000 minted, never-read tokens are gone about 4 s later, with no reads', async () => {
    const d = await start(['--token-ttl-seconds', '2', '--token-cleanup-interval-seconds', '1']);
    for (let i = 0; i < 1000; i += 50) {
      await Promise.all(Array.from({ length: 50 }, () => mintToken(d)));
    }
    // On a slow machine the first tokens may already be expiring: count what was issued instead.
    expect(metricSum(await metricsText(d), 'node_gateway_tokens_issued_total')).toBe(1000);
    const t0 = Date.now();
    await eventually(async () => (await d.health()).tokens === 0, 8000, 100);
    expect(Date.now() - t0).toBeLessThan(8000);
  });

  it('C3: a token minted over HTTP and never used is gone after TTL + one cleanup interval', async () => {
    const d = await start(['--token-ttl-seconds', '1', '--token-cleanup-interval-seconds', '1']);
    const token = await mintToken(d);
    expect((await d.health()).tokens).toBe(1);
    await eventually(async () => (await d.health()).tokens === 0, 5000);
    const c = openClient(commandUrl(d, token));
    expect((await c.closed).code).toBe(4401);
  });

  it('sliding expiry: an open connection keeps its token over several TTLs; after close it lasts one TTL; reconnect works', async () => {
    const d = await start(['--token-ttl-seconds', '1', '--token-cleanup-interval-seconds', '1']);
    const token = await mintToken(d);
    const c1 = openClient(commandUrl(d, token));
    await c1.opened;
    // Three TTLs with the page connected: the token stays.
    await new Promise((r) => setTimeout(r, 3200));
    expect((await d.health()).tokens).toBe(1);
    c1.ws.close();
    await c1.closed;
    // A reconnect within the TTL after the close is accepted.
    await new Promise((r) => setTimeout(r, 300));
    const c2 = openClient(commandUrl(d, token));
    await c2.opened;
    c2.ws.close();
    await c2.closed;
    // Then, idle: gone about one TTL (+ a cleanup run) later.
    await eventually(async () => (await d.health()).tokens === 0, 5000);
    const c3 = openClient(commandUrl(d, token));
    expect((await c3.closed).code).toBe(4401);
  });
});

describe('authentication of WebSocket connections', () => {
  it('C1: a made-up token is closed 4401 at once, none of its requests run, and warned about once', async () => {
    const d = await start(['--token-ttl-seconds', '60']);
    const fake = 'Bx3sBKLmGdC1sZVEFgm2UvYnBzB4k4f7oQ4sUH2JZxKq';
    const before = metricSum(await metricsText(d), 'node_gateway_messages_total');
    const c = openClient(commandUrl(d, fake));
    c.ws.on('open', () => {
      for (let i = 0; i < 5; i++) c.ws.send(Buffer.from([1, 2, 3, 4, i]));
    });
    expect(await c.closed).toEqual({ code: 4401, reason: 'AUTH_TOKEN_INVALID' });
    expect(c.messages).toHaveLength(0);
    // The same token, a thousand times (in batches, as a reconnect loop would).
    for (let i = 0; i < 1000; i += 100) {
      await Promise.all(
        Array.from({ length: 100 }, async () => {
          const again = openClient(commandUrl(d, fake));
          expect((await again.closed).code).toBe(4401);
        }),
      );
    }
    const text = await metricsText(d);
    expect(metricSum(text, 'node_gateway_messages_total')).toBe(before);
    expect(metricSum(text, 'node_gateway_auth_failures_total')).toBe(1001);
    const warnings = d.logs().filter((l) => /unknown or expired auth token/.test(l.msg));
    expect(warnings).toHaveLength(1);
    expect(d.stdout).not.toContain(fake);
    // Still serving.
    expect((await d.health()).status).toBe('ok');
  });

  it('a flood of distinct made-up tokens writes at most 100 warning lines a minute', async () => {
    const d = await start([]);
    for (let i = 0; i < 150; i += 50) {
      await Promise.all(
        Array.from({ length: 50 }, async (_, j) => {
          const c = openClient(commandUrl(d, `madeUp${i + j}x`));
          expect((await c.closed).code).toBe(4401);
        }),
      );
    }
    expect(metricSum(await metricsText(d), 'node_gateway_auth_failures_total')).toBe(150);
    expect(d.logs().filter((l) => l.msg.startsWith('unknown or expired auth token'))).toHaveLength(100);
    expect((await d.health()).status).toBe('ok');
  });

  it('an unknown token in the Authorization header is refused the same way', async () => {
    const d = await start([]);
    const c = openClient(`${d.wsBase}/v1/contract/command`, { headers: { Authorization: 'Bearer 3yZe7d' } });
    expect((await c.closed).code).toBe(4401);
    const good = await mintToken(d);
    const ok = openClient(`${d.wsBase}/v1/contract/command/`, { headers: { Authorization: `Bearer ${good}` } });
    await ok.opened;
    expect((await d.health()).connections).toBe(1);
    ok.ws.close();
    await ok.closed;
  });

  it('no token: served without an attested contract', async () => {
    const d = await start([]);
    const c = openClient(`${d.wsBase}/v1/contract/command`);
    await c.opened;
    expect((await d.health()).connections).toBe(1);
    c.ws.close(1000);
    expect((await c.closed).code).toBe(1000);
  });

  it('an encoding other than flatbuffers is refused with 400 naming it', async () => {
    const d = await start([]);
    const r = await upgradeStatus(`${d.wsBase}/v1/contract/command?encodingProtocol=native`);
    expect(r.status).toBe(400);
    expect(r.body).toContain('"native"');
    const h = await upgradeStatus(`${d.wsBase}/v1/contract/command`, { 'Encoding-Protocol': 'json' });
    expect(h.status).toBe(400);
    expect(h.body).toContain('"json"');
    expect((await upgradeStatus(`${d.wsBase}/v1/contract/command?encodingProtocol=flatbuffers`)).status).toBe(101);
    expect((await upgradeStatus(`${d.wsBase}/v1/other`)).status).toBe(404);
  });

  it('Host and Origin checks refuse DNS-rebinding before the upgrade', async () => {
    const d = await start(['--allowed-host', 'gw.example.org']);
    const url = `${d.wsBase}/v1/contract/command`;
    expect((await upgradeStatus(url, { Host: 'evil.example' })).status).toBe(403);
    expect((await upgradeStatus(url, { Host: `evil.example:${d.port}` })).status).toBe(403);
    expect((await upgradeStatus(url, { Host: `gw.example.org:${d.port}`, Origin: `http://gw.example.org:${d.port}` })).status).toBe(101);
    expect((await upgradeStatus(url, { Host: `localhost:${d.port}` })).status).toBe(101);
    expect((await upgradeStatus(url, { Origin: 'http://evil.example' })).status).toBe(403);
    expect((await upgradeStatus(url, { Origin: 'null' })).status).toBe(403);
    expect((await upgradeStatus(url, { Origin: `http://127.0.0.1:${d.port}` })).status).toBe(101);
    // Pages hand out tokens, so they get the same Host check.
    // (fetch may not set Host; send it raw.)
    expect(await rawGet(d.port, `/v1/contract/web/${EXAMPLE_KEY}/`, 'evil.example')).toMatch(/^HTTP\/1\.1 403/);
    expect(await rawGet(d.port, `/v1/contract/web/${EXAMPLE_KEY}/`, `gw.example.org:${d.port}`)).toMatch(/^HTTP\/1\.1 200/);
  });
});

describe('connection health and limits', () => {
  it('C6: a client that stops answering pings is terminated within ~2 heartbeats and its token’s idle clock starts', async () => {
    const d = await start(['--heartbeat-interval-seconds', '1', '--token-ttl-seconds', '2', '--token-cleanup-interval-seconds', '1']);
    const token = await mintToken(d);
    const sock = await silentClient(d, token);
    await eventually(async () => (await d.health()).connections === 1, 2000);
    const t0 = Date.now();
    await eventually(async () => (await d.health()).connections === 0, 4000, 50);
    expect(Date.now() - t0).toBeLessThan(3500);
    // Released: the token now expires one TTL later like any idle token.
    await eventually(async () => (await d.health()).tokens === 0, 5000);
    sock.destroy();
  });

  it('C7: a message over max-message-bytes closes that connection with 1009; others carry on', async () => {
    const d = await start(['--max-message-bytes', '1024']);
    const big = openClient(`${d.wsBase}/v1/contract/command`);
    const other = openClient(`${d.wsBase}/v1/contract/command`);
    await Promise.all([big.opened, other.opened]);
    big.ws.send(Buffer.alloc(4096, 7));
    expect((await big.closed).code).toBe(1009);
    // The other connection still answers: a small frame gets a response.
    other.ws.send(Buffer.from([0, 0, 0, 0]));
    await eventually(() => other.messages.length > 0, 3000);
    expect(other.ws.readyState).toBe(other.ws.OPEN);
    expect((await d.health()).status).toBe('ok');
    other.ws.close();
    await other.closed;
  });
});

describe('web app pages (§4)', () => {
  it('mints a token per page load, injects it, and sets the header and cookie', async () => {
    const d = await start(['--token-ttl-seconds', '600']);
    const a = await loadPage(d);
    const b = await loadPage(d);
    expect(a.status).toBe(200);
    expect(a.token).toBeDefined();
    expect(a.token).not.toBe(b.token);
    expect(a.html.indexOf('__FREENET_AUTH_TOKEN__')).toBeLessThan(a.html.indexOf('</head>'));
    expect(a.headers.get('authorization')).toBe(`Bearer ${a.token}`);
    expect(a.headers.get('set-cookie')).toBe(
      `authorization=Bearer ${a.token}; Path=/v1/contract/web/${EXAMPLE_KEY}; SameSite=Strict; Max-Age=600`,
    );
    expect(a.headers.get('cache-control')).toBe('no-store');
    expect(a.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect((await d.health()).tokens).toBe(2);
  });

  it('serves the other files with content types and no token, and nothing outside the folder', async () => {
    const d = await start([]);
    const base = `${d.base}/v1/contract/web/${EXAMPLE_KEY}`;
    const js = await fetch(`${base}/app.js`);
    expect(js.status).toBe(200);
    expect(js.headers.get('content-type')).toMatch(/^(application|text)\/javascript; charset=utf-8$/);
    expect(js.headers.get('authorization')).toBeNull();
    expect((await fetch(`${base}/style.css`)).headers.get('content-type')).toBe('text/css; charset=utf-8');
    expect((await d.health()).tokens).toBe(0);
    for (const evil of ['/..%2f..%2fpackage.json', '/%2e%2e/%2e%2e/package.json', '/..%5c..%5cpackage.json', '/%00']) {
      const r = await fetch(`${base}${evil}`);
      expect([400, 404], evil).toContain(r.status);
    }
    // fetch normalises literal dots; send one raw.
    const raw = await rawGet(d.port, `/v1/contract/web/${EXAMPLE_KEY}/../../../../etc/passwd`);
    expect(raw).toMatch(/^HTTP\/1\.1 (400|404)/);
    expect(raw).not.toContain('root:');
    expect((await fetch(`${base}/missing.js`)).status).toBe(404);
  });

  it('400 for an invalid key, 404 for an unknown one, redirect without the trailing slash', async () => {
    const d = await start([]);
    expect((await fetch(`${d.base}/v1/contract/web/not-a-key/`)).status).toBe(400);
    expect((await fetch(`${d.base}/v1/contract/web/0OIl/`)).status).toBe(400);
    expect((await fetch(`${d.base}/v1/contract/web/2VfUX/`)).status).toBe(400);
    expect((await fetch(`${d.base}/v1/contract/web/11111111111111111111111111111111/`)).status).toBe(404);
    const r = await fetch(`${d.base}/v1/contract/web/${EXAMPLE_KEY}`, { redirect: 'manual' });
    expect(r.status).toBe(301);
    expect(r.headers.get('location')).toBe(`/v1/contract/web/${EXAMPLE_KEY}/`);
    expect((await d.health()).tokens).toBe(0);
  });

  it('at max-tokens a page load is refused with 503 and Retry-After, and no token in use is evicted', async () => {
    const d = await start(['--max-tokens', '2', '--token-cleanup-interval-seconds', '7']);
    const t1 = await mintToken(d);
    const c = openClient(commandUrl(d, t1));
    await c.opened;
    await mintToken(d);
    const refused = await loadPage(d);
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toBe('7');
    expect(refused.token).toBeUndefined();
    await loadPage(d);
    // The connected page's token still works for a new connection.
    const again = openClient(commandUrl(d, t1));
    await again.opened;
    const capLogs = d.logs().filter((l) => /token cap reached/.test(l.msg));
    expect(capLogs).toHaveLength(1);
    c.ws.close();
    again.ws.close();
    await Promise.all([c.closed, again.closed]);
  });
});

describe('secrets never reach the output', () => {
  it('C8: tokens in URLs, headers and bad tokens appear 0 times in all output at trace level', async () => {
    const d = await start(['--log-level', 'trace', '--token-ttl-seconds', '60']);
    const tokens: string[] = [];
    for (let i = 0; i < 5; i++) tokens.push(await mintToken(d));
    const c1 = openClient(commandUrl(d, tokens[0]));
    const c2 = openClient(`${d.wsBase}/v1/contract/command`, { headers: { Authorization: `Bearer ${tokens[1]}`, Cookie: `authorization=Bearer ${tokens[1]}` } });
    await Promise.all([c1.opened, c2.opened]);
    c1.ws.send(Buffer.from([9, 9, 9]));
    await eventually(() => c1.messages.length > 0, 3000);
    const secret = 'SECRETzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz'.replace(/[0OIl]/g, 'z');
    const bad = openClient(commandUrl(d, secret));
    await bad.closed;
    const bad2 = openClient(commandUrl(d, 'SECRET-not-even-base58'));
    await bad2.closed;
    c1.ws.close();
    c2.ws.close();
    await Promise.all([c1.closed, c2.closed]);
    await d.stop();
    const all = d.stdout + d.stderr;
    expect(all.length).toBeGreaterThan(0);
    expect(d.logs().some((l) => l.level === 10)).toBe(true);
    for (const t of [...tokens, secret, 'SECRET-not-even-base58']) expect(all).not.toContain(t);
    expect(all).not.toContain('SECRET');
  });
});

function rawGet(port: number, path: string, host = `127.0.0.1:${port}`): Promise<string> {
  return new Promise((resolve, reject) => {
    import('node:net').then(({ connect }) => {
      const s = connect(port, '127.0.0.1', () => {
        s.write(`GET ${path} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`);
      });
      let out = '';
      s.setEncoding('latin1').on('data', (c: string) => (out += c));
      s.on('end', () => resolve(out));
      s.on('error', reject);
    }, reject);
  });
}
