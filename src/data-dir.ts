import { closeSync, mkdirSync, openSync, readFileSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

/**
 * Creates the directory and its missing parents with mode 0700. Done by hand because Node 20's
 * `mkdirSync(..., { recursive: true })` spins forever on paths such as `/proc/x`.
 */
export function makeDataDir(path: string): void {
  const missing: string[] = [];
  let p = resolve(path);
  for (;;) {
    try {
      if (!statSync(p).isDirectory()) throw Object.assign(new Error(`${p} is not a directory`), { code: 'ENOTDIR' });
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      missing.push(p);
      const parent = dirname(p);
      if (parent === p) break;
      p = parent;
    }
  }
  for (const dir of missing.reverse()) {
    try {
      mkdirSync(dir, { mode: 0o700 });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
}

const LOCK_FILE = 'node-gateway.pid';

/**
 * Whether `pid` is a running node-gateway. After a crash or a reboot the pid in a stale lock
 * often belongs to some other process, so being alive is not enough: on Linux its command line
 * must name node-gateway too.
 */
function gatewayAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'latin1').includes('node-gateway');
  } catch {
    return true; // no /proc: all we know is that it is alive
  }
}

/**
 * One gateway per data-dir: two would share the database and overwrite each other's token
 * snapshot. A lock left by a process that is gone (crash, SIGKILL) is taken over.
 * Returns the release function, or the pid of the live holder.
 */
export function lockDataDir(dataDir: string): { ok: true; release: () => void } | { ok: false; holder: number } {
  const path = resolve(dataDir, LOCK_FILE);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(path, 'wx', 0o600);
      writeSync(fd, `${process.pid}\n`);
      closeSync(fd);
      return {
        ok: true,
        release: () => {
          try {
            if (readFileSync(path, 'utf8').trim() === String(process.pid)) unlinkSync(path);
          } catch {
            // already gone
          }
        },
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const holder = Number.parseInt(readFileSync(path, 'utf8').trim(), 10);
      if (Number.isInteger(holder) && holder > 0 && holder !== process.pid && gatewayAlive(holder)) return { ok: false, holder };
      unlinkSync(path);
    }
  }
  throw new Error(`cannot take the lock ${path}`);
}
