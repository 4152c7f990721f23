/**
 * The processes the benchmarks talk to: the real daemon (bin/node-gateway) and a bare `ws`
 * server, each in its own child process, plus what we read about them.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { elapsedMs } from './clock.mjs';

export const REPO = resolve(fileURLToPath(new URL('../..', import.meta.url)));
export const BIN = join(REPO, 'bin', 'node-gateway');
export const BARE_SERVER = fileURLToPath(new URL('./bare-server.mjs', import.meta.url));
export const EXAMPLE_KEY = '13R8CLpkV3NkhQJeEtFJEeK5zuWPdbaRZy2AzmRfHPpx';

/** A private directory; the daemon gets it as cwd, HOME and XDG dirs so no local config leaks in. */
export function tempDir(prefix = 'ngw-bench-') {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

export function daemonEnv(home) {
  const env = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v !== undefined && !k.startsWith('FREENET_') && !k.startsWith('XDG_')) env[k] = v;
  }
  return { ...env, HOME: home, XDG_CONFIG_HOME: join(home, '.config'), XDG_DATA_HOME: join(home, '.local/share') };
}

/** Waits for a line on `stream` that satisfies `pred`; resolves with the parsed JSON line. */
function waitForJsonLine(child, pred, timeoutMs) {
  return new Promise((resolvePromise, reject) => {
    let buf = '';
    let err = '';
    const timer = setTimeout(() => fail(new Error(`no matching line within ${timeoutMs} ms`)), timeoutMs);
    const onData = (d) => {
      buf += d;
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (!line.startsWith('{')) continue;
        let obj;
        try {
          obj = JSON.parse(line);
        } catch {
          continue;
        }
        if (pred(obj)) {
          cleanup();
          resolvePromise(obj);
          return;
        }
      }
    };
    const onErr = (d) => (err += d);
    const onExit = (code) => fail(new Error(`exited with ${code} before the expected line: ${err.slice(-500)}`));
    const cleanup = () => {
      clearTimeout(timer);
      child.stdout.off('data', onData);
      child.stderr.off('data', onErr);
      child.off('exit', onExit);
      // Keep draining so a chatty child never blocks on a full pipe.
      child.stdout.resume();
      child.stderr.resume();
    };
    const fail = (e) => {
      cleanup();
      reject(e);
    };
    child.stdout.setEncoding('utf8').on('data', onData);
    child.stderr.setEncoding('utf8').on('data', onErr);
    child.once('exit', onExit);
  });
}

/**
 * Starts bin/node-gateway on a free port with a fresh data-dir and the example web apps;
 * resolves once it logged "listening", with the time that took since spawn().
 */
export async function startDaemon({ args = [], nodeArgs = [], dataDir } = {}) {
  const home = tempDir();
  const t0 = elapsedMs();
  const child = spawn(
    process.execPath,
    [...nodeArgs, '--', BIN, '--ws-api-port', '0', '--data-dir', dataDir ?? join(home.path, 'data'),
      '--webapps-dir', join(REPO, 'examples/webapps'), ...args],
    { cwd: home.path, env: daemonEnv(home.path), stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const exited = new Promise((r) => child.once('exit', (code, signal) => r({ code, signal })));
  try {
    const line = await waitForJsonLine(child, (l) => typeof l.msg === 'string' && l.msg.startsWith('listening on'), 20_000);
    return { child, pid: child.pid, port: Number(line.port), startMs: elapsedMs() - t0, stop: () => stopChild(child, exited, home) };
  } catch (err) {
    child.kill('SIGKILL');
    home.remove();
    throw err;
  }
}

/** Starts bench/lib/bare-server.mjs; `reply` (bytes) is what it answers every message with. */
export async function startBareServer({ reply } = {}) {
  const child = spawn(process.execPath, [BARE_SERVER, reply ? Buffer.from(reply).toString('base64') : ''], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise((r) => child.once('exit', (code, signal) => r({ code, signal })));
  const line = await waitForJsonLine(child, (l) => l.msg === 'listening', 10_000);
  return { child, pid: child.pid, port: Number(line.port), stop: () => stopChild(child, exited) };
}

async function stopChild(child, exited, home) {
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
  const r = await exited;
  clearTimeout(timer);
  home?.remove();
  return r;
}

/** Resident set size of a process, in bytes (VmRSS of /proc/<pid>/status). */
export function rssBytes(pid) {
  const m = /^VmRSS:\s+(\d+)\s+kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (m === null) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(m[1]) * 1024;
}

/** A page load as a browser does it; returns the token the gateway injected. */
export async function loadPageToken(port, key = EXAMPLE_KEY) {
  const res = await fetch(`http://127.0.0.1:${port}/v1/contract/web/${key}/`);
  const html = await res.text();
  const m = /window\.__FREENET_AUTH_TOKEN__ = "([1-9A-HJ-NP-Za-km-z]+)"/.exec(html);
  if (res.status !== 200 || m === null) throw new Error(`page load failed: HTTP ${res.status}`);
  return m[1];
}

/** `count` tokens from real page loads, `concurrency` at a time. */
export async function mintTokens(port, count, concurrency = 8) {
  const tokens = [];
  let next = 0;
  const worker = async () => {
    while (next < count) {
      next++;
      tokens.push(await loadPageToken(port));
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return tokens;
}
