import type { WebAppFiles } from './types.js';

/**
 * Unpacked web apps by contract, each tagged with the state version it came from, so a state
 * change invalidates it without any hook. Least recently used entries go first; entries are
 * promises so concurrent page loads of the same app unpack it once.
 */
export class WebAppCache {
  private readonly entries = new Map<string, { stateVersion: number; files: Promise<WebAppFiles | undefined> }>();

  constructor(private readonly maxEntries: number) {}

  get(contractId: string, stateVersion: number, load: () => Promise<WebAppFiles | undefined>): Promise<WebAppFiles | undefined> {
    const hit = this.entries.get(contractId);
    if (hit !== undefined && hit.stateVersion === stateVersion) {
      this.entries.delete(contractId);
      this.entries.set(contractId, hit);
      return hit.files;
    }
    const files = load();
    this.entries.delete(contractId);
    this.entries.set(contractId, { stateVersion, files });
    while (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next().value;
      if (oldest === undefined) break;
      this.entries.delete(oldest);
    }
    return files;
  }

  clear(): void {
    this.entries.clear();
  }
}
