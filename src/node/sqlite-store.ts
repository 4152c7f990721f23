import { LRUCache } from 'lru-cache';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { sameBytes } from './contract-key.js';

/** A contract as the node keeps it. */
export interface StoredContract {
  readonly instanceId: Uint8Array;
  readonly codeHash: Uint8Array;
  readonly code: Uint8Array;
  readonly parameters: Uint8Array;
  readonly state: Uint8Array;
  /** Starts at 1, +1 on every state change: a cheap cache key for what is derived from state. */
  readonly stateVersion: number;
}

export interface StoredState {
  readonly codeHash: Uint8Array;
  readonly state: Uint8Array;
  readonly stateVersion: number;
}

export interface PutOutcome {
  readonly created: boolean;
  /** The stored state differs from before (always true when created). */
  readonly changed: boolean;
  readonly stateVersion: number;
}

export const DATABASE_FILE = 'node.sqlite';
const SCHEMA_VERSION = 1;

/**
 * Contracts and their states in SQLite (`<dataDir>/node.sqlite`). Code is stored once per code
 * hash, since one contract code serves many instances with different parameters.
 *
 * Durability: WAL with `synchronous=FULL` fsyncs the log on every commit, and every write here is
 * one transaction, so a put or update that has returned has reached the disk and survives a
 * crash of the process (or of the machine). better-sqlite3 is synchronous: each call is atomic
 * with respect to the event loop, so no two requests interleave inside one.
 */
export class ContractStore {
  private readonly db: Database.Database;
  private readonly stmts: ReturnType<typeof prepare>;
  private readonly putTx: (c: Omit<StoredContract, 'stateVersion'>) => PutOutcome;
  private readonly replaceTx: (instanceId: Uint8Array, state: Uint8Array) => { changed: boolean; stateVersion: number } | undefined;
  /**
   * Recent states, written through on every change. A Get is the hot path of the client API and a
   * SQLite read costs two lock system calls; this process is the database's only writer (the
   * data-dir lock), so the cache cannot go stale.
   */
  private readonly states = new LRUCache<string, StoredState>({
    maxSize: 64 * 1024 * 1024,
    sizeCalculation: (v) => v.state.length + v.codeHash.length + 64,
    maxEntrySize: 1024 * 1024,
  });

  private constructor(db: Database.Database) {
    this.db = db;
    const stmts = prepare(db);
    this.stmts = stmts;
    this.putTx = db.transaction((c: Omit<StoredContract, 'stateVersion'>): PutOutcome => {
      stmts.insertCode.run(blob(c.codeHash), blob(c.code));
      const existing = stmts.getState.get(blob(c.instanceId)) as StateRow | undefined;
      if (existing === undefined) {
        stmts.insertContract.run(blob(c.instanceId), blob(c.codeHash), blob(c.parameters), blob(c.state), Date.now());
        return { created: true, changed: true, stateVersion: 1 };
      }
      if (sameBytes(existing.state, c.state)) return { created: false, changed: false, stateVersion: existing.state_version };
      stmts.updateState.run(blob(c.state), Date.now(), blob(c.instanceId));
      return { created: false, changed: true, stateVersion: existing.state_version + 1 };
    });
    this.replaceTx = db.transaction((instanceId: Uint8Array, state: Uint8Array) => {
      const existing = stmts.getState.get(blob(instanceId)) as StateRow | undefined;
      if (existing === undefined) return undefined;
      if (sameBytes(existing.state, state)) return { changed: false, stateVersion: existing.state_version };
      stmts.updateState.run(blob(state), Date.now(), blob(instanceId));
      return { changed: true, stateVersion: existing.state_version + 1 };
    });
  }

  static open(dataDir: string): ContractStore {
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    const db = new Database(join(dataDir, DATABASE_FILE));
    try {
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = FULL');
      db.pragma('foreign_keys = ON');
      // Another process holding the write lock briefly should delay us, not fail the request.
      db.pragma('busy_timeout = 5000');
      migrate(db);
      return new ContractStore(db);
    } catch (err) {
      db.close();
      throw err;
    }
  }

  get(instanceId: Uint8Array): StoredContract | undefined {
    const row = this.stmts.getContract.get(blob(instanceId)) as ContractRow | undefined;
    if (row === undefined) return undefined;
    return {
      instanceId: plain(row.instance_id),
      codeHash: plain(row.code_hash),
      code: plain(row.code),
      parameters: plain(row.parameters),
      state: plain(row.state),
      stateVersion: row.state_version,
    };
  }

  /** The stored state (shared with the cache: callers must not modify the bytes). */
  getState(instanceId: Uint8Array): StoredState | undefined {
    const key = cacheKey(instanceId);
    const cached = this.states.get(key);
    if (cached !== undefined) return cached;
    const row = this.stmts.getState.get(blob(instanceId)) as StateRow | undefined;
    if (row === undefined) return undefined;
    const stored = { codeHash: plain(row.code_hash), state: plain(row.state), stateVersion: row.state_version };
    this.states.set(key, stored);
    return stored;
  }

  /** Stores a contract (already verified) and its state; an existing contract gets the new state. */
  put(contract: Omit<StoredContract, 'stateVersion'>): PutOutcome {
    const outcome = this.putTx(contract);
    // After the commit: the cache only ever holds what is on disk.
    this.states.set(cacheKey(contract.instanceId), {
      codeHash: new Uint8Array(contract.codeHash),
      state: new Uint8Array(contract.state),
      stateVersion: outcome.stateVersion,
    });
    return outcome;
  }

  /** Replaces the state of a stored contract; undefined if the contract is unknown. */
  replaceState(instanceId: Uint8Array, state: Uint8Array): { changed: boolean; stateVersion: number } | undefined {
    const key = cacheKey(instanceId);
    this.states.delete(key);
    return this.replaceTx(instanceId, state);
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}

function cacheKey(instanceId: Uint8Array): string {
  return Buffer.from(instanceId.buffer, instanceId.byteOffset, instanceId.byteLength).toString('latin1');
}

interface StateRow {
  code_hash: Buffer;
  state: Buffer;
  state_version: number;
}

interface ContractRow extends StateRow {
  instance_id: Buffer;
  code: Buffer;
  parameters: Buffer;
}

function migrate(db: Database.Database): void {
  const version = db.pragma('user_version', { simple: true }) as number;
  if (version > SCHEMA_VERSION) {
    throw new Error(`${DATABASE_FILE} has schema version ${version}; this node-gateway knows up to ${SCHEMA_VERSION}`);
  }
  if (version === SCHEMA_VERSION) return;
  db.exec(`
    BEGIN;
    CREATE TABLE IF NOT EXISTS contract_code (
      code_hash BLOB PRIMARY KEY NOT NULL,
      code      BLOB NOT NULL
    );
    CREATE TABLE IF NOT EXISTS contracts (
      instance_id   BLOB PRIMARY KEY NOT NULL,
      code_hash     BLOB NOT NULL REFERENCES contract_code(code_hash),
      parameters    BLOB NOT NULL,
      state         BLOB NOT NULL,
      state_version INTEGER NOT NULL,
      updated_at_ms INTEGER NOT NULL
    );
    PRAGMA user_version = ${SCHEMA_VERSION};
    COMMIT;
  `);
}

function prepare(db: Database.Database) {
  return {
    getContract: db.prepare(
      `SELECT c.instance_id, c.code_hash, k.code, c.parameters, c.state, c.state_version
         FROM contracts c JOIN contract_code k ON k.code_hash = c.code_hash
        WHERE c.instance_id = ?`,
    ),
    getState: db.prepare('SELECT code_hash, state, state_version FROM contracts WHERE instance_id = ?'),
    insertCode: db.prepare('INSERT OR IGNORE INTO contract_code (code_hash, code) VALUES (?, ?)'),
    insertContract: db.prepare(
      `INSERT INTO contracts (instance_id, code_hash, parameters, state, state_version, updated_at_ms)
       VALUES (?, ?, ?, ?, 1, ?)`,
    ),
    updateState: db.prepare(
      'UPDATE contracts SET state = ?, state_version = state_version + 1, updated_at_ms = ? WHERE instance_id = ?',
    ),
  };
}

/** better-sqlite3 binds Buffers as BLOBs; wrap a Uint8Array without copying it. */
function blob(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Rows come back as Buffers; hand out plain Uint8Arrays (same memory) like the rest of the node. */
function plain(bytes: Buffer): Uint8Array {
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
