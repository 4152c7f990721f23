import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { readSnapshot, removeSnapshot, SNAPSHOT_FILE, writeSnapshot } from '../../src/tokens/snapshot-file.js';

const dirs: string[] = [];
function scratch(): string {
  const d = mkdtempSync(join(tmpdir(), 'ngw-snap-'));
  dirs.push(d);
  return d;
}
afterEach(() => {
  while (dirs.length > 0) rmSync(dirs.pop()!, { recursive: true, force: true });
});

const entry = { token: 'T'.repeat(44), contractId: 'c', clientId: 'u', issuedAt: 1, idleMs: 5 };

describe('token snapshot file', () => {
  it('is written 0600 and read back without being removed; removal is separate', () => {
    const dir = scratch();
    writeSnapshot(dir, [entry], 1234);
    expect(statSync(join(dir, SNAPSHOT_FILE)).mode & 0o777).toBe(0o600);
    expect(readSnapshot(dir)).toEqual({ kind: 'ok', entries: [entry], savedAt: 1234 });
    expect(readSnapshot(dir).kind).toBe('ok'); // reading twice: still there
    expect(removeSnapshot(dir)).toBeUndefined();
    expect(readSnapshot(dir)).toEqual({ kind: 'missing' });
    expect(removeSnapshot(dir)).toBeUndefined(); // nothing to remove is not a failure
  });

  it('a failed write leaves no temp file holding live tokens behind', () => {
    const dir = scratch();
    mkdirSync(join(dir, SNAPSHOT_FILE)); // the rename onto a directory fails
    expect(() => writeSnapshot(dir, [entry])).toThrow();
    expect(readdirSync(dir)).toEqual([SNAPSHOT_FILE]);
    expect(removeSnapshot(dir)).toMatch(/EISDIR|EPERM|ENOTEMPTY/);
  });
});
