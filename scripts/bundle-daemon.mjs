#!/usr/bin/env node
// Bundles the compiled daemon (dist/) into dist/bundle/: one file to load instead of ~400
// modules, which is most of the daemon's start-up time (docs/PERFORMANCE.md). Run by `npm run build`.
import { build } from 'esbuild';
import { rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
// Chunk names carry content hashes: clear the old ones so they do not pile up.
rmSync(`${root}/dist/bundle`, { recursive: true, force: true });
await build({
  absWorkingDir: root,
  entryPoints: { 'node-gateway': 'dist/main.js' },
  outdir: 'dist/bundle',
  chunkNames: '[name]-[hash]',
  bundle: true,
  splitting: true, // the daemon, Redis and the protocol load only when used
  format: 'esm',
  platform: 'node',
  target: 'node20',
  sourcemap: true,
  // Native addon, a lazily required pretty-printer, and cosmiconfig's optional TypeScript loader.
  external: ['better-sqlite3', 'pino-pretty', 'typescript'],
  // Bundled CommonJS code calls require(); give it one.
  banner: { js: "import { createRequire as __ngCreateRequire } from 'node:module'; const require = __ngCreateRequire(import.meta.url);" },
  logLevel: 'warning',
});
