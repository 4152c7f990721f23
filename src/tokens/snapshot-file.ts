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
    writeSync(fd, body);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
  return path;
}

export type SnapshotRead =
  | { readonly kind: 'missing' }
  | { readonly kind: 'corrupt'; readonly reason: string }
  | { readonly kind: 'ok'; readonly entries: readonly unknown[]; readonly savedAt: number };

/**
 * Reads and removes the snapshot: a token restored once must not be restored again by a later
 * crash-restart, where it would come back with a stale idle time.
 */
export function takeSnapshot(dataDir: string): SnapshotRead {
  const path = join(dataDir, SNAPSHOT_FILE);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { kind: 'missing' };
    return { kind: 'corrupt', reason: `cannot read: ${(err as NodeJS.ErrnoException).code ?? 'error'}` };
  }
  try {
    unlinkSync(path);
  } catch {
    // Unremovable is not fatal: the restored tokens keep their idle age either way.
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
