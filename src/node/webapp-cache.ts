import type { WebAppFiles } from './types.js';

interface Entry {
  readonly stateVersion: number;
  readonly files: Promise<WebAppFiles | undefined>;
  /** Unpacked bytes, known once the promise settles. */
  bytes: number;
}

/**
 * Unpacked web apps by contract, each tagged with the state version it came from, so a state
 * change invalidates it without any hook. Bounded by entry count and by unpacked bytes; least
 * recently used entries go first. Entries are promises so that concurrent page loads of the same
 * app unpack it once.
 */
export class WebAppCache {
  private readonly entries = new Map<string, Entry>();
  private totalBytes = 0;

  constructor(
    private readonly maxEntries: number,
    private readonly maxBytes: number,
  ) {}

  get(contractId: string, stateVersion: number, load: () => Promise<WebAppFiles | undefined>): Promise<WebAppFiles | undefined> {
    const hit = this.entries.get(contractId);
    if (hit !== undefined && hit.stateVersion === stateVersion) {
      this.entries.delete(contractId);
      this.entries.set(contractId, hit); // most recently used goes last
      return hit.files;
    }
    this.remove(contractId);
    const entry: Entry = { stateVersion, files: load(), bytes: 0 };
    this.entries.set(contractId, entry);
    void entry.files.then(
      (app) => {
        if (this.entries.get(contractId) !== entry || app === undefined) return;
        for (const data of app.files.values()) entry.bytes += data.length;
        this.totalBytes += entry.bytes;
        this.evict(contractId);
      },
      () => this.remove(contractId),
    );
    this.evict(contractId);
    return entry.files;
  }

  clear(): void {
    this.entries.clear();
    this.totalBytes = 0;
  }

  /** Drops least recently used entries, never `keep`, until both bounds hold. */
  private evict(keep: string): void {
    for (const id of this.entries.keys()) {
      if (this.entries.size <= this.maxEntries && this.totalBytes <= this.maxBytes) return;
      if (id !== keep) this.remove(id);
    }
  }

  private remove(contractId: string): void {
    const entry = this.entries.get(contractId);
    if (entry === undefined) return;
    this.entries.delete(contractId);
    this.totalBytes -= entry.bytes;
  }
}
