/**
 * The one table of configuration keys (SPEC §2). Everything else — CLI flags, environment
 * variable names, TOML keys, validation, `config --defaults`, the example file and the README
 * reference — is derived from it, so a key cannot exist in one place and not another.
 */

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace';
export type LogFormat = 'json' | 'pretty';

/** The validated, effective configuration. Property names are the camelCase of the TOML keys. */
export interface GatewayConfig {
  wsApiAddress: string;
  wsApiPort: number;
  tokenTtlSeconds: number;
  tokenCleanupIntervalSeconds: number;
  maxTokens: number;
  heartbeatIntervalSeconds: number;
  maxMessageBytes: number;
  maxSendBufferBytes: number;
  shutdownTimeoutSeconds: number;
  allowedHosts: string[];
  dataDir: string;
  webappsDir: string | undefined;
  tokenStore: string;
  logLevel: LogLevel;
  logFormat: LogFormat;
}

export type ConfigProp = keyof GatewayConfig;
export type ConfigValue = GatewayConfig[ConfigProp];

/** How a raw value is checked and converted; one per shape of key. */
export type ValueKind =
  | { readonly type: 'int'; readonly min: number; readonly max: number }
  | { readonly type: 'host' }
  | { readonly type: 'host-list' }
  | { readonly type: 'path' }
  | { readonly type: 'enum'; readonly choices: readonly string[] }
  | { readonly type: 'token-store' };

/** Values whose default depends on the environment (XDG directories) are computed from it. */
export interface DefaultContext {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly homeDir: string;
}

export interface KeySpec {
  /** TOML key, kebab-case. */
  readonly key: string;
  readonly prop: ConfigProp;
  /** Long CLI flag without the dashes. */
  readonly flag: string;
  /** Placeholder shown in --help. */
  readonly flagArg: string;
  /** The flag may be given several times, each adding one value. */
  readonly repeatable?: boolean;
  readonly env: string;
  readonly kind: ValueKind;
  /** Undefined means unset by default. */
  readonly defaultValue: ConfigValue | ((ctx: DefaultContext) => ConfigValue);
  /** How the default is written in docs when it is computed. */
  readonly defaultDoc?: string;
  /** A sample value for the commented-out line of the example file, when there is no static default. */
  readonly example?: string;
  /** Human wording of the valid values, used in errors and docs. */
  readonly valid: string;
  readonly description: string;
}

/** The largest setTimeout delay Node honours (2^31−1 ms), expressed in whole seconds. */
export const MAX_TIMER_SECONDS = Math.floor(2_147_483_647 / 1000);

const LOG_LEVELS: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace'];
const LOG_FORMATS: readonly LogFormat[] = ['json', 'pretty'];

export const CONFIG_KEYS: readonly KeySpec[] = [
  {
    key: 'ws-api-address',
    prop: 'wsApiAddress',
    flag: 'ws-api-address',
    flagArg: '<address>',
    env: 'FREENET_WS_API_ADDRESS',
    kind: { type: 'host' },
    defaultValue: '127.0.0.1',
    valid: 'IP address or host name',
    description: 'Address to bind for HTTP and WebSocket. Loopback by default; anything else exposes the client API.',
  },
  {
    key: 'ws-api-port',
    prop: 'wsApiPort',
    flag: 'ws-api-port',
    flagArg: '<port>',
    env: 'FREENET_WS_API_PORT',
    kind: { type: 'int', min: 0, max: 65535 },
    defaultValue: 7509,
    valid: '0–65535 (0 = any free port)',
    description: 'Port for HTTP and WebSocket. 0 picks a free port; the start-up log says which.',
  },
  {
    key: 'token-ttl-seconds',
    prop: 'tokenTtlSeconds',
    flag: 'token-ttl-seconds',
    flagArg: '<seconds>',
    env: 'FREENET_TOKEN_TTL_SECONDS',
    kind: { type: 'int', min: 1, max: 315_360_000 },
    defaultValue: 86_400,
    valid: '1–315360000',
    description: 'Idle time after which an auth token expires. A token with an open connection never expires.',
  },
  {
    key: 'token-cleanup-interval-seconds',
    prop: 'tokenCleanupIntervalSeconds',
    flag: 'token-cleanup-interval-seconds',
    flagArg: '<seconds>',
    env: 'FREENET_TOKEN_CLEANUP_INTERVAL_SECONDS',
    kind: { type: 'int', min: 1, max: MAX_TIMER_SECONDS },
    defaultValue: 300,
    valid: `1–${MAX_TIMER_SECONDS}`,
    description: 'Period of the loop that removes expired tokens.',
  },
  {
    key: 'max-tokens',
    prop: 'maxTokens',
    flag: 'max-tokens',
    flagArg: '<count>',
    env: 'FREENET_MAX_TOKENS',
    kind: { type: 'int', min: 1, max: Number.MAX_SAFE_INTEGER },
    defaultValue: 1_000_000,
    valid: '≥ 1',
    description: 'Most live tokens held. At the cap a new page load gets 503 with Retry-After; no token in use is evicted.',
  },
  {
    key: 'heartbeat-interval-seconds',
    prop: 'heartbeatIntervalSeconds',
    flag: 'heartbeat-interval-seconds',
    flagArg: '<seconds>',
    env: 'FREENET_HEARTBEAT_INTERVAL_SECONDS',
    kind: { type: 'int', min: 1, max: MAX_TIMER_SECONDS },
    defaultValue: 30,
    valid: `1–${MAX_TIMER_SECONDS}`,
    description:
      'WebSocket ping period. A connection that neither answered the previous ping nor took any of the data sent to it since is terminated.',
  },
  {
    key: 'max-message-bytes',
    prop: 'maxMessageBytes',
    flag: 'max-message-bytes',
    flagArg: '<bytes>',
    env: 'FREENET_MAX_MESSAGE_BYTES',
    kind: { type: 'int', min: 1024, max: 1_073_741_824 },
    defaultValue: 16_777_216,
    valid: '1024–1073741824',
    description: 'Largest WebSocket message accepted; a larger one closes that connection with 1009.',
  },
  {
    key: 'max-send-buffer-bytes',
    prop: 'maxSendBufferBytes',
    flag: 'max-send-buffer-bytes',
    flagArg: '<bytes>',
    env: 'FREENET_MAX_SEND_BUFFER_BYTES',
    kind: { type: 'int', min: 1_048_576, max: 17_179_869_184 },
    defaultValue: 67_108_864,
    valid: '1048576–17179869184',
    description:
      'Most bytes queued for one WebSocket client that does not read its answers (at least twice max-message-bytes is used). Past 1 MiB queued its requests are no longer read until it catches up; past this the connection is terminated.',
  },
  {
    key: 'shutdown-timeout-seconds',
    prop: 'shutdownTimeoutSeconds',
    flag: 'shutdown-timeout-seconds',
    flagArg: '<seconds>',
    env: 'FREENET_SHUTDOWN_TIMEOUT_SECONDS',
    kind: { type: 'int', min: 1, max: 3600 },
    defaultValue: 10,
    valid: '1–3600',
    description: 'Grace period on SIGTERM/SIGINT before remaining connections are terminated.',
  },
  {
    key: 'allowed-hosts',
    prop: 'allowedHosts',
    flag: 'allowed-host',
    flagArg: '<host>',
    repeatable: true,
    env: 'FREENET_ALLOWED_HOSTS',
    kind: { type: 'host-list' },
    defaultValue: [],
    valid: 'host names / IP addresses (comma-separated in the environment)',
    description: 'Extra Host header values accepted besides loopback names and the bind address (DNS-rebinding guard).',
  },
  {
    key: 'data-dir',
    prop: 'dataDir',
    flag: 'data-dir',
    flagArg: '<path>',
    env: 'FREENET_DATA_DIR',
    kind: { type: 'path' },
    defaultValue: (ctx) => {
      const xdg = ctx.env['XDG_DATA_HOME'];
      const base = xdg !== undefined && xdg !== '' ? xdg : `${ctx.homeDir}/.local/share`;
      return `${base}/node-gateway`;
    },
    defaultDoc: '$XDG_DATA_HOME/node-gateway (else ~/.local/share/node-gateway)',
    example: '/var/lib/node-gateway',
    valid: 'path',
    description: "Directory for the embedded node's database and the token snapshot.",
  },
  {
    key: 'webapps-dir',
    prop: 'webappsDir',
    flag: 'webapps-dir',
    flagArg: '<path>',
    env: 'FREENET_WEBAPPS_DIR',
    kind: { type: 'path' },
    defaultValue: undefined,
    defaultDoc: 'unset',
    example: '/srv/node-gateway/webapps',
    valid: 'path',
    description: 'Static web apps for local development, one folder per contract key.',
  },
  {
    key: 'token-store',
    prop: 'tokenStore',
    flag: 'token-store',
    flagArg: '<memory|url>',
    env: 'FREENET_TOKEN_STORE',
    kind: { type: 'token-store' },
    defaultValue: 'memory',
    valid: 'memory, or a redis:// / rediss:// URL',
    description: 'Where tokens live: in this process, or in Redis shared by several gateways.',
  },
  {
    key: 'log-level',
    prop: 'logLevel',
    flag: 'log-level',
    flagArg: '<level>',
    env: 'FREENET_LOG_LEVEL',
    kind: { type: 'enum', choices: LOG_LEVELS },
    defaultValue: 'info',
    valid: LOG_LEVELS.join(', '),
    description: 'Least severe level logged.',
  },
  {
    key: 'log-format',
    prop: 'logFormat',
    flag: 'log-format',
    flagArg: '<format>',
    env: 'FREENET_LOG_FORMAT',
    kind: { type: 'enum', choices: LOG_FORMATS },
    defaultValue: 'json',
    valid: LOG_FORMATS.join(', '),
    description: 'json: one JSON object per line (for journald); pretty: for people.',
  },
];

/** Keys that Freenet's own node reads from the same file; the gateway ignores them politely. */
export const FREENET_NODE_KEYS: readonly string[] = [
  'mode',
  'network-address',
  'network-port',
  'public-network-address',
  'public-network-port',
  'public-address',
  'public-port',
  'is-gateway',
  'location',
  'bandwidth-limit',
  'total-bandwidth-limit',
  'min-bandwidth-per-connection',
  'min-number-of-connections',
  'max-number-of-connections',
  'gateways',
  'skip-load-from-network',
  'ignore-protocol-checking',
  'transport-keypair',
  'config-dir',
  'secrets-dir',
  'network-api',
  'ws-api',
  'secrets',
  'config-paths',
  'id',
];

export function specByKey(key: string): KeySpec | undefined {
  return CONFIG_KEYS.find((k) => k.key === key);
}

export function defaultFor(spec: KeySpec, ctx: DefaultContext): ConfigValue {
  const d = spec.defaultValue;
  return typeof d === 'function' ? d(ctx) : Array.isArray(d) ? [...d] : d;
}
