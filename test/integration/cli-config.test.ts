import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CONFIG_KEYS } from '../../src/config/keys.js';
import { spawn } from 'node:child_process';
import { BIN, cleanEnv, Daemon, eventually, REPO, runCli, tempDir } from '../helpers/daemon.js';

interface JsonConfig {
  configFile: string | null;
  keys: Record<string, { value: unknown; source: string; origin: string }>;
}

const dirs: Array<{ remove(): void }> = [];
function scratch(): string {
  const d = tempDir();
  dirs.push(d);
  return d.path;
}
afterEach(() => {
  while (dirs.length > 0) dirs.pop()?.remove();
});

function configJson(args: string[], cwd: string, env: Record<string, string> = {}): JsonConfig {
  const r = runCli(['config', '--json', ...args], { cwd, env: cleanEnv(env, cwd) });
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  return JSON.parse(r.stdout) as JsonConfig;
}

describe('node-gateway config (real executable)', () => {
  it('reports a flag value and its source', () => {
    const cwd = scratch();
    const c = configJson(['--token-ttl-seconds', '5'], cwd);
    expect(c.keys['token-ttl-seconds']).toEqual({ value: 5, source: 'flag', origin: '--token-ttl-seconds' });
    expect(c.keys['token-cleanup-interval-seconds']).toMatchObject({ value: 300, source: 'default' });
    const toml = runCli(['config', '--token-ttl-seconds', '5'], { cwd, env: cleanEnv({}, cwd) });
    expect(toml.stdout).toContain('token-ttl-seconds = 5  # flag --token-ttl-seconds');
  });

  it('defaults are 86400 / 300 and bind loopback', () => {
    const c = configJson([], scratch());
    expect(c.keys['token-ttl-seconds']?.value).toBe(86400);
    expect(c.keys['token-cleanup-interval-seconds']?.value).toBe(300);
    expect(c.keys['ws-api-address']?.value).toBe('127.0.0.1');
  });

  it('C10: the real environment beats .env and the file; .env alone is used with its source', () => {
    const cwd = scratch();
    writeFileSync(join(cwd, '.env'), 'FREENET_TOKEN_TTL_SECONDS=60\n');
    writeFileSync(join(cwd, 'freenet.config.toml'), 'token-ttl-seconds = 30\n');
    const both = configJson([], cwd, { FREENET_TOKEN_TTL_SECONDS: '120' });
    expect(both.keys['token-ttl-seconds']).toEqual({ value: 120, source: 'env', origin: 'FREENET_TOKEN_TTL_SECONDS' });
    const dotOnly = configJson([], cwd);
    expect(dotOnly.keys['token-ttl-seconds']).toEqual({ value: 60, source: '.env', origin: join(cwd, '.env') });
    // And the flag beats them all.
    expect(configJson(['--token-ttl-seconds', '7'], cwd, { FREENET_TOKEN_TTL_SECONDS: '120' }).keys['token-ttl-seconds']?.value).toBe(7);
  });

  it('--env-file names another file, which must exist', () => {
    const cwd = scratch();
    writeFileSync(join(cwd, 'prod.env'), 'FREENET_MAX_TOKENS=42\n');
    expect(configJson(['--env-file', 'prod.env'], cwd).keys['max-tokens']).toMatchObject({ value: 42, source: '.env' });
    const r = runCli(['config', '--env-file', 'missing.env'], { cwd, env: cleanEnv({}, cwd) });
    expect(r.status).toBe(78);
    expect(r.stderr).toContain('missing.env');
  });

  it('C11: an empty config file in the working directory is used, a parent directory never', () => {
    const parent = scratch();
    const cwd = join(parent, 'child');
    mkdirSync(cwd);
    writeFileSync(join(parent, 'freenet.config.toml'), 'token-ttl-seconds = 5\n');
    writeFileSync(join(cwd, 'freenet.config.toml'), '');
    const c = configJson([], cwd);
    expect(c.keys['token-ttl-seconds']).toMatchObject({ value: 86400, source: 'default' });
    expect(c.configFile).toBe(join(cwd, 'freenet.config.toml'));
    // Without a file in the working directory, the parent's is still not used.
    const other = join(parent, 'other');
    mkdirSync(other);
    const c2 = configJson([], other);
    expect(c2.configFile).toBeNull();
    expect(c2.keys['token-ttl-seconds']?.value).toBe(86400);
  });

  it('finds $XDG_CONFIG_HOME/freenet/config.toml when the working directory has none', () => {
    const cwd = scratch();
    const xdg = scratch();
    mkdirSync(join(xdg, 'freenet'));
    writeFileSync(join(xdg, 'freenet', 'config.toml'), 'max_tokens = 12\n');
    const c = configJson([], cwd, { XDG_CONFIG_HOME: xdg });
    expect(c.configFile).toBe(join(xdg, 'freenet', 'config.toml'));
    expect(c.keys['max-tokens']).toMatchObject({ value: 12, source: 'file' });
  });

  it('--config and FREENET_CONFIG must exist and parse (exit 78)', () => {
    const cwd = scratch();
    expect(runCli(['config', '--config', 'nope.toml'], { cwd, env: cleanEnv({}, cwd) }).status).toBe(78);
    expect(runCli(['config'], { cwd, env: cleanEnv({ FREENET_CONFIG: join(cwd, 'nope.toml') }, cwd) }).status).toBe(78);
    writeFileSync(join(cwd, 'bad.toml'), 'token-ttl-seconds = = 5\n');
    const r = runCli(['config', '--config', 'bad.toml'], { cwd, env: cleanEnv({}, cwd) });
    expect(r.status).toBe(78);
    expect(r.stderr).toContain('bad.toml');
    expect(r.stderr).toContain('(line 1, column');
    writeFileSync(join(cwd, 'good.toml'), 'log-level = "debug"\n');
    expect(configJson(['--config', 'good.toml'], cwd).keys['log-level']).toMatchObject({ value: 'debug', source: 'file' });
  });

  it('integers in the file are whole decimal numbers: hex, octal and binary are refused (exit 78)', () => {
    const cwd = scratch();
    for (const [line, literal] of [
      ['ws-api-port = 0x10', '0x10'],
      ['token_ttl_seconds = 0o17  # snake_case synonym', '0o17'],
      ['"max-tokens" = 0b101', '0b101'],
      ['\uFEFFtoken-ttl-seconds = 0x10  # after a byte-order mark', '0x10'],
    ] as const) {
      writeFileSync(join(cwd, 'freenet.config.toml'), `${line}\n`);
      const r = runCli(['config'], { cwd, env: cleanEnv({}, cwd) });
      expect(r.status, line).toBe(78);
      expect(r.stderr, line).toContain(`${literal} is not a whole decimal number`);
      expect(r.stderr, line).toContain('freenet.config.toml');
    }
    // Digit separators are still decimal; a comment is not the value.
    writeFileSync(join(cwd, 'freenet.config.toml'), 'token-ttl-seconds = 1_000 # not 0x10\n');
    expect(configJson([], cwd).keys['token-ttl-seconds']).toMatchObject({ value: 1000, source: 'file' });
  });

  it('an unknown key in the file is an error naming the key, the file and the nearest key', () => {
    const cwd = scratch();
    writeFileSync(join(cwd, 'freenet.config.toml'), 'token-ttl-second = 5\n');
    const r = runCli(['config'], { cwd, env: cleanEnv({}, cwd) });
    expect(r.status).toBe(78);
    expect(r.stderr).toContain('"token-ttl-second"');
    expect(r.stderr).toContain(join(cwd, 'freenet.config.toml'));
    expect(r.stderr).toContain('"token-ttl-seconds"');
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('Freenet node keys in the file are ignored', () => {
    const cwd = scratch();
    writeFileSync(join(cwd, 'freenet.config.toml'), 'mode = "network"\nnetwork-address = "0.0.0.0"\ntoken_ttl_seconds = 9\n');
    const c = configJson([], cwd);
    expect(c.keys['token-ttl-seconds']).toMatchObject({ value: 9, source: 'file' });
  });

  it('unknown flags are usage errors (exit 64)', () => {
    const cwd = scratch();
    const r = runCli(['--token-ttl', '5'], { cwd, env: cleanEnv({}, cwd) });
    expect(r.status).toBe(64);
    expect(r.stderr).toContain('--token-ttl');
    expect(runCli(['config', '--nope'], { cwd, env: cleanEnv({}, cwd) }).status).toBe(64);
    expect(runCli(['--token-ttl-seconds'], { cwd, env: cleanEnv({}, cwd) }).status).toBe(64);
    expect(runCli(['--help'], { cwd, env: cleanEnv({}, cwd) }).status).toBe(0);
  });

  it('C4: a 30-day cleanup interval is rejected at start with exit 78, naming key and range, no timer warning', () => {
    const cwd = scratch();
    const r = runCli(['--token-cleanup-interval-seconds', '2592000'], { cwd, env: cleanEnv({}, cwd) });
    expect(r.status).toBe(78);
    expect(r.stderr).toMatch(/token-cleanup-interval-seconds/);
    expect(r.stderr).toMatch(/1–2147483/);
    expect(r.stderr).not.toMatch(/TimeoutOverflowWarning/);
    expect(r.stdout).not.toMatch(/listening/);
  });

  it('C9: an explicit 0 reaches validation from every source, never silently 300', () => {
    const cwd = scratch();
    const viaFlag = runCli(['--token-cleanup-interval-seconds', '0'], { cwd, env: cleanEnv({}, cwd) });
    expect(viaFlag.status).toBe(78);
    expect(viaFlag.stderr).toContain('"0"');
    const viaEnv = runCli(['config'], { cwd, env: cleanEnv({ FREENET_TOKEN_CLEANUP_INTERVAL_SECONDS: '0' }, cwd) });
    expect(viaEnv.status).toBe(78);
    expect(viaEnv.stderr).toContain('FREENET_TOKEN_CLEANUP_INTERVAL_SECONDS');
    writeFileSync(join(cwd, 'freenet.config.toml'), 'token-cleanup-interval-seconds = 0\n');
    const viaFile = runCli(['config'], { cwd, env: cleanEnv({}, cwd) });
    expect(viaFile.status).toBe(78);
    expect(viaFile.stderr).toContain('freenet.config.toml');
  });

  it('every integer key is rejected with exit 78 from each kind of source', () => {
    const cwd = scratch();
    const ints = CONFIG_KEYS.filter((k) => k.kind.type === 'int');
    const sources = ['flag', 'env', '.env', 'file'] as const;
    let i = 0;
    for (const spec of ints) {
      for (const source of sources) {
        if (spec.kind.type !== 'int') continue;
        // Rotate through the kinds of bad value so the whole class is crossed with every source.
        const bad = [spec.kind.min > 0 ? '0' : '-1', String(spec.kind.max + 1), '12abc', '1.5', ''][i++ % 5] as string;
        const dir = join(cwd, `${spec.key}-${source}`);
        mkdirSync(dir);
        let args: string[] = ['config'];
        const env: Record<string, string> = {};
        if (source === 'flag') args = ['config', `--${spec.flag}=${bad}`];
        if (source === 'env') env[spec.env] = bad;
        if (source === '.env') writeFileSync(join(dir, '.env'), `${spec.env}="${bad}"\n`);
        if (source === 'file') writeFileSync(join(dir, 'freenet.config.toml'), `${spec.key} = ${bad === '' ? '""' : bad === '12abc' ? '"12abc"' : bad}\n`);
        const r = runCli(args, { cwd: dir, env: cleanEnv(env, dir) });
        expect(r.status, `${spec.key} ${source} ${bad}: ${r.stderr}`).toBe(78);
        expect(r.stderr).toContain(spec.key);
        expect(r.stderr).toContain(spec.valid);
      }
    }
  });

  it('freenet.config.example.toml is exactly `config --defaults`', () => {
    const cwd = scratch();
    const r = runCli(['config', '--defaults'], { cwd, env: cleanEnv({}, cwd) });
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(readFileSync(join(REPO, 'freenet.config.example.toml'), 'utf8'));
    // And it is a valid config file that reproduces the defaults.
    writeFileSync(join(cwd, 'freenet.config.toml'), r.stdout);
    const c = configJson([], cwd);
    expect(c.keys['token-ttl-seconds']).toMatchObject({ value: 86400, source: 'file' });
  });
});

describe('the daemon (real executable)', () => {
  it('starts on port 0, answers /healthz, logs every value with its source, exits 0 on SIGTERM', async () => {
    const cwd = scratch();
    writeFileSync(join(cwd, 'freenet.config.toml'), 'mode = "network"\nmax-tokens = 50\n');
    const d = await Daemon.start(['--data-dir', join(cwd, 'data'), '--token-ttl-seconds', '77'], {
      cwd,
      env: cleanEnv({ FREENET_HEARTBEAT_INTERVAL_SECONDS: '9' }, cwd),
    });
    try {
      expect(d.port).toBeGreaterThan(0);
      const h = await d.health();
      expect(h).toMatchObject({ status: 'ok', tokens: 0, connections: 0 });
      expect(typeof h.uptimeSeconds).toBe('number');
      const cfgLines = d.logs().filter((l) => l.msg === 'config');
      expect(cfgLines.map((l) => l['key'])).toEqual(CONFIG_KEYS.map((k) => k.key));
      expect(cfgLines.find((l) => l['key'] === 'token-ttl-seconds')).toMatchObject({ value: 77, source: 'flag --token-ttl-seconds' });
      expect(cfgLines.find((l) => l['key'] === 'heartbeat-interval-seconds')).toMatchObject({
        value: 9,
        source: 'environment variable FREENET_HEARTBEAT_INTERVAL_SECONDS',
      });
      expect(cfgLines.find((l) => l['key'] === 'max-tokens')?.['source']).toContain('freenet.config.toml');
      expect(d.logs().some((l) => /ignoring Freenet node keys/.test(l.msg))).toBe(true);
    } finally {
      const exit = await d.stop();
      expect(exit).toEqual({ code: 0, signal: null });
    }
    expect(d.stderr).not.toMatch(/Warning/);
  });

  it('--log-format pretty prints for people', async () => {
    const cwd = scratch();
    const child = spawn(process.execPath, ['--', BIN, '--ws-api-port', '0', '--data-dir', join(cwd, 'data'), '--log-format', 'pretty'], {
      cwd,
      env: cleanEnv({}, cwd),
    });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (out += s));
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    await eventually(() => /listening on/.test(out));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(out).toMatch(/INFO.*listening on 127\.0\.0\.1:\d+/);
    expect(out.split('\n').some((l) => l.startsWith('{'))).toBe(false);
  });
});

describe('config command edges', () => {
  it('--json and --defaults together are a usage error; --config /dev/null means no settings', () => {
    const cwd = scratch();
    expect(runCli(['config', '--json', '--defaults'], { cwd, env: cleanEnv({}, cwd) }).status).toBe(64);
    const c = configJson(['--config', '/dev/null'], cwd);
    expect(c.configFile).toBe('/dev/null');
    expect(c.keys['token-ttl-seconds']?.source).toBe('default');
  });

  it('names the ignored Freenet keys in its output', () => {
    const cwd = scratch();
    writeFileSync(join(cwd, 'freenet.config.toml'), 'mode = "network"\n');
    const r = runCli(['config'], { cwd, env: cleanEnv({}, cwd) });
    expect(r.stdout).toContain('# ignored Freenet node keys in the file: mode');
  });
});
