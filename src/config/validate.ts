import { isIP } from 'node:net';
import type { ConfigValue, KeySpec } from './keys.js';

/** Where a value came from, for error messages, `node-gateway config` and the start-up log. */
export type SourceKind = 'default' | 'file' | '.env' | 'env' | 'flag';

export interface Provenance {
  readonly kind: SourceKind;
  /** The flag, the variable name, or the file path; empty for defaults. */
  readonly origin: string;
  /** For the .env file: which variable in it. */
  readonly variable?: string;
}

/** A configuration problem: exit status 78 (EX_CONFIG), one line of text. */
export class ConfigError extends Error {
  readonly exitCode = 78;
}

/** A command-line problem: exit status 64 (EX_USAGE). */
export class UsageError extends Error {
  readonly exitCode = 64;
}

export function describeSource(p: Provenance): string {
  switch (p.kind) {
    case 'default':
      return 'default';
    case 'flag':
      return `flag ${p.origin}`;
    case 'env':
      return `environment variable ${p.origin}`;
    case '.env':
      return `variable ${p.variable ?? '?'} in .env file ${p.origin}`;
    case 'file':
      return `config file ${p.origin}`;
  }
}

/**
 * A raw value as a source hands it over: strings from flags and the environment, anything
 * TOML can express from the file (integers arrive as bigint so floats can be told apart).
 */
export type RawValue = string | readonly string[] | bigint | number | boolean | unknown;

/**
 * A TOML integer written in hex, octal or binary (`0x10`): §2 takes whole decimal numbers only,
 * as the flags do, and the parser hands over the value, not how it was written.
 */
export class NonDecimalInteger {
  constructor(readonly text: string) {}
}

function showRaw(raw: RawValue): string {
  if (raw instanceof NonDecimalInteger) return raw.text;
  if (typeof raw === 'bigint' || typeof raw === 'number') return String(raw);
  const json = JSON.stringify(raw, (_k, v: unknown) => (typeof v === 'bigint' ? Number(v) : v));
  return json ?? String(raw);
}

function fail(spec: KeySpec, source: Provenance, raw: RawValue, why: string): never {
  throw new ConfigError(
    `invalid ${spec.key} from ${describeSource(source)}: ${showRaw(raw)} ${why} (valid: ${spec.valid})`,
  );
}

// RFC 1123 host names: labels of letters, digits and inner hyphens.
const HOST_NAME = /^(?=.{1,253}$)([a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)(\.[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*\.?$/;

export function isHostOrIp(s: string): boolean {
  if (isIP(s) !== 0) return true;
  // All digits and dots is an IPv4 address or nothing: 1.2.3.4.5 and 999.1.1.1 are not host names.
  return !/^[0-9.]+$/.test(s) && HOST_NAME.test(s);
}

function parseInt(spec: KeySpec, min: number, max: number, raw: RawValue, source: Provenance): number {
  let n: number;
  if (typeof raw === 'bigint') {
    if (raw < BigInt(min) || raw > BigInt(max)) fail(spec, source, raw, 'is out of range');
    n = Number(raw);
  } else if (typeof raw === 'string' && source.kind !== 'file') {
    // Whole decimal numbers only: Number() would accept '', ' 5', '1e3', '0x10' and '1.0'.
    if (!/^-?[0-9]+$/.test(raw)) fail(spec, source, raw, 'is not a whole decimal number');
    const big = BigInt(raw);
    if (big < BigInt(min) || big > BigInt(max)) fail(spec, source, raw, 'is out of range');
    n = Number(big);
  } else if (typeof raw === 'number') {
    fail(spec, source, raw, 'is not a whole decimal number (TOML floats are not accepted)');
  } else if (raw instanceof NonDecimalInteger) {
    fail(spec, source, raw, 'is not a whole decimal number (hex, octal and binary are not accepted)');
  } else if (typeof raw === 'string') {
    fail(spec, source, raw, 'is a string; write the number without quotes');
  } else {
    fail(spec, source, raw, 'is not a whole decimal number');
  }
  return n;
}

function parseString(spec: KeySpec, raw: RawValue, source: Provenance): string {
  if (typeof raw !== 'string') fail(spec, source, raw, 'is not a string');
  return raw;
}

function parseHost(spec: KeySpec, raw: RawValue, source: Provenance): string {
  const s = parseString(spec, raw, source);
  if (!isHostOrIp(s)) fail(spec, source, raw, 'is not an IP address or host name');
  return s;
}

function parseHostList(spec: KeySpec, raw: RawValue, source: Provenance): string[] {
  let items: string[];
  if (typeof raw === 'string') {
    // The environment form is comma-separated; an explicitly empty variable means "no extra hosts".
    items = raw.trim() === '' ? [] : raw.split(',').map((s) => s.trim());
  } else if (Array.isArray(raw) && raw.every((x): x is string => typeof x === 'string')) {
    items = raw.map((s) => s.trim());
  } else {
    fail(spec, source, raw, 'is not a list of host names');
  }
  for (const h of items) {
    if (!isHostOrIp(h)) fail(spec, source, raw, `contains ${JSON.stringify(h)}, which is not an IP address or host name`);
  }
  return items.map((h) => h.toLowerCase().replace(/\.$/, ''));
}

function parsePath(spec: KeySpec, raw: RawValue, source: Provenance): string {
  const s = parseString(spec, raw, source);
  if (s.trim() === '') fail(spec, source, raw, 'is empty');
  if (s.includes('\0')) fail(spec, source, raw, 'contains a NUL byte');
  return s;
}

function parseTokenStore(spec: KeySpec, raw: RawValue, source: Provenance): string {
  const s = parseString(spec, raw, source);
  if (s === 'memory') return s;
  let url: URL;
  try {
    url = new URL(s);
  } catch {
    // Never echo a URL that may carry a password.
    fail(spec, source, redactUrl(s), 'is neither "memory" nor a valid URL');
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') {
    fail(spec, source, redactUrl(s), `has scheme ${url.protocol}`);
  }
  if (url.hostname === '') fail(spec, source, redactUrl(s), 'has no host');
  return s;
}

/** A URL with its password replaced, safe to print. */
export function redactUrl(s: string): string {
  try {
    const u = new URL(s);
    if (u.password !== '') u.password = '***';
    // ioredis also takes a password from the query string.
    for (const k of [...u.searchParams.keys()]) {
      if (/pass|secret|token|auth/i.test(k)) u.searchParams.set(k, '***');
    }
    return u.toString();
  } catch {
    return s.replace(/\/\/[^@/]*@/, '//***@');
  }
}

/** Check and convert one raw value for one key; throws ConfigError naming key, source, value and range. */
export function validateValue(spec: KeySpec, raw: RawValue, source: Provenance): ConfigValue {
  const kind = spec.kind;
  switch (kind.type) {
    case 'int':
      return parseInt(spec, kind.min, kind.max, raw, source);
    case 'host':
      return parseHost(spec, raw, source);
    case 'host-list':
      return parseHostList(spec, raw, source);
    case 'path':
      return parsePath(spec, raw, source);
    case 'enum': {
      const s = parseString(spec, raw, source);
      if (!kind.choices.includes(s)) fail(spec, source, raw, 'is not one of the choices');
      return s;
    }
    case 'token-store':
      return parseTokenStore(spec, raw, source);
  }
}
