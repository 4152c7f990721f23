import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const REPO = resolve(import.meta.dirname, '../..');
export const BIN = join(REPO, 'bin', 'node-gateway');

/** An environment with no FREENET_* leaking in from the developer's shell, and a private HOME. */
export function cleanEnv(extra: Record<string, string> = {}, home?: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v !== undefined && !k.startsWith('FREENET_') && !k.startsWith('XDG_')) env[k] = v;
  }
  if (home !== undefined) env['HOME'] = home;
  return { ...env, ...extra };
}

export function tempDir(prefix = 'ngw-'): { path: string; remove(): void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

export interface RunResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the real executable to completion (for `config` and start-up failures). */
export function runCli(args: string[], opts: { cwd: string; env: Record<string, string>; timeoutMs?: number }): RunResult {
  const r = spawnSync(process.execPath, ['--', BIN, ...args], {
    cwd: opts.cwd,
    env: opts.env,
    encoding: 'utf8',
    timeout: opts.timeoutMs ?? 20_000,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

export interface LogLine {
  level: number;
  msg: string;
  [k: string]: unknown;
}

/** A running daemon: its port, its output so far, and a way to stop it. */
export class Daemon {
  stdout = '';
  stderr = '';
  port = 0;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  private constructor(readonly child: ChildProcess) {
    child.stdout?.setEncoding('utf8').on('data', (d: string) => (this.stdout += d));
    child.stderr?.setEncoding('utf8').on('data', (d: string) => (this.stderr += d));
    this.exited = new Promise((res) => child.on('exit', (code, signal) => res({ code, signal })));
  }

  /** Starts `bin/node-gateway` on port 0 and waits for its "listening" log line. */
  static async start(
    args: string[],
    opts: { cwd: string; env: Record<string, string>; timeoutMs?: number; extraNodeArgs?: string[] },
  ): Promise<Daemon> {
    const child = spawn(process.execPath, [...(opts.extraNodeArgs ?? []), '--', BIN, '--ws-api-port', '0', ...args], {
      cwd: opts.cwd,
      env: opts.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const d = new Daemon(child);
    const deadline = Date.now() + (opts.timeoutMs ?? 15_000);
    for (;;) {
      const line = d.logs().find((l) => l.msg.startsWith('listening on'));
      if (line !== undefined) {
        d.port = Number(line['port']);
        return d;
      }
      if (child.exitCode !== null || Date.now() > deadline) {
        child.kill('SIGKILL');
        throw new Error(`daemon did not start (exit ${child.exitCode}):\n${d.stdout}\n${d.stderr}`);
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  get base(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get wsBase(): string {
    return `ws://127.0.0.1:${this.port}`;
  }

  logs(): LogLine[] {
    const out: LogLine[] = [];
    for (const raw of this.stdout.split('\n')) {
      if (!raw.startsWith('{')) continue;
      try {
        out.push(JSON.parse(raw) as LogLine);
      } catch {
        // a line still being written
      }
    }
    return out;
  }

  async waitForLog(pred: (l: LogLine) => boolean, timeoutMs = 10_000): Promise<LogLine> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const hit = this.logs().find(pred);
      if (hit !== undefined) return hit;
      if (Date.now() > deadline) throw new Error(`log line not seen; output:\n${this.stdout.slice(-4000)}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  async health(): Promise<{ status: string; tokens: number; connections: number; uptimeSeconds: number }> {
    const res = await fetch(`${this.base}/healthz`);
    if (res.status !== 200) throw new Error(`healthz ${res.status}`);
    return (await res.json()) as { status: string; tokens: number; connections: number; uptimeSeconds: number };
  }

  /** SIGTERM and wait for the exit. */
  async stop(timeoutMs = 20_000): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), timeoutMs);
    const r = await this.exited;
    clearTimeout(timer);
    return r;
  }

  kill(): void {
    if (this.child.exitCode === null) this.child.kill('SIGKILL');
  }
}

/** Polls until `fn` returns true (for effects of background loops; never a fixed sleep). */
export async function eventually(fn: () => Promise<boolean> | boolean, timeoutMs = 10_000, stepMs = 50): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await fn()) return;
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, stepMs));
  }
}
