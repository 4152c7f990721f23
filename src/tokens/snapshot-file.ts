import { closeSync, fsyncSync, openSync, readFileSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { SnapshotEntry } from './types.js';

export const SNAPSHOT_FILE = 'tokens.snapshot.json';
const FORMAT = 'node-gateway/tokens@1';

/**
 * Writes the snapshot atomically (temp file, fsync, rename) with mode 0600: it holds live
 * credentials, so no other user may read it and a crash mid-write must not leave half a file.
 */
export function writeSnapshot(dataDir: string, entries: readonly SnapshotEntry[], wallNow = Date.now()): string {
  const path = join(dataDir, SNAPSHOT_FILE);
  const tmp = `${path}.${process.pid}.tmp`;
  const body = JSON.stringify({ format: FORMAT, savedAt: wallNow, tokens: entries });
  const fd = openSync(tmp, 'w', 0o600);
  try {
    try {
      writeSync(fd, body);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  } catch (err) {
    // The temp file holds live tokens: never leave it behind (disk full, target is a directory).
    try {
      unlinkSync(tmp);
    } catch {
      // already gone
    }
    throw err;
  }
  return path;
}

export type SnapshotRead =
  | { readonly kind: 'missing' }
  | { readonly kind: 'corrupt'; readonly reason: string }
  | { readonly kind: 'ok'; readonly entries: readonly unknown[]; readonly savedAt: number };

/**
 * Reads the snapshot and leaves it in place: the daemon removes it (`removeSnapshot`) once it
 * listens, so a start that fails or is stopped before then keeps every token for the next one.
 */
export function readSnapshot(dataDir: string): SnapshotRead {
  const path = join(dataDir, SNAPSHOT_FILE);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { kind: 'missing' };
    return { kind: 'corrupt', reason: `cannot read: ${(err as NodeJS.ErrnoException).code ?? 'error'}` };
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return { kind: 'corrupt', reason: 'not JSON' };
  }
  if (typeof parsed !== 'object' || parsed === null) return { kind: 'corrupt', reason: 'not an object' };
  const obj = parsed as { format?: unknown; tokens?: unknown; savedAt?: unknown };
  if (obj.format !== FORMAT) return { kind: 'corrupt', reason: 'unknown format' };
  if (!Array.isArray(obj.tokens)) return { kind: 'corrupt', reason: 'no token list' };
  return { kind: 'ok', entries: obj.tokens, savedAt: typeof obj.savedAt === 'number' ? obj.savedAt : 0 };
}

/**
 * Removes the snapshot once its tokens are served: restored again by a later crash-restart, a
 * token used since would come back with a stale idle time. Returns why it could not, if so.
 */
export function removeSnapshot(dataDir: string): string | undefined {
  try {
    unlinkSync(join(dataDir, SNAPSHOT_FILE));
    return undefined;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return code === 'ENOENT' ? undefined : (code ?? String(err));
  }
}
