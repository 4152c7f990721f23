import { afterAll, beforeAll, describe, it, expect } from 'vitest';
import { spawnSync } from 'node:child_process';
import { chmodSync, cpSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CONFIG_KEYS } from '../../src/config/keys.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const UNIT_NAME = 'node-gateway.service';
const UNIT_PATH = join(ROOT, 'deploy', UNIT_NAME);
const ENV_EXAMPLE = join(ROOT, 'deploy', 'env.example');

// ---- the unit file, parsed (enough of systemd's syntax for our own file) ----

type Unit = Map<string, Map<string, string[]>>;

function parseUnit(text: string): Unit {
  const unit: Unit = new Map();
  let section: Map<string, string[]> | undefined;
  for (const raw of text.replace(/\\\n/g, ' ').split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const s = /^\[(.+)\]$/.exec(line);
    if (s) {
      section = new Map();
      unit.set(s[1]!, section);
      continue;
    }
    const kv = /^([A-Za-z0-9]+)=(.*)$/.exec(line);
    if (!kv || !section) throw new Error(`unparseable unit line: ${line}`);
    const list = section.get(kv[1]!) ?? [];
    list.push(kv[2]!.trim());
    section.set(kv[1]!, list);
  }
  return unit;
}

const unitText = readFileSync(UNIT_PATH, 'utf8');
const unit = parseUnit(unitText);
const service = unit.get('Service') ?? new Map<string, string[]>();
/** The last assignment wins in systemd (for non-list settings). */
const get = (key: string): string | undefined => service.get(key)?.at(-1);
const all = (key: string): string[] => service.get(key) ?? [];

/** systemd time span in seconds ("15", "15s", "1min 30s", "500ms"). */
function seconds(span: string): number {
  const units: Record<string, number> = { ms: 0.001, s: 1, sec: 1, m: 60, min: 60, h: 3600 };
  let total = 0;
  for (const m of span.matchAll(/(\d+(?:\.\d+)?)\s*([a-z]*)/g)) total += Number(m[1]) * (units[m[2] || 's'] ?? NaN);
  return total;
}

function execStartBinary(): string {
  const exec = get('ExecStart');
  if (exec === undefined) throw new Error('no ExecStart=');
  // Strip systemd's prefixes (-, @, :, +, !) and take the first word.
  return exec.replace(/^[-@:+!]+/, '').split(/\s+/)[0]!;
}

// ---- systemd-analyze ----

const analyze = spawnSync('systemd-analyze', ['--version'], { encoding: 'utf8' });
const HAVE_ANALYZE = analyze.status === 0;
const SKIP_NOTE = 'systemd-analyze not found on this machine (install systemd) — skipping verify/security checks';
if (!HAVE_ANALYZE) console.warn(`[systemd-unit.test] ${SKIP_NOTE}`);

function run(args: string[]): { status: number | null; out: string } {
  const r = spawnSync('systemd-analyze', args, {
    encoding: 'utf8',
    timeout: 60_000,
    env: { ...process.env, SYSTEMD_COLORS: '0', NO_COLOR: '1', SYSTEMD_PAGER: '', PAGER: 'cat', LC_ALL: 'C.UTF-8' },
  });
  // eslint-disable-next-line no-control-regex
  const out = `${r.stdout ?? ''}${r.stderr ?? ''}`.replace(/\x1b\[[0-9;]*m/g, '');
  return { status: r.status, out };
}

/** The host's unit directory, whose targets (sysinit.target, …) every service depends on. */
function hostUnitDir(): string | undefined {
  return ['/usr/lib/systemd/system', '/lib/systemd/system'].find((d) => existsSync(join(d, 'sysinit.target')));
}

/**
 * `systemd-analyze verify` checks that ExecStart's binary exists, and node-gateway is not installed
 * on a build machine. So the unit is verified unchanged inside a scratch root (`--root=`): a copy
 * of the host's own unit directory, the unit in etc/systemd/system, and a stub executable at
 * exactly the ExecStart path — nothing is written outside the temporary directory.
 */
function makeScratchRoot(withBinary: boolean): string {
  const root = mkdtempSync(join(tmpdir(), 'node-gateway-unit-'));
  const hostDir = hostUnitDir();
  if (hostDir === undefined) throw new Error('systemd-analyze is present but no host unit directory with sysinit.target');
  // Keep the host's layout so that its absolute symlinks resolve inside the root (usr-merge: /lib -> usr/lib).
  for (const top of ['lib', 'bin', 'sbin']) {
    const p = `/${top}`;
    if (existsSync(p) && lstatSync(p).isSymbolicLink()) symlinkSync(readlinkSync(p), join(root, top));
  }
  cpSync(hostDir, join(root, hostDir), { recursive: true, verbatimSymlinks: true });
  mkdirSync(join(root, 'etc/systemd/system'), { recursive: true });
  cpSync(UNIT_PATH, join(root, 'etc/systemd/system', UNIT_NAME));
  if (withBinary) {
    const bin = join(root, execStartBinary());
    mkdirSync(dirname(bin), { recursive: true });
    writeFileSync(bin, '#!/bin/sh\nexit 0\n');
    chmodSync(bin, 0o755);
  }
  return root;
}

// ---- tests ----

describe('deploy/node-gateway.service: content', () => {
  it('starts the installed bin with the system config path', () => {
    expect(execStartBinary()).toBe('/usr/bin/node-gateway');
    expect(get('ExecStart')).toMatch(/\s--config \/etc\/node-gateway\/config\.toml(\s|$)/);
    expect(all('EnvironmentFile')).toContain('-/etc/node-gateway/env');
  });

  it('restarts on failure, but never on usage (64) or config (78) errors', () => {
    expect(get('Restart')).toBe('on-failure');
    const prevented = all('RestartPreventExitStatus').join(' ').split(/\s+/);
    expect(prevented).toEqual(expect.arrayContaining(['64', '78']));
  });

  it('runs as a dedicated user with its state directory as data-dir', () => {
    expect(get('DynamicUser') === 'yes' || (get('User') ?? 'root') !== 'root').toBe(true);
    expect(get('StateDirectory')).toBe('node-gateway');
    expect(all('Environment')).toContain('FREENET_DATA_DIR=%S/node-gateway');
  });

  it('gives the gateway its shutdown timeout (10 s by default) and a margin before SIGKILL', () => {
    expect(get('KillSignal')).toBe('SIGTERM');
    const stop = seconds(get('TimeoutStopSec') ?? '90');
    expect(stop).toBeGreaterThan(10);
    expect(stop).toBeLessThanOrEqual(30);
  });

  it('is sandboxed, but leaves V8 its W+X memory', () => {
    const yes = [
      'NoNewPrivileges', 'ProtectHome', 'PrivateTmp', 'PrivateDevices', 'ProtectKernelTunables',
      'ProtectKernelModules', 'ProtectKernelLogs', 'ProtectControlGroups', 'ProtectClock',
      'ProtectHostname', 'RestrictNamespaces', 'LockPersonality', 'RestrictRealtime',
      'RestrictSUIDSGID',
    ];
    for (const k of yes) expect(get(k), k).toBe('yes');
    expect(get('ProtectSystem')).toBe('strict');
    expect(get('RestrictAddressFamilies')?.split(/\s+/).sort()).toEqual(['AF_INET', 'AF_INET6', 'AF_UNIX']);
    expect(get('SystemCallArchitectures')).toBe('native');
    const filters = all('SystemCallFilter');
    const allowed = filters.filter((f) => !f.startsWith('~')).flatMap((f) => f.split(/\s+/));
    expect(allowed).toContain('@system-service');
    expect(filters.filter((f) => f.startsWith('~')).join(' ')).toMatch(/@privileged/);
    // A blocked call returns an error instead of SIGSYS-killing the daemon.
    expect(get('SystemCallErrorNumber')).toBe('EPERM');
    expect(get('CapabilityBoundingSet')).toBe('');
    expect(get('AmbientCapabilities')).toBe('');
    expect(get('UMask')).toBe('0077');
    expect(get('ProcSubset')).toBe('pid');
    expect(get('ProtectProc')).toBe('invisible');
    // Node aborts at start under MemoryDenyWriteExecute=yes (its JIT needs W+X pages).
    expect(get('MemoryDenyWriteExecute') ?? 'no').not.toBe('yes');
  });
});

describe('deploy/env.example', () => {
  const text = readFileSync(ENV_EXAMPLE, 'utf8');
  it('lists every FREENET_* variable of the configuration table, commented out', () => {
    for (const spec of CONFIG_KEYS) expect(text, spec.env).toMatch(new RegExp(`^#${spec.env}=`, 'm'));
    // Nothing is set by default: copying the example changes nothing.
    expect(text).not.toMatch(/^\s*FREENET_/m);
  });
});

describe.skipIf(!HAVE_ANALYZE)(`systemd-analyze (${HAVE_ANALYZE ? analyze.stdout.split('\n')[0] : SKIP_NOTE})`, () => {
  const roots: string[] = [];
  let root = '';
  beforeAll(() => {
    root = makeScratchRoot(true);
    roots.push(root);
  });
  afterAll(() => {
    for (const r of roots) rmSync(r, { recursive: true, force: true });
  });

  it('verify passes, with no warning about the unit', () => {
    const r = run(['verify', `--root=${root}`, UNIT_NAME]);
    const aboutUs = r.out.split('\n').filter((l) => l.includes('node-gateway'));
    expect(aboutUs, r.out).toEqual([]);
    expect(r.status, r.out).toBe(0);
  });

  it('verify really looks at ExecStart (control: fails without the binary)', () => {
    const bare = makeScratchRoot(false);
    roots.push(bare);
    const r = run(['verify', `--root=${bare}`, UNIT_NAME]);
    expect(r.status).not.toBe(0);
    expect(r.out).toMatch(/node-gateway is not executable/);
  });

  it('security --offline=true rates it OK or better', () => {
    const r = run(['security', '--offline=true', UNIT_PATH]);
    const m = /Overall exposure level for node-gateway\.service:\s*([\d.]+)\s+([A-Z]+)/.exec(r.out);
    expect(m, r.out).not.toBeNull();
    const exposure = Number(m![1]);
    const rating = m![2]!;
    console.log(`[systemd-analyze security] ${UNIT_NAME}: exposure ${exposure} ${rating}`);
    expect(r.status, r.out).toBe(0);
    // systemd's scale: 0 PERFECT, < 1 SAFE, < 5 OK, < 7.5 MEDIUM, < 9 EXPOSED, < 10 UNSAFE, 10 DANGEROUS.
    expect(['PERFECT', 'SAFE', 'OK'], r.out).toContain(rating);
    expect(exposure).toBeLessThan(5);
  });
});
