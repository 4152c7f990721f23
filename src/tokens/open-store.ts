import type { GatewayConfig } from '../config/keys.js';
import type { Logger } from '../logging.js';
import { MemoryTokenStore } from './memory-store.js';
import type { TokenStore } from './types.js';

/**
 * `token-store = "memory"` (the default) or a Redis URL shared by several gateways (§8).
 * An unreachable Redis rejects here, once, so the daemon can exit instead of limping on.
 */
export async function openTokenStore(cfg: GatewayConfig, log: Logger): Promise<TokenStore> {
  const ttlMs = cfg.tokenTtlSeconds * 1000;
  if (cfg.tokenStore === 'memory') return new MemoryTokenStore({ ttlMs, maxTokens: cfg.maxTokens });
  // Loaded only when asked for: ioredis is a third of the daemon's start-up time.
  const { RedisTokenStore } = await import('./redis-store.js');
  const store = await RedisTokenStore.create({
    url: cfg.tokenStore,
    ttlMs,
    maxTokens: cfg.maxTokens,
    logger: log.child({ component: 'token-store' }),
  });
  log.info({ store: store.where }, 'tokens are shared through Redis');
  return store;
}
