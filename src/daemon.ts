import { statSync } from 'node:fs';
import { lockDataDir, makeDataDir } from './data-dir.js';
import { CONFIG_KEYS } from './config/keys.js';
import type { LoadedConfig } from './config/load.js';
import { displayValue } from './config/render.js';
import { describeSource } from './config/validate.js';
import { createLogger, type Logger } from './logging.js';
import { EmbeddedNode } from './node/embedded-node.js';
import type { NodeRequest } from './node/types.js';
import { FreenetApiBinding } from './server/freenet-api.js';
import { GatewayServer } from './server/gateway-server.js';
import { isLoopback } from './server/host-check.js';
import { GatewayMetrics } from './server/metrics.js';
import { ChainedWebApps, DirectoryWebApps, webAppFromFiles, type WebAppSource } from './server/webapps.js';
import { MemoryTokenStore } from './tokens/memory-store.js';
import { openTokenStore } from './tokens/open-store.js';
import { readSnapshot, removeSnapshot, writeSnapshot } from './tokens/snapshot-file.js';
import type { TokenStore } from './tokens/types.js';
import { VERSION } from './version.js';

function logEffectiveConfig(log: Logger, loaded: LoadedConfig): void {
  for (const spec of CONFIG_KEYS) {
    const value = loaded.config[spec.prop];
    log.info(
      { key: spec.key, value: value === undefined ? null : displayValue(spec, value), source: describeSource(loaded.provenance[spec.prop]) },
      'config',
    );
  }
  if (loaded.configFile !== undefined && loaded.ignoredFileKeys.length > 0) {
    log.info({ file: loaded.configFile, keys: loaded.ignoredFileKeys }, "ignoring Freenet node keys the gateway does not use");
  }
  for (const v of loaded.unknownVariables) {
    log.warn({ variable: v.name, nearest: v.nearest }, 'unknown FREENET_* variable ignored');
  }
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/** Restores the snapshot's tokens; true when there is a snapshot file to remove once serving. */
function restoreTokens(log: Logger, store: MemoryTokenStore, dataDir: string): boolean {
  const snap = readSnapshot(dataDir);
  if (snap.kind === 'missing') return false;
  if (snap.kind === 'corrupt') {
    log.warn({ reason: snap.reason }, 'token snapshot ignored');
    return true;
  }
  // Downtime counts as idle time: the only clock that spans a restart is the wall clock.
  const downMs = Math.max(0, Date.now() - snap.savedAt);
  const aged = snap.entries.map((e) =>
    typeof e === 'object' && e !== null && typeof (e as { idleMs?: unknown }).idleMs === 'number'
      ? { ...e, idleMs: (e as { idleMs: number }).idleMs + downMs }
      : e,
  );
  const r = store.restore(aged);
  log.info({ restored: r.restored, dropped: r.dropped }, 'tokens restored from snapshot');
  return true;
}

function waitForSignal(log: Logger, lastWords: () => void): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const first = (sig: NodeJS.Signals) => {
      process.off('SIGTERM', first);
      process.off('SIGINT', first);
      // A second signal means "now": the operator is not willing to wait for the grace period.
      const again = (sig2: NodeJS.Signals) => {
        log.warn({ signal: sig2 }, 'second signal during shutdown; exiting immediately');
        lastWords();
        process.exit(sig2 === 'SIGINT' ? 130 : 143);
      };
      process.on('SIGTERM', again);
      process.on('SIGINT', again);
      resolve(sig);
    };
    process.on('SIGTERM', first);
    process.on('SIGINT', first);
  });
}

/** The composition root: the one place where config, store, node, web apps and server meet. */
export async function runDaemon(loaded: LoadedConfig): Promise<number> {
  const cfg = loaded.config;
  const log = createLogger(cfg.logLevel, cfg.logFormat);
  log.info({ version: VERSION }, 'node-gateway starting');
  logEffectiveConfig(log, loaded);

  let unlock: () => void;
  try {
    makeDataDir(cfg.dataDir);
    const lock = lockDataDir(cfg.dataDir);
    if (!lock.ok) {
      log.fatal({ dataDir: cfg.dataDir, holderPid: lock.holder }, 'data-dir is in use by another running node-gateway');
      return 75; // EX_TEMPFAIL: it may be free once the other one stops
    }
    unlock = lock.release;
  } catch (err) {
    log.fatal({ dataDir: cfg.dataDir, err: (err as Error).message }, 'cannot create data-dir');
    return 73; // EX_CANTCREAT
  }
  try {
    return await serve(loaded, log);
  } finally {
    unlock();
  }
}

async function serve(loaded: LoadedConfig, log: Logger): Promise<number> {
  const cfg = loaded.config;
  const version = VERSION;

  let tokens: TokenStore;
  try {
    tokens = await openTokenStore(cfg, log);
  } catch (err) {
    log.fatal({ err: (err as Error).message }, 'token store unavailable at start');
    return 69; // EX_UNAVAILABLE: systemd may retry
  }
  const saveTokens = (): void => {
    if (!(tokens instanceof MemoryTokenStore)) return;
    try {
      const entries = tokens.snapshot();
      writeSnapshot(cfg.dataDir, entries);
      log.info({ tokens: entries.length }, 'token snapshot saved');
    } catch (err) {
      log.error({ err: (err as Error).message }, 'token snapshot not saved');
    }
  };
  // The handlers come before the snapshot is read: from here a SIGTERM/SIGINT is a graceful stop,
  // whether it arrives during the restore, during start-up or the moment "listening" is said
  // (without a handler Node's default kills the process, and after the snapshot's removal that
  // lost every token). Even an impatient second Ctrl-C keeps the tokens: saving takes milliseconds.
  const stopSignal = waitForSignal(log, saveTokens);

  // The snapshot stays on disk until the gateway listens: a start that fails (port taken,
  // database locked) leaves it whole for the next one.
  const snapshotRead = tokens instanceof MemoryTokenStore && restoreTokens(log, tokens, cfg.dataDir);

  let node: EmbeddedNode;
  try {
    node = EmbeddedNode.open({ dataDir: cfg.dataDir, logger: log.child({ component: 'node' }) });
  } catch (err) {
    log.fatal({ dataDir: cfg.dataDir, err: (err as Error).message }, 'cannot open the embedded node database');
    await tokens.close();
    return 73;
  }
  const sources: WebAppSource[] = [];
  if (cfg.webappsDir !== undefined) {
    if (!isDirectory(cfg.webappsDir)) {
      // Not fatal: it is read per request, so creating it later works without a restart.
      log.warn({ webappsDir: cfg.webappsDir }, 'webapps-dir is not a directory (yet); pages are served from the node only until it is');
    }
    sources.push(new DirectoryWebApps(cfg.webappsDir));
  }
  sources.push({
    find: async (contractId) => {
      const files = await node.webApp(contractId);
      return files === undefined ? undefined : webAppFromFiles(files.files);
    },
  });

  const metrics = new GatewayMetrics({
    liveTokens: () => tokens.size(),
    connections: () => server.connectionCount,
    expiredTotal: () => tokens.stats().expired,
  });
  const server: GatewayServer<NodeRequest> = new GatewayServer({
    log,
    bindAddress: cfg.wsApiAddress,
    port: cfg.wsApiPort,
    allowedHosts: cfg.allowedHosts,
    tokenTtlSeconds: cfg.tokenTtlSeconds,
    cleanupIntervalSeconds: cfg.tokenCleanupIntervalSeconds,
    heartbeatIntervalSeconds: cfg.heartbeatIntervalSeconds,
    maxMessageBytes: cfg.maxMessageBytes,
    maxSendBufferBytes: cfg.maxSendBufferBytes,
    tokens,
    // The memory store answers without I/O: upgrades need not wait for a promise.
    acquireNow: tokens instanceof MemoryTokenStore ? (token) => tokens.acquireSync(token) : undefined,
    webApps: new ChainedWebApps(sources),
    api: new FreenetApiBinding(node, log),
    events: metrics,
    metrics: () => metrics.render(),
    version,
  });

  try {
    const addr = await server.start();
    // Serving now: the restored tokens live in this process (removed before "listening" is said,
    // so whoever waits for that line finds it gone).
    if (snapshotRead) {
      const failed = removeSnapshot(cfg.dataDir);
      if (failed !== undefined) {
        log.warn({ dataDir: cfg.dataDir, code: failed }, 'token snapshot could not be removed; a crash-restart would restore its tokens again');
      }
    }
    const hostPart = addr.address.includes(':') ? `[${addr.address}]` : addr.address;
    // Said at any log level: with port 0 it is the only way to learn the port.
    log.child({}, { level: 'info' }).info({ address: addr.address, port: addr.port }, `listening on ${hostPart}:${addr.port}`);
    if (!isLoopback(addr.address)) {
      log.warn(
        { address: addr.address, allowedHosts: cfg.allowedHosts },
        'ws-api-address is not a loopback address: the gateway is reachable from the network (page loads and WebSocket connections need a Host header in allowed-hosts; /healthz and /metrics answer anyone)',
      );
    }
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    log.fatal({ err: (err as Error).message, code }, 'cannot listen');
    await node.close();
    await tokens.close();
    return 69;
  }

  const signal = await stopSignal;
  const graceMs = cfg.shutdownTimeoutSeconds * 1000;
  log.info({ signal, graceMs }, 'shutting down');
  // The grace period covers everything; stragglers get most of it, saving gets the rest.
  await server.stop(Math.max(100, graceMs - 500));
  saveTokens();
  await node.close();
  await tokens.close();
  log.info('stopped');
  return 0;
}
