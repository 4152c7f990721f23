#!/usr/bin/env node
// Packs a folder as a Freenet web-app container state, the format freenet-stdlib's
// `WebApp::pack` writes: u64 big-endian metadata length, metadata, u64 big-endian archive
// length, archive (.tar.xz). Used to make test fixtures and example contract states.
//
//   node scripts/webapp-pack.mjs <folder> <out-file> [metadata-string]
//
// Needs the `xz` command (Debian's xz-utils) for compression; the gateway itself only
// decompresses, in WebAssembly.
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import tar from 'tar-stream';

const MTIME = new Date('2024-01-01T00:00:00Z'); // fixed, so the same input gives the same bytes

/** A tar of the given entries: { name, data?, type?, linkname? }. */
export async function tarOf(entries) {
  const pack = tar.pack();
  const chunks = [];
  const done = (async () => {
    for await (const chunk of pack) chunks.push(chunk);
  })();
  for (const e of entries) {
    const header = { name: e.name, type: e.type ?? 'file', mode: e.type === 'directory' ? 0o755 : 0o644, mtime: MTIME };
    if (e.linkname !== undefined) header.linkname = e.linkname;
    await new Promise((resolve, reject) =>
      pack.entry(header, e.type === undefined || e.type === 'file' ? Buffer.from(e.data ?? '') : undefined, (err) =>
        err ? reject(err) : resolve(),
      ),
    );
  }
  pack.finalize();
  await done;
  return Buffer.concat(chunks);
}

export function xz(bytes) {
  const out = spawnSync('xz', ['--compress', '--stdout', '-6', '--check=crc64'], { input: bytes, maxBuffer: 1 << 30 });
  if (out.status !== 0) throw new Error(`xz failed: ${out.stderr?.toString() || out.error}`);
  return out.stdout;
}

export function container(metadata, archive) {
  const out = Buffer.alloc(16 + metadata.length + archive.length);
  out.writeBigUInt64BE(BigInt(metadata.length), 0);
  Buffer.from(metadata).copy(out, 8);
  out.writeBigUInt64BE(BigInt(archive.length), 8 + metadata.length);
  Buffer.from(archive).copy(out, 16 + metadata.length);
  return out;
}

/** Entries for every file under `dir`, as `./relative/path` (what `tar -C dir .` writes). */
export function folderEntries(dir) {
  const entries = [];
  const walk = (d) => {
    for (const name of readdirSync(d).sort()) {
      const full = join(d, name);
      const rel = './' + relative(dir, full).split(sep).join('/');
      if (statSync(full).isDirectory()) {
        entries.push({ name: rel + '/', type: 'directory' });
        walk(full);
      } else {
        entries.push({ name: rel, data: readFileSync(full) });
      }
    }
  };
  walk(dir);
  return entries;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [folder, outFile, metadata = ''] = process.argv.slice(2);
  if (!folder || !outFile) {
    console.error('usage: node scripts/webapp-pack.mjs <folder> <out-file> [metadata-string]');
    process.exit(64);
  }
  const state = container(Buffer.from(metadata), xz(await tarOf(folderEntries(folder))));
  writeFileSync(outFile, state);
  console.log(`${outFile}: ${state.length} bytes`);
}
