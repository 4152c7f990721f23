/**
 * Redis for the tests: find out quickly whether one is reachable, give each run its own key space,
 * clean up after it, and start a private throw-away redis-server for tests that stop and start it.
 *
 * REDIS_URL (default redis://127.0.0.1:6379) names the shared server. Without one, the Redis tests
 * are skipped with HOW_TO_RUN_REDIS_TESTS printed; everything else still runs.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { Redis } from 'ioredis';

export const REDIS_URL = process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379';

/** The URL without user or password, for messages. */
export function safeUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.hostname}:${u.port || '6379'}${u.pathname.length > 1 ? u.pathname : ''}`;
  } catch {
    return '(unparsable REDIS_URL)';
  }
}

export const HOW_TO_RUN_REDIS_TESTS =
  'start one with `redis-server --port 6379 --save "" --appendonly no` (loopback), ' +
  'or point REDIS_URL at one (REDIS_URL=redis://host:port npx vitest run test/unit/redis-store.test.ts)';

export type ProbeResult = { readonly ok: true } | { readonly ok: false; readonly reason: string };

/** PING within `timeoutMs`, no retries. Never throws. */
export async function probeRedis(url: string = REDIS_URL, timeoutMs = 1000): Promise<ProbeResult> {
  let client: Redis | undefined;
  let lastError = '';
  let timer: NodeJS.Timeout | undefined;
  try {
    client = new Redis(url, {
      lazyConnect: true,
      connectTimeout: timeoutMs,
      commandTimeout: timeoutMs,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    });
    client.on('error', (e: Error) => {
      lastError = e.message;
    });
    const c = client;
    const attempt = (async () => {
      await c.connect();
      await c.ping();
    })();
    attempt.catch(() => {});
    await Promise.race([
      attempt,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
    return { ok: true };
  } catch (e) {
    return { ok: false, reason: lastError || (e instanceof Error ? e.message : String(e)) };
  } finally {
    clearTimeout(timer);
    client?.disconnect();
  }
}

/** A key prefix no other run (or parallel test file) uses. */
export function uniquePrefix(tag = 'run'): string {
  return `node-gateway-test:${tag}:${process.pid}:${randomBytes(4).toString('hex')}:`;
}

/** Delete every key under `prefix` (SCAN + UNLINK; glob characters in the prefix are escaped). */
export async function deleteKeysWithPrefix(prefix: string, url: string = REDIS_URL): Promise<number> {
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  client.on('error', () => {});
  try {
    await client.connect();
    const match = `${prefix.replace(/[*?[\]\\]/g, (c) => `\\${c}`)}*`;
    let cursor = '0';
    let deleted = 0;
    do {
      const [next, keys] = await client.scan(cursor, 'MATCH', match, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) deleted += await client.unlink(...keys);
    } while (cursor !== '0');
    return deleted;
  } finally {
    client.disconnect();
  }
}

/** A plain client for looking at keys directly in tests; disconnect it when done. */
export async function rawClient(url: string = REDIS_URL): Promise<Redis> {
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  client.on('error', () => {});
  await client.connect();
  return client;
}

export async function freePort(): Promise<number> {
  const srv = createServer();
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const addr = srv.address();
  const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}

export function hasRedisServerBinary(): boolean {
  const r = spawnSync('redis-server', ['--version'], { stdio: 'ignore' });
  return r.status === 0;
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

const livePrivate = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of livePrivate) child.kill('SIGKILL');
});

/**
 * A redis-server of our own on a free loopback port, no persistence, so a test can stop, start
 * and freeze it without disturbing the shared server. stop() + start() loses all data, like a
 * real restart of a cache-mode Redis.
 */
export class PrivateRedis {
  readonly port: number;
  readonly url: string;
  #child: ChildProcess | undefined;

  private constructor(port: number) {
    this.port = port;
    this.url = `redis://127.0.0.1:${port}`;
  }

  static async start(): Promise<PrivateRedis> {
    const r = new PrivateRedis(await freePort());
    await r.start();
    return r;
  }

  get running(): boolean {
    return this.#child !== undefined;
  }

  async start(): Promise<void> {
    if (this.#child !== undefined) return;
    const child = spawn(
      'redis-server',
      ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', tmpdir(), '--loglevel', 'warning'],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    this.#child = child;
    livePrivate.add(child);
    child.once('exit', () => {
      livePrivate.delete(child);
      if (this.#child === child) this.#child = undefined;
    });
    const deadline = Date.now() + 5000;
    for (;;) {
      if (this.#child !== child) throw new Error(`private redis-server on port ${this.port} exited: ${stderr.trim()}`);
      if ((await probeRedis(this.url, 300)).ok) return;
      if (Date.now() > deadline) throw new Error(`private redis-server on port ${this.port} did not answer within 5 s`);
      await sleep(25);
    }
  }

  /** Stop it (SIGTERM) and wait until the process is gone. */
  async stop(): Promise<void> {
    const child = this.#child;
    if (child === undefined) return;
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGCONT'); // in case a test froze it
      child.kill('SIGTERM');
      await once(child, 'exit');
    }
    this.#child = undefined;
  }

  /** Freeze it: the socket stays open but nothing answers (a hung server). */
  pause(): void {
    this.#child?.kill('SIGSTOP');
  }

  resume(): void {
    this.#child?.kill('SIGCONT');
  }
}
