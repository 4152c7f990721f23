/** The shared TokenStore contract, against the embedded memory store (manual clock, no waiting). */
import { ManualClock } from '../../src/tokens/clock.js';
import { MemoryTokenStore } from '../../src/tokens/memory-store.js';
import { runTokenStoreContract } from './store-contract.js';

runTokenStoreContract(
  'MemoryTokenStore',
  async ({ ttlMs, maxTokens }) => {
    const clock = new ManualClock(1_000_000);
    const store = new MemoryTokenStore({ ttlMs, maxTokens, clock });
    return {
      store,
      advance: async (ms) => clock.advance(ms),
      cleanup: () => store.close(),
    };
  },
  { ttlMs: 1000 },
);
