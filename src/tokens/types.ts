/**
 * The contract between the server and wherever tokens live (memory by default, Redis in §8).
 * Kept small and async so that a networked store can implement it; the memory store answers
 * synchronously underneath and exposes that for the hot path and the benchmarks.
 */

/** One attested contract: what a token stands for. */
export interface AttestedContract {
  /** Base58 contract instance id the page was loaded for. */
  readonly contractId: string;
  /** Random id of the page load that minted the token. */
  readonly clientId: string;
  /** Wall-clock epoch ms at issue; for display only, never for expiry. */
  readonly issuedAt: number;
  /**
   * Monotonic ms of the last access (or of the last connection close). Always a finite number.
   * Read-only: stores may hand out their live record rather than a copy (no allocation per lookup).
   */
  readonly lastAccessed: number;
}

/** Monotonic milliseconds; injectable so tests can move time without sleeping. */
export interface MonotonicClock {
  now(): number;
}

export type MintResult =
  | { readonly ok: true; readonly token: string; readonly record: AttestedContract }
  | { readonly ok: false; readonly reason: 'capacity' };

export interface SweepResult {
  readonly removed: number;
  readonly remaining: number;
}

/** A token and its idle age, as saved across a restart (§7). */
export interface SnapshotEntry {
  readonly token: string;
  readonly contractId: string;
  readonly clientId: string;
  readonly issuedAt: number;
  /** Idle milliseconds at the moment of the snapshot (0 for a token in use). */
  readonly idleMs: number;
}

/** Totals a store keeps for metrics; expiries include tokens refused lazily before any sweep. */
export interface TokenStoreCounters {
  readonly issued: number;
  readonly expired: number;
  readonly refused: number;
}

export interface TokenStore {
  /** Mint a fresh token bound to `contractId`; refused at the cap. */
  mint(contractId: string): Promise<MintResult>;
  /**
   * Resolve a token for a connection that is opening and mark it in use.
   * Undefined for an unknown or expired token (expired is refused before any sweep).
   */
  acquire(token: string): Promise<AttestedContract | undefined>;
  /** An access on an open connection (coalescing allowed). */
  touch(token: string): void;
  /** A connection holding the token closed; its idle clock starts when the last one closes. */
  release(token: string): void;
  /** Remove every expired token. */
  sweep(): Promise<SweepResult>;
  /** Live (unexpired-or-not-yet-swept) tokens held. */
  size(): Promise<number>;
  close(): Promise<void>;
  stats(): Readonly<TokenStoreCounters>;
}
