import { Command, CommanderError, Option } from 'commander';
import { CONFIG_KEYS } from './config/keys.js';
import { loadConfig, type LoadedConfig } from './config/load.js';
import { renderDefaultsToml, renderEffectiveJson, renderEffectiveToml } from './config/render.js';
import { ConfigError, UsageError, type RawValue } from './config/validate.js';
import { VERSION } from './version.js';

export interface CliIo {
  readonly stdout: (s: string) => void;
  readonly stderr: (s: string) => void;
}

export type DaemonStarter = (config: LoadedConfig) => Promise<number>;

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/** The key flags are accepted on the daemon and on `config`, so both see the same configuration. */
function addConfigOptions(cmd: Command): Command {
  for (const spec of CONFIG_KEYS) {
    const opt = new Option(`--${spec.flag} ${spec.flagArg}`, `${spec.description} [${spec.valid}] (env ${spec.env})`);
    if (spec.repeatable === true) opt.argParser(collect);
    cmd.addOption(opt);
  }
  cmd.option('--config <path>', 'config file (TOML); env FREENET_CONFIG');
  cmd.option('--env-file <path>', 'file of FREENET_* variables (default: .env in the working directory, if present)');
  return cmd;
}

interface ParsedCommand {
  readonly name: 'run' | 'config';
  readonly flags: Record<string, RawValue>;
  readonly configFlag: string | undefined;
  readonly envFileFlag: string | undefined;
  readonly json: boolean;
  readonly defaults: boolean;
}

/** Only flags actually given count: a flag that was not given must not shadow a lower source. */
function givenFlags(cmd: Command): Pick<ParsedCommand, 'flags' | 'configFlag' | 'envFileFlag'> {
  const opts = cmd.opts<Record<string, unknown>>();
  const flags: Record<string, RawValue> = {};
  for (const spec of CONFIG_KEYS) {
    const name = cmd.options.find((o) => o.long === `--${spec.flag}`)?.attributeName();
    if (name !== undefined && cmd.getOptionValueSource(name) === 'cli') flags[spec.key] = opts[name] as RawValue;
  }
  return {
    flags,
    configFlag: opts['config'] as string | undefined,
    envFileFlag: opts['envFile'] as string | undefined,
  };
}

function parseArgs(argv: readonly string[], io: CliIo): ParsedCommand {
  let parsed: ParsedCommand | undefined;
  const program = new Command('node-gateway')
    .description('Client-facing gateway of a Freenet-style node')
    .version(VERSION, '-V, --version')
    .exitOverride()
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr })
    .showSuggestionAfterError(true)
    .allowExcessArguments(false);
  addConfigOptions(program).action(() => {
    parsed = { name: 'run', ...givenFlags(program), json: false, defaults: false };
  });
  const config = addConfigOptions(
    program
      .command('config')
      .description('print the effective configuration (TOML with sources), or the defaults')
      .option('--json', 'print as JSON')
      .addOption(new Option('--defaults', 'print the annotated default config file').conflicts('json')),
  ).action(() => {
    const o = config.opts<{ json?: boolean; defaults?: boolean }>();
    const own = givenFlags(config);
    const parent = givenFlags(program);
    parsed = {
      name: 'config',
      flags: { ...parent.flags, ...own.flags },
      configFlag: own.configFlag ?? parent.configFlag,
      envFileFlag: own.envFileFlag ?? parent.envFileFlag,
      json: o.json === true,
      defaults: o.defaults === true,
    };
  });
  config.exitOverride().configureOutput({ writeOut: io.stdout, writeErr: io.stderr }).showSuggestionAfterError(true);
  program.parse([...argv], { from: 'user' });
  if (parsed === undefined) throw new UsageError('no command');
  return parsed;
}

/**
 * The whole command line, as a function of argv, environment and output streams, returning the
 * exit status. The daemon itself is injected so the composition root stays in one place.
 */
export async function runCli(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
  cwd: string,
  io: CliIo,
  startDaemon: DaemonStarter,
): Promise<number> {
  let cmd: ParsedCommand;
  try {
    cmd = parseArgs(argv, io);
  } catch (err) {
    if (err instanceof CommanderError) {
      // Help and version are successes; every other commander complaint is a usage error.
      return err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help'
        ? 0
        : 64;
    }
    if (err instanceof UsageError) {
      io.stderr(`node-gateway: ${err.message}\n`);
      return 64;
    }
    throw err;
  }

  if (cmd.name === 'config' && cmd.defaults) {
    io.stdout(renderDefaultsToml());
    return 0;
  }

  let loaded: LoadedConfig;
  try {
    loaded = await loadConfig({
      flags: cmd.flags,
      configFlag: cmd.configFlag,
      envFileFlag: cmd.envFileFlag,
      env,
      cwd,
    });
  } catch (err) {
    if (err instanceof ConfigError) {
      io.stderr(`node-gateway: ${err.message}\n`);
      return 78;
    }
    throw err;
  }

  if (cmd.name === 'config') {
    io.stdout(cmd.json ? renderEffectiveJson(loaded, loaded.configFile) : renderEffectiveToml(loaded, loaded.configFile));
    return 0;
  }
  return startDaemon(loaded);
}
