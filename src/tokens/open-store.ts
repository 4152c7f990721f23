import type { GatewayConfig } from '../config/keys.js';
import type { Logger } from '../logging.js';
import { MemoryTokenStore } from './memory-store.js';
import type { TokenStore } from './types.js';

/** `token-store = "memory"` (the default) or a Redis URL shared by several gateways (§8). */
export async function openTokenStore(cfg: GatewayConfig, log: Logger): Promise<TokenStore> {
  const ttlMs = cfg.tokenTtlSeconds * 1000;
  if (cfg.tokenStore === 'memory') return new MemoryTokenStore({ ttlMs, maxTokens: cfg.maxTokens });
  void log;
  throw new Error('redis token store not available in this build');
}
