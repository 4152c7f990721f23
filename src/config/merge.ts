import { homedir } from 'node:os';
import { dirname, isAbsolute, resolve } from 'node:path';
import {
  CONFIG_KEYS,
  defaultFor,
  type ConfigProp,
  type DefaultContext,
  type GatewayConfig,
  type KeySpec,
} from './keys.js';
import { validateValue, type Provenance, type RawValue } from './validate.js';

/** Everything the merge reads, gathered by the sources; the merge itself touches no I/O. */
export interface MergeInput {
  /** TOML key → raw value given on the command line (only flags that were actually given). */
  readonly flags: Readonly<Record<string, RawValue>>;
  /** The process environment. */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Variables parsed from the .env file, if one was read. */
  readonly dotenv?: { readonly path: string; readonly vars: Readonly<Record<string, string>> };
  /** Values from the config file (kebab-case keys, already checked for unknown keys). */
  readonly file?: { readonly path: string; readonly values: Readonly<Record<string, unknown>> };
  readonly defaults: DefaultContext;
  /** Relative paths from flags and variables resolve against this. */
  readonly cwd: string;
}

export interface ResolvedConfig {
  readonly config: GatewayConfig;
  readonly provenance: Readonly<Record<ConfigProp, Provenance>>;
}

interface Candidate {
  readonly raw: RawValue;
  readonly source: Provenance;
  /** Directory relative paths of this source resolve against. */
  readonly baseDir: string;
}

/**
 * The first source that holds the key wins: CLI flag > process environment > .env > file.
 * "Holds" means the key is present — an explicit 0 or empty string is a value, never a gap,
 * so it is handed to validation instead of falling through to a lower source or the default.
 */
function pick(spec: KeySpec, input: MergeInput): Candidate | undefined {
  if (Object.prototype.hasOwnProperty.call(input.flags, spec.key)) {
    return { raw: input.flags[spec.key], source: { kind: 'flag', origin: `--${spec.flag}` }, baseDir: input.cwd };
  }
  const envValue = input.env[spec.env];
  if (envValue !== undefined) {
    return { raw: envValue, source: { kind: 'env', origin: spec.env }, baseDir: input.cwd };
  }
  const dot = input.dotenv;
  if (dot !== undefined && Object.prototype.hasOwnProperty.call(dot.vars, spec.env)) {
    return { raw: dot.vars[spec.env], source: { kind: '.env', origin: dot.path, variable: spec.env }, baseDir: input.cwd };
  }
  const file = input.file;
  if (file !== undefined && Object.prototype.hasOwnProperty.call(file.values, spec.key)) {
    return { raw: file.values[spec.key], source: { kind: 'file', origin: file.path }, baseDir: dirname(file.path) };
  }
  return undefined;
}

/** `~/x` is expanded for every source: only a shell does it for flags, and files and .env have no shell. */
function resolvePath(p: string, baseDir: string, home: string): string {
  if (p === '~') return home;
  if (p.startsWith('~/')) return resolve(home, p.slice(2));
  return isAbsolute(p) ? resolve(p) : resolve(baseDir, p);
}

export function mergeConfig(input: MergeInput): ResolvedConfig {
  const config: Partial<Record<ConfigProp, unknown>> = {};
  const provenance: Partial<Record<ConfigProp, Provenance>> = {};
  const home = input.defaults.homeDir || homedir();
  for (const spec of CONFIG_KEYS) {
    const cand = pick(spec, input);
    let value = cand === undefined ? defaultFor(spec, input.defaults) : validateValue(spec, cand.raw, cand.source);
    if (spec.kind.type === 'path' && typeof value === 'string') {
      value = resolvePath(value, cand?.baseDir ?? input.cwd, home);
    }
    config[spec.prop] = value;
    provenance[spec.prop] = cand?.source ?? { kind: 'default', origin: '' };
  }
  return {
    config: config as GatewayConfig,
    provenance: provenance as Record<ConfigProp, Provenance>,
  };
}
