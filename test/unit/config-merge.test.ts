import { describe, expect, it } from 'vitest';
import { CONFIG_KEYS, type KeySpec } from '../../src/config/keys.js';
import { mergeConfig, type MergeInput } from '../../src/config/merge.js';
import { ConfigError, type RawValue } from '../../src/config/validate.js';

const HOME = '/home/op';
const CWD = '/srv/gw';

function input(parts: Partial<MergeInput> = {}): MergeInput {
  return { flags: {}, env: {}, defaults: { env: {}, homeDir: HOME }, cwd: CWD, ...parts };
}

type Source = 'flag' | 'env' | '.env' | 'file';
const SOURCES: Source[] = ['flag', 'env', '.env', 'file'];
const RANK: Record<Source, number> = { flag: 4, env: 3, '.env': 2, file: 1 };

/** One source holding token-ttl-seconds = value, in that source's own representation. */
function withSource(base: MergeInput, source: Source, value: number): MergeInput {
  switch (source) {
    case 'flag':
      return { ...base, flags: { ...base.flags, 'token-ttl-seconds': String(value) } };
    case 'env':
      return { ...base, env: { ...base.env, FREENET_TOKEN_TTL_SECONDS: String(value) } };
    case '.env':
      return { ...base, dotenv: { path: `${CWD}/.env`, vars: { ...base.dotenv?.vars, FREENET_TOKEN_TTL_SECONDS: String(value) } } };
    case 'file':
      return { ...base, file: { path: `${CWD}/freenet.config.toml`, values: { ...base.file?.values, 'token-ttl-seconds': BigInt(value) } } };
  }
}

const VALUE: Record<Source, number> = { flag: 40, env: 30, '.env': 20, file: 10 };

describe('config merge: precedence and provenance', () => {
  it('uses the defaults when no source holds a key', () => {
    const r = mergeConfig(input());
    expect(r.config.tokenTtlSeconds).toBe(86400);
    expect(r.config.tokenCleanupIntervalSeconds).toBe(300);
    expect(r.config.wsApiAddress).toBe('127.0.0.1');
    expect(r.config.wsApiPort).toBe(7509);
    expect(r.config.dataDir).toBe('/home/op/.local/share/node-gateway');
    expect(r.config.webappsDir).toBeUndefined();
    expect(r.config.allowedHosts).toEqual([]);
    for (const spec of CONFIG_KEYS) expect(r.provenance[spec.prop]).toEqual({ kind: 'default', origin: '' });
  });

  it('derives data-dir from XDG_DATA_HOME when set', () => {
    const r = mergeConfig(input({ defaults: { env: { XDG_DATA_HOME: '/xdg/data' }, homeDir: HOME } }));
    expect(r.config.dataDir).toBe('/xdg/data/node-gateway');
  });

  for (const s of SOURCES) {
    it(`takes a value from ${s} alone and records it as the source`, () => {
      const r = mergeConfig(withSource(input(), s, VALUE[s]));
      expect(r.config.tokenTtlSeconds).toBe(VALUE[s]);
      expect(r.provenance.tokenTtlSeconds.kind).toBe(s);
      // Other keys stay defaults.
      expect(r.provenance.tokenCleanupIntervalSeconds.kind).toBe('default');
    });
  }

  for (const a of SOURCES) {
    for (const b of SOURCES) {
      if (RANK[a] <= RANK[b]) continue;
      it(`${a} beats ${b}`, () => {
        const r = mergeConfig(withSource(withSource(input(), b, VALUE[b]), a, VALUE[a]));
        expect(r.config.tokenTtlSeconds).toBe(VALUE[a]);
        expect(r.provenance.tokenTtlSeconds.kind).toBe(a);
      });
    }
  }

  it('records the origin: flag name, variable name, file path', () => {
    expect(mergeConfig(withSource(input(), 'flag', 5)).provenance.tokenTtlSeconds.origin).toBe('--token-ttl-seconds');
    expect(mergeConfig(withSource(input(), 'env', 5)).provenance.tokenTtlSeconds.origin).toBe('FREENET_TOKEN_TTL_SECONDS');
    expect(mergeConfig(withSource(input(), '.env', 5)).provenance.tokenTtlSeconds.origin).toBe(`${CWD}/.env`);
    expect(mergeConfig(withSource(input(), 'file', 5)).provenance.tokenTtlSeconds.origin).toBe(`${CWD}/freenet.config.toml`);
  });

  it('mixes sources key by key', () => {
    const r = mergeConfig(
      input({
        flags: { 'ws-api-port': '0' },
        env: { FREENET_TOKEN_TTL_SECONDS: '120' },
        dotenv: { path: '/x/.env', vars: { FREENET_MAX_TOKENS: '7', FREENET_TOKEN_TTL_SECONDS: '60' } },
        file: { path: '/x/f.toml', values: { 'log-level': 'debug', 'max-tokens': 9n } },
      }),
    );
    expect(r.config).toMatchObject({ wsApiPort: 0, tokenTtlSeconds: 120, maxTokens: 7, logLevel: 'debug' });
    expect(r.provenance.wsApiPort.kind).toBe('flag');
    expect(r.provenance.tokenTtlSeconds.kind).toBe('env');
    expect(r.provenance.maxTokens.kind).toBe('.env');
    expect(r.provenance.logLevel.kind).toBe('file');
  });

  it('an explicit 0 on the command line is a value, not a gap (C9)', () => {
    expect(() =>
      mergeConfig(input({ flags: { 'token-cleanup-interval-seconds': '0' }, env: { FREENET_TOKEN_CLEANUP_INTERVAL_SECONDS: '60' } })),
    ).toThrow(/token-cleanup-interval-seconds from flag --token-cleanup-interval-seconds: "0" is out of range \(valid: 1–2147483\)/);
    // Where 0 is valid it is kept, never replaced by the default.
    const r = mergeConfig(input({ flags: { 'ws-api-port': '0' } }));
    expect(r.config.wsApiPort).toBe(0);
  });

  it('an explicitly empty environment variable reaches validation instead of falling through', () => {
    expect(() =>
      mergeConfig(input({ env: { FREENET_TOKEN_TTL_SECONDS: '' }, file: { path: '/f.toml', values: { 'token-ttl-seconds': 5n } } })),
    ).toThrow(/FREENET_TOKEN_TTL_SECONDS: "" is not a whole decimal number/);
    // For the host list an empty variable is the explicit empty list, overriding the file.
    const r = mergeConfig(input({ env: { FREENET_ALLOWED_HOSTS: '' }, file: { path: '/f.toml', values: { 'allowed-hosts': ['a.example'] } } }));
    expect(r.config.allowedHosts).toEqual([]);
    expect(r.provenance.allowedHosts.kind).toBe('env');
  });

  it('resolves relative paths against the working directory, or the config file’s directory', () => {
    expect(mergeConfig(input({ flags: { 'data-dir': 'data' } })).config.dataDir).toBe('/srv/gw/data');
    expect(mergeConfig(input({ file: { path: '/etc/gw/f.toml', values: { 'data-dir': 'data' } } })).config.dataDir).toBe('/etc/gw/data');
    expect(mergeConfig(input({ env: { FREENET_WEBAPPS_DIR: '~/apps' } })).config.webappsDir).toBe('/home/op/apps');
  });

  it('parses list values from each source', () => {
    expect(mergeConfig(input({ flags: { 'allowed-hosts': ['gw.example', 'Other.Example'] } })).config.allowedHosts).toEqual([
      'gw.example',
      'other.example',
    ]);
    expect(mergeConfig(input({ env: { FREENET_ALLOWED_HOSTS: 'a.example, 10.0.0.1' } })).config.allowedHosts).toEqual([
      'a.example',
      '10.0.0.1',
    ]);
    expect(() => mergeConfig(input({ env: { FREENET_ALLOWED_HOSTS: 'a.example,bad host' } }))).toThrow(ConfigError);
  });

  it('accepts redis URLs and masks their password in errors', () => {
    expect(mergeConfig(input({ env: { FREENET_TOKEN_STORE: 'redis://127.0.0.1:6379/0' } })).config.tokenStore).toBe(
      'redis://127.0.0.1:6379/0',
    );
    let msg = '';
    try {
      mergeConfig(input({ env: { FREENET_TOKEN_STORE: 'http://user:hunter2@x/' } }));
    } catch (e) {
      msg = (e as Error).message;
    }
    expect(msg).toMatch(/token-store/);
    expect(msg).not.toContain('hunter2');
  });
});

/** The whole class behind C4/C9: every integer key, every source, every kind of bad value. */
describe('config validation: every integer key rejects bad values from every source', () => {
  const intKeys = CONFIG_KEYS.filter((k): k is KeySpec & { kind: { type: 'int'; min: number; max: number } } => k.kind.type === 'int');

  function put(spec: KeySpec, source: Source, raw: RawValue): MergeInput {
    switch (source) {
      case 'flag':
        return input({ flags: { [spec.key]: raw } });
      case 'env':
        return input({ env: { [spec.env]: raw as string } });
      case '.env':
        return input({ dotenv: { path: '/x/.env', vars: { [spec.env]: raw as string } } });
      case 'file':
        return input({ file: { path: '/x/f.toml', values: { [spec.key]: raw } } });
    }
  }

  const stringBad = (spec: (typeof intKeys)[number]): string[] => {
    const bad = ['', ' ', '12abc', '1e3', '1.5', '0x10', '+5', ' 5', '-1', String(BigInt(spec.kind.max) + 1n), '99999999999999999999999'];
    if (spec.kind.min > 0) bad.push('0');
    return bad;
  };

  for (const spec of intKeys) {
    for (const source of ['flag', 'env', '.env'] as const) {
      it(`${spec.key} from ${source}`, () => {
        for (const raw of stringBad(spec)) {
          expect(() => mergeConfig(put(spec, source, raw)), `${JSON.stringify(raw)}`).toThrow(ConfigError);
          try {
            mergeConfig(put(spec, source, raw));
          } catch (e) {
            const m = (e as Error).message;
            expect(m).toContain(spec.key);
            expect(m).toContain(`valid: ${spec.valid}`);
            expect(m).toContain(JSON.stringify(raw));
            expect(m).toContain(source === 'flag' ? `--${spec.flag}` : spec.env);
          }
        }
        // The edges of the range are accepted.
        expect(mergeConfig(put(spec, source, String(spec.kind.min))).config[spec.prop]).toBe(spec.kind.min);
        expect(mergeConfig(put(spec, source, String(spec.kind.max))).config[spec.prop]).toBe(spec.kind.max);
      });
    }
    it(`${spec.key} from the config file`, () => {
      const bad: RawValue[] = [1.5, 1000.0, '12abc', '', true, [1n], BigInt(spec.kind.max) + 1n, -1n];
      if (spec.kind.min > 0) bad.push(0n);
      for (const raw of bad) {
        expect(() => mergeConfig(put(spec, 'file', raw)), String(raw)).toThrow(/\/x\/f\.toml/);
      }
      expect(mergeConfig(put(spec, 'file', BigInt(spec.kind.min))).config[spec.prop]).toBe(spec.kind.min);
    });
  }

  it('rejects a cleanup interval whose milliseconds would overflow a Node timer (C4)', () => {
    expect(() => mergeConfig(input({ flags: { 'token-cleanup-interval-seconds': '2592000' } }))).toThrow(
      /token-cleanup-interval-seconds .*"2592000" is out of range \(valid: 1–2147483\)/,
    );
    expect(() => mergeConfig(input({ flags: { 'heartbeat-interval-seconds': '2147484' } }))).toThrow(ConfigError);
    // A TTL of years is fine: no timer ever waits for it.
    expect(mergeConfig(input({ flags: { 'token-ttl-seconds': '315360000' } })).config.tokenTtlSeconds).toBe(315360000);
  });

  it('rejects bad enum, host and path values', () => {
    expect(() => mergeConfig(input({ env: { FREENET_LOG_LEVEL: 'verbose' } }))).toThrow(/log-level/);
    expect(() => mergeConfig(input({ env: { FREENET_LOG_FORMAT: '' } }))).toThrow(/log-format/);
    expect(() => mergeConfig(input({ flags: { 'ws-api-address': '' } }))).toThrow(/ws-api-address/);
    expect(() => mergeConfig(input({ flags: { 'ws-api-address': 'not a host' } }))).toThrow(/ws-api-address/);
    expect(() => mergeConfig(input({ flags: { 'data-dir': '' } }))).toThrow(/data-dir/);
    expect(() => mergeConfig(input({ file: { path: '/f', values: { 'data-dir': 5n } } }))).toThrow(/data-dir/);
    expect(mergeConfig(input({ flags: { 'ws-api-address': '::1' } })).config.wsApiAddress).toBe('::1');
  });
});

describe('config edges found by a fresh user', () => {
  it('masks passwords in a Redis URL query string too', async () => {
    const { redactUrl } = await import('../../src/config/validate.js');
    expect(redactUrl('redis://u:pw@h:6379/?password=qpass&db=1')).not.toMatch(/pw@|qpass/);
  });

  it('shows TOML inf and nan as what they are', () => {
    expect(() => mergeConfig(input({ file: { path: '/f.toml', values: { 'max-tokens': Infinity } } }))).toThrow(/Infinity/);
    expect(() => mergeConfig(input({ file: { path: '/f.toml', values: { 'max-tokens': NaN } } }))).toThrow(/NaN/);
  });

  it('refuses quoted numbers in TOML, as it refuses 1e3', () => {
    expect(() => mergeConfig(input({ file: { path: '/f.toml', values: { 'token-ttl-seconds': '300' } } }))).toThrow(/without quotes/);
  });

  it('refuses dotted numbers that are no IPv4 address', () => {
    for (const a of ['1.2.3.4.5', '999.1.1.1', '1.2.3']) {
      expect(() => mergeConfig(input({ flags: { 'ws-api-address': a } })), a).toThrow(/ws-api-address/);
    }
  });

  it('suggests the key that starts with what was typed', async () => {
    const { nearestKey } = await import('../../src/config/sources.js');
    expect(nearestKey('token-ttl', CONFIG_KEYS.map((k) => k.key))).toBe('token-ttl-seconds');
    expect(nearestKey('max-token', CONFIG_KEYS.map((k) => k.key))).toBe('max-tokens');
    expect(nearestKey('log-levle', CONFIG_KEYS.map((k) => k.key))).toBe('log-level');
  });
});
