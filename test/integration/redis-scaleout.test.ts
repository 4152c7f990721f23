import { join } from 'node:path';
import { GetRequest, ContractKey } from '@freenetorg/freenet-stdlib/websocket-interface.js';
import { ClientRequest, ClientRequestT, ClientRequestType, ContractRequestT, ContractRequestType } from '@freenetorg/freenet-stdlib/client-request.js';
import { Builder } from 'flatbuffers';
import { afterEach, describe, expect, it } from 'vitest';
import { commandUrl, loadPage, mintToken, openClient, upgradeStatus } from '../helpers/client.js';
import { cleanEnv, Daemon, eventually, REPO, tempDir } from '../helpers/daemon.js';
import { hasRedisServerBinary, PrivateRedis } from '../helpers/redis.js';

const WEBAPPS = join(REPO, 'examples', 'webapps');
const HAVE_REDIS = hasRedisServerBinary();
if (!HAVE_REDIS) {
  console.warn('Redis scale-out tests skipped: no redis-server on PATH. Install Debian\'s redis-server (apt-get install redis-server) and run npm test again.');
}

const running: Daemon[] = [];
const redises: PrivateRedis[] = [];
const dirs: Array<{ remove(): void }> = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((d) => d.stop()));
  await Promise.all(redises.splice(0).map((r) => r.stop()));
  while (dirs.length > 0) dirs.pop()?.remove();
});

async function gateway(redisUrl: string, args: string[]): Promise<Daemon> {
  const dir = tempDir();
  dirs.push(dir);
  const d = await Daemon.start(['--data-dir', dir.path, '--webapps-dir', WEBAPPS, '--token-store', redisUrl, ...args], {
    cwd: dir.path,
    env: cleanEnv({}, dir.path),
  });
  running.push(d);
  return d;
}

/** A Get for an unknown contract: any answer proves the connection still processes requests. */
function getFrame(): Uint8Array {
  const b = new Builder(256);
  const get = new GetRequest(ContractKey.fromInstanceId('11111111111111111111111111111111'), false);
  ClientRequest.finishClientRequestBuffer(
    b,
    new ClientRequestT(ClientRequestType.ContractRequest, new ContractRequestT(ContractRequestType.Get, get)).pack(b),
  );
  return b.asUint8Array();
}

describe.skipIf(!HAVE_REDIS)('several gateways share tokens through Redis (§8)', () => {
  it('a token minted on A works on B; an open connection on B keeps it alive for A; idle, both refuse it', async () => {
    const redis = await PrivateRedis.start();
    redises.push(redis);
    const args = ['--token-ttl-seconds', '2', '--token-cleanup-interval-seconds', '1'];
    const [a, b] = await Promise.all([gateway(redis.url, args), gateway(redis.url, args)]);
    const token = await mintToken(a);
    expect((await a.health()).tokens).toBe(1);
    expect((await b.health()).tokens).toBe(1);

    const onB = openClient(commandUrl(b, token));
    await onB.opened;
    // Two TTLs with the page's connection on B: A still accepts the token.
    await new Promise((r) => setTimeout(r, 4500));
    const onA = openClient(commandUrl(a, token));
    await onA.opened;
    onA.ws.close();
    onB.ws.close();
    await Promise.all([onA.closed, onB.closed]);

    // Now idle everywhere: a TTL later both refuse it.
    await eventually(async () => (await a.health()).tokens === 0 && (await b.health()).tokens === 0, 8000, 100);
    for (const g of [a, b]) {
      const c = openClient(commandUrl(g, token));
      expect(await c.closed).toEqual({ code: 4401, reason: 'AUTH_TOKEN_INVALID' });
    }
    expect(a.stdout + b.stdout).not.toContain(token);
  });

  it('Redis lost: open connections carry on, new ones are refused clearly, and it recovers without a restart', async () => {
    const redis = await PrivateRedis.start();
    redises.push(redis);
    const g = await gateway(redis.url, ['--token-ttl-seconds', '60']);
    const token = await mintToken(g);
    const open = openClient(commandUrl(g, token));
    await open.opened;

    await redis.stop();
    // The open connection still answers requests.
    open.ws.send(getFrame());
    await eventually(() => open.messages.length === 1, 5000);
    // New authentications are refused with a clear 503, page loads too; health says degraded.
    await eventually(async () => (await upgradeStatus(commandUrl(g, token))).status === 503, 5000);
    const refused = await upgradeStatus(commandUrl(g, token));
    expect(refused.body).toMatch(/token store unavailable/);
    const page = await loadPage(g);
    expect(page.status).toBe(503);
    expect(page.token).toBeUndefined();
    expect((await g.health()).status).toBe('degraded');
    for (let i = 0; i < 20; i++) await upgradeStatus(commandUrl(g, token));

    await redis.start();
    // Back without restarting the gateway: new page loads and connections work again.
    await eventually(async () => (await loadPage(g)).status === 200, 15_000, 200);
    const fresh = await mintToken(g);
    const c = openClient(commandUrl(g, fresh));
    await c.opened;
    // The still-open connection's token was written back, so that page can reconnect too.
    const again = openClient(commandUrl(g, token));
    await again.opened;
    open.ws.send(getFrame());
    await eventually(() => open.messages.length === 2, 5000);
    for (const x of [c, again, open]) x.ws.close();
    await Promise.all([c.closed, again.closed, open.closed]);

    // One line per episode, not one per refused request.
    const lost = g.logs().filter((l) => l.level >= 40 && /redis|token store/i.test(l.msg));
    expect(lost.length).toBeGreaterThanOrEqual(1);
    expect(lost.length).toBeLessThanOrEqual(2);
    expect(g.stdout).not.toContain(token);
  });

  it('Redis unreachable at start: a clear error and a non-zero exit', async () => {
    const dir = tempDir();
    dirs.push(dir);
    const { runCli } = await import('../helpers/daemon.js');
    const r = runCli(['--ws-api-port', '0', '--data-dir', dir.path, '--token-store', 'redis://:hunter2@127.0.0.1:1/0'], {
      cwd: dir.path,
      env: cleanEnv({}, dir.path),
    });
    expect(r.status).not.toBe(0);
    expect(r.stdout).toMatch(/token store unavailable at start/);
    expect(r.stdout).toMatch(/127\.0\.0\.1:1/);
    expect(r.stdout + r.stderr).not.toContain('hunter2');
    expect(r.stdout).not.toMatch(/listening on/);
  });
});
