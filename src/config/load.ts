import { homedir } from 'node:os';
import { resolve } from 'node:path';
import type { RawValue } from './validate.js';
import { mergeConfig, type ResolvedConfig } from './merge.js';
import { loadConfigFile, readDotenv, unknownEnvVariables } from './sources.js';

export interface LoadOptions {
  /** Key flags that were given on the command line (TOML key → raw). */
  readonly flags: Readonly<Record<string, RawValue>>;
  /** --config, if given. */
  readonly configFlag?: string | undefined;
  /** --env-file, if given. */
  readonly envFileFlag?: string | undefined;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly cwd: string;
  readonly homeDir?: string;
}

export interface LoadedConfig extends ResolvedConfig {
  readonly configFile: string | undefined;
  readonly envFile: string | undefined;
  /** Freenet node keys in the file that the gateway ignores (logged once at start). */
  readonly ignoredFileKeys: readonly string[];
  /** FREENET_* variables (environment or .env) that name no key: likely typos. */
  readonly unknownVariables: readonly { name: string; nearest: string }[];
}

/** Reads every source and merges them; throws ConfigError (exit 78) on any bad input. */
export async function loadConfig(opts: LoadOptions): Promise<LoadedConfig> {
  const home = opts.homeDir ?? homedir();
  const envFilePath = resolve(opts.cwd, opts.envFileFlag ?? '.env');
  const dot = readDotenv(envFilePath, opts.envFileFlag !== undefined);

  // The config file's own location follows the same precedence as any value.
  let configPath: string | undefined;
  let configFrom = '';
  if (opts.configFlag !== undefined) {
    configPath = opts.configFlag;
    configFrom = 'flag --config';
  } else if (opts.env['FREENET_CONFIG'] !== undefined) {
    configPath = opts.env['FREENET_CONFIG'];
    configFrom = 'environment variable FREENET_CONFIG';
  } else if (dot?.vars['FREENET_CONFIG'] !== undefined) {
    configPath = dot.vars['FREENET_CONFIG'];
    configFrom = `.env file ${dot.path}`;
  }

  const file = await loadConfigFile({
    explicitPath: configPath,
    explicitFrom: configFrom,
    cwd: opts.cwd,
    env: opts.env,
    homeDir: home,
  });

  const resolved = mergeConfig({
    flags: opts.flags,
    env: opts.env,
    ...(dot !== undefined ? { dotenv: dot } : {}),
    ...(file !== undefined ? { file: { path: file.path, values: file.values } } : {}),
    defaults: { env: { ...dot?.vars, ...opts.env }, homeDir: home },
    cwd: opts.cwd,
  });
  return {
    ...resolved,
    configFile: file?.path,
    envFile: dot?.path,
    ignoredFileKeys: file?.ignoredKeys ?? [],
    unknownVariables: unknownEnvVariables({ ...dot?.vars, ...opts.env }),
  };
}
