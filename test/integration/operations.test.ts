import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { closeCodeIn, commandUrl, metricSum, metricsText, mintToken, openClient, silentClient } from '../helpers/client.js';
import { BIN, cleanEnv, Daemon, eventually, REPO, runCli, tempDir } from '../helpers/daemon.js';

const WEBAPPS = join(REPO, 'examples', 'webapps');
const running: Daemon[] = [];
const dirs: Array<{ remove(): void }> = [];

function scratch(): string {
  const d = tempDir();
  dirs.push(d);
  return d.path;
}

async function start(dataDir: string, args: string[]): Promise<Daemon> {
  const d = await Daemon.start(['--data-dir', dataDir, '--webapps-dir', WEBAPPS, ...args], {
    cwd: dataDir,
    env: cleanEnv({}, dataDir),
  });
  running.push(d);
  return d;
}

afterEach(async () => {
  await Promise.all(running.splice(0).map((d) => d.stop()));
  while (dirs.length > 0) dirs.pop()?.remove();
});

describe('graceful shutdown', () => {
  it('C12: clients that never answer the close handshake get 1001, then exit 0 within shutdown-timeout-seconds', async () => {
    const dir = scratch();
    const d = await start(dir, ['--shutdown-timeout-seconds', '2', '--token-cleanup-interval-seconds', '1']);
    const received: Buffer[][] = [[], [], []];
    const socks: Socket[] = [];
    for (const r of received) socks.push(await silentClient(d, await mintToken(d), r));
    await eventually(async () => (await d.health()).connections === 3);
    const t0 = Date.now();
    const exit = await d.stop();
    const took = Date.now() - t0;
    expect(exit).toEqual({ code: 0, signal: null });
    expect(took).toBeLessThan(2000 + 1000);
    for (const r of received) expect(closeCodeIn(r)).toBe(1001);
    for (const s of socks) s.destroy();
    expect(d.logs().some((l) => l.msg === 'stopped')).toBe(true);
  });

  it('a second signal during shutdown exits at once, non-zero', async () => {
    const dir = scratch();
    const d = await start(dir, ['--shutdown-timeout-seconds', '30']);
    const sock = await silentClient(d, await mintToken(d), []);
    await eventually(async () => (await d.health()).connections === 1);
    d.child.kill('SIGTERM');
    await d.waitForLog((l) => l.msg === 'shutting down');
    const t0 = Date.now();
    d.child.kill('SIGTERM');
    const exit = await d.exited;
    expect(Date.now() - t0).toBeLessThan(2000);
    expect(exit.code).toBe(143);
    sock.destroy();
  });
});

describe('tokens survive a graceful restart', () => {
  it('a connected page reconnects with its token after a restart; a token already idle past its TTL gets 4401', async () => {
    const dir = scratch();
    // A long cleanup interval, so the stale token is still in the map at shutdown and only the
    // snapshot's own expiry check can drop it.
    const args = ['--token-ttl-seconds', '3', '--token-cleanup-interval-seconds', '3600'];
    const d1 = await start(dir, args);
    const live = await mintToken(d1);
    const stale = await mintToken(d1);
    const c = openClient(commandUrl(d1, live));
    await c.opened;
    await new Promise((r) => setTimeout(r, 3300));
    expect(await d1.stop()).toEqual({ code: 0, signal: null });
    expect((await c.closed).code).toBe(1001);
    const snap = join(dir, 'tokens.snapshot.json');
    expect(statSync(snap).mode & 0o777).toBe(0o600);

    const d2 = await start(dir, args);
    expect(d2.logs().find((l) => l.msg === 'tokens restored from snapshot')).toMatchObject({ restored: 1 });
    expect(existsSync(snap)).toBe(false);
    const again = openClient(commandUrl(d2, live));
    await again.opened;
    expect((await d2.health()).tokens).toBe(1);
    const old = openClient(commandUrl(d2, stale));
    expect(await old.closed).toEqual({ code: 4401, reason: 'AUTH_TOKEN_INVALID' });
    again.ws.close();
    await again.closed;
    expect(d2.stdout + d1.stdout).not.toContain(live);
  });

  it('a start that fails (port taken) keeps the whole snapshot for the retry', async () => {
    const dir = scratch();
    const d1 = await start(dir, ['--token-ttl-seconds', '600']);
    const token = await mintToken(d1);
    const other = await mintToken(d1);
    expect(await d1.stop()).toEqual({ code: 0, signal: null });

    const blocker = createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    const taken = (blocker.address() as AddressInfo).port;
    try {
      // With a smaller cap, too: the failed start restores 1 of 2, but must not write that back.
      const failed = runCli(['--data-dir', dir, '--webapps-dir', WEBAPPS, '--ws-api-port', String(taken), '--max-tokens', '1'], {
        cwd: dir,
        env: cleanEnv({}, dir),
      });
      expect(failed.status).toBe(69);
      expect(failed.stdout + failed.stderr).not.toContain(token);
      expect(failed.stdout + failed.stderr).not.toContain(other);
    } finally {
      await new Promise((r) => blocker.close(r));
    }
    expect(existsSync(join(dir, 'tokens.snapshot.json'))).toBe(true);

    const d2 = await start(dir, ['--token-ttl-seconds', '600']);
    expect(d2.logs().find((l) => l.msg === 'tokens restored from snapshot')).toMatchObject({ restored: 2 });
    expect(existsSync(join(dir, 'tokens.snapshot.json'))).toBe(false);
    const c = openClient(commandUrl(d2, token));
    await c.opened;
    c.ws.close();
    await c.closed;
  });

  it('a SIGTERM the moment "listening" is said is a graceful stop: the restored tokens are saved again', async () => {
    const dir = scratch();
    const d1 = await start(dir, ['--token-ttl-seconds', '600']);
    const token = await mintToken(d1);
    expect(await d1.stop()).toEqual({ code: 0, signal: null });
    const snap = join(dir, 'tokens.snapshot.json');
    for (let round = 0; round < 5; round++) {
      // Signalled from the data event that carries the line, as a supervisor waiting for it would.
      const child = spawn(process.execPath, ['--', BIN, '--data-dir', dir, '--webapps-dir', WEBAPPS, '--ws-api-port', '0'], {
        cwd: dir,
        env: cleanEnv({}, dir),
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
        if (!out.includes('listening on') && (out + chunk).includes('listening on')) child.kill('SIGTERM');
        out += chunk;
      });
      const exit = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) =>
        child.on('exit', (code, signal) => r({ code, signal })),
      );
      expect(exit, `round ${round}`).toEqual({ code: 0, signal: null });
      expect(readFileSync(snap, 'utf8'), `round ${round}`).toContain(token);
    }
  });

  it('a corrupt snapshot is logged and ignored, never fatal', async () => {
    const dir = scratch();
    mkdirSync(join(dir, 'data'));
    writeFileSync(join(dir, 'data', 'tokens.snapshot.json'), '{"format": "node-gateway/tokens@1", "tokens": [{"token": 5}, 3');
    const d = await start(join(dir, 'data'), []);
    expect(d.logs().find((l) => l.msg === 'token snapshot ignored')).toMatchObject({ reason: 'not JSON' });
    expect((await d.health()).status).toBe('ok');
  });
});

describe('/metrics', () => {
  it('the token gauge follows mint and expiry; counters move; no token in any label', async () => {
    const dir = scratch();
    const d = await start(dir, ['--token-ttl-seconds', '1', '--token-cleanup-interval-seconds', '1']);
    let text = await metricsText(d);
    expect(metricSum(text, 'node_gateway_tokens')).toBe(0);
    expect(text).toContain('process_cpu_user_seconds_total');
    const tokens = [await mintToken(d), await mintToken(d)];
    text = await metricsText(d);
    expect(metricSum(text, 'node_gateway_tokens')).toBe(2);
    expect(metricSum(text, 'node_gateway_tokens_issued_total')).toBe(2);
    await eventually(async () => metricSum(await metricsText(d), 'node_gateway_tokens') === 0, 5000);
    text = await metricsText(d);
    expect(metricSum(text, 'node_gateway_tokens_expired_total')).toBe(2);
    expect(metricSum(text, 'node_gateway_cleanup_run_duration_seconds_count')).toBeGreaterThan(0);
    const bad = openClient(commandUrl(d, tokens[0]));
    await bad.closed;
    text = await metricsText(d);
    expect(metricSum(text, 'node_gateway_auth_failures_total')).toBe(1);
    for (const t of tokens) expect(text).not.toContain(t);
  });
});
