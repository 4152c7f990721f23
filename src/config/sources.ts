import { readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { cosmiconfig, type Loader } from 'cosmiconfig';
import dotenv from 'dotenv';
import { closest } from 'fastest-levenshtein';
import { parse as parseToml } from 'smol-toml';
import { CONFIG_KEYS, FREENET_NODE_KEYS } from './keys.js';
import { ConfigError, NonDecimalInteger } from './validate.js';

const CONFIG_FILE_NAME = 'freenet.config.toml';

/**
 * Reads the .env file. A default `.env` that is absent is fine; one named with --env-file must
 * exist. Its variables are returned, not put into process.env: the real environment always wins
 * and the merge needs to know which of the two a value came from.
 */
export function readDotenv(path: string, explicit: boolean): { path: string; vars: Record<string, string> } | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (!explicit && code === 'ENOENT') return undefined;
    throw new ConfigError(`cannot read env file ${path}: ${code ?? String(err)}`);
  }
  return { path, vars: dotenv.parse(text) };
}

// Integers as bigint so that `1e3` and `1.5` (floats) can be rejected for integer keys.
const tomlLoader: Loader = (filepath, content) => {
  let doc: Record<string, unknown>;
  try {
    doc = parseToml(content, { integersAsBigInt: true });
  } catch (err) {
    const msg = err instanceof Error ? err.message.split('\n')[0] : String(err);
    const at = err as { line?: unknown; column?: unknown };
    const where = typeof at.line === 'number' && typeof at.column === 'number' ? ` (line ${at.line}, column ${at.column})` : '';
    throw new ConfigError(`cannot parse config file ${filepath}${where}: ${msg}`);
  }
  markNonDecimalIntegers(doc, content);
  return doc;
};

/**
 * Replaces each top-level integer written as `0x…`, `0o…` or `0b…` with a `NonDecimalInteger`,
 * which validation refuses. The keys are flat, so the literal is the text after `key =` on the
 * key's own line.
 */
function markNonDecimalIntegers(doc: Record<string, unknown>, content: string): void {
  for (const [key, value] of Object.entries(doc)) {
    if (typeof value !== 'bigint') continue;
    const k = key.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    const line = new RegExp(`^[\\uFEFF \\t]*(?:${k}|"${k}"|'${k}')[ \\t]*=[ \\t]*([^\\s#]+)`, 'm').exec(content);
    const literal = line?.[1];
    if (literal !== undefined && /^[+-]?0[xob]/i.test(literal)) doc[key] = new NonDecimalInteger(literal);
  }
}

function explorer() {
  return cosmiconfig('freenet', {
    searchPlaces: [CONFIG_FILE_NAME],
    loaders: { '.toml': tomlLoader, noExt: tomlLoader },
    // Only the working directory: a parent's file is someone else's configuration.
    searchStrategy: 'none',
    // An empty file is a file that sets nothing, not a missing one (it must not let the search go on).
    ignoreEmptySearchPlaces: false,
    cache: false,
  });
}

export interface LoadedFile {
  readonly path: string;
  readonly values: Record<string, unknown>;
  /** Freenet node keys present in the file that the gateway ignores. */
  readonly ignoredKeys: string[];
}

/**
 * Finds and reads the config file as §2 says: an explicit path must exist and parse; else
 * `freenet.config.toml` in the working directory; else `$XDG_CONFIG_HOME/freenet/config.toml`.
 */
export async function loadConfigFile(opts: {
  explicitPath: string | undefined;
  explicitFrom: string;
  cwd: string;
  env: Readonly<Record<string, string | undefined>>;
  homeDir: string;
}): Promise<LoadedFile | undefined> {
  const ex = explorer();
  if (opts.explicitPath !== undefined) {
    if (opts.explicitPath === '') throw new ConfigError(`config file path from ${opts.explicitFrom} is empty`);
    const path = resolve(opts.cwd, opts.explicitPath);
    mustBeFile(path, opts.explicitFrom);
    return normalize(path, (await ex.load(path))?.config);
  }
  const found = await ex.search(opts.cwd);
  if (found !== null) return normalize(found.filepath, found.config);
  const xdg = opts.env['XDG_CONFIG_HOME'];
  const xdgBase = xdg !== undefined && xdg !== '' ? xdg : join(opts.homeDir, '.config');
  const xdgPath = join(xdgBase, 'freenet', 'config.toml');
  if (!isFile(xdgPath)) return undefined;
  return normalize(xdgPath, (await ex.load(xdgPath))?.config);
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

function mustBeFile(path: string, from: string): void {
  let st;
  try {
    st = statSync(path);
  } catch (err) {
    throw new ConfigError(`config file ${path} (from ${from}) cannot be read: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  // /dev/null is the usual way to say "no config file": read as the empty file it is.
  if (st.isDirectory()) throw new ConfigError(`config file ${path} (from ${from}) is a directory`);
}

const KNOWN = CONFIG_KEYS.map((k) => k.key);

/** A key that starts with what was typed wins (`token-ttl` → `token-ttl-seconds`), else edit distance. */
export function nearestKey(typed: string, known: readonly string[]): string {
  const prefixed = known.filter((k) => k.startsWith(typed));
  return prefixed.length > 0 ? closest(typed, prefixed) : closest(typed, [...known]);
}

/** FREENET_* variables the gateway does not know: most likely typos, worth one line. */
export function unknownEnvVariables(env: Readonly<Record<string, string | undefined>>): { name: string; nearest: string }[] {
  const known = new Set(['FREENET_CONFIG', ...CONFIG_KEYS.map((k) => k.env)]);
  const names = [...known];
  return Object.keys(env)
    .filter((n) => n.startsWith('FREENET_') && !known.has(n))
    .map((name) => ({ name, nearest: nearestKey(name, names) }));
}

/** Kebab-case keys, snake_case accepted as a synonym; unknown keys are errors that suggest the nearest. */
function normalize(path: string, parsed: unknown): LoadedFile {
  const values: Record<string, unknown> = {};
  const ignoredKeys: string[] = [];
  // cosmiconfig hands an empty file over as undefined: a valid file that sets nothing.
  const table = parsed === undefined || parsed === null ? {} : parsed;
  if (typeof table !== 'object' || Array.isArray(table)) {
    throw new ConfigError(`config file ${path} does not hold a TOML table`);
  }
  for (const [rawKey, value] of Object.entries(table as Record<string, unknown>)) {
    const key = rawKey.replace(/_/g, '-');
    if (KNOWN.includes(key)) {
      if (Object.prototype.hasOwnProperty.call(values, key)) {
        throw new ConfigError(`config file ${path} sets ${key} twice (as ${rawKey} and its synonym)`);
      }
      values[key] = value;
    } else if (FREENET_NODE_KEYS.includes(key)) {
      ignoredKeys.push(rawKey);
    } else {
      throw new ConfigError(
        `unknown key ${JSON.stringify(rawKey)} in config file ${path}; did you mean ${JSON.stringify(nearestKey(key, KNOWN))}?`,
      );
    }
  }
  return { path, values, ignoredKeys };
}
