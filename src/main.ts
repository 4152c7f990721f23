import { writeSync } from 'node:fs';
import { runCli } from './cli.js';

/** Synchronous writes, so a piped `config` output is complete even when the process exits right after. */
function writeAll(fd: number, s: string): void {
  const buf = Buffer.from(s, 'utf8');
  let off = 0;
  while (off < buf.length) {
    try {
      off += writeSync(fd, buf, off);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EAGAIN') continue;
      throw err;
    }
  }
}

export function main(argv: readonly string[]): Promise<number> {
  return runCli(
    argv,
    process.env,
    process.cwd(),
    { stdout: (s) => writeAll(1, s), stderr: (s) => writeAll(2, s) },
    // Loaded only to run the daemon: `config` and `--help` stay quick and need no server code.
    async (loaded) => (await import('./daemon.js')).runDaemon(loaded),
  );
}
