#!/usr/bin/env node
// Regenerates test/fixtures/webapp/*.tar.xz, the archives the web-app container tests unpack:
// one well-formed app and one archive per kind of hostile entry. Needs `xz` (xz-utils).
//
//   node scripts/make-webapp-fixtures.mjs
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tarOf, xz } from './webapp-pack.mjs';

const out = join(dirname(fileURLToPath(import.meta.url)), '..', 'test', 'fixtures', 'webapp');
mkdirSync(out, { recursive: true });

const indexHtml = '<!doctype html><html><head><title>fixture app</title></head><body><script src="app.js"></script></body></html>\n';
const fixtures = {
  // What `tar -C build -cJf app.tar.xz .` makes: ./-prefixed names and directory entries.
  'app.tar.xz': [
    { name: './', type: 'directory' },
    { name: './index.html', data: indexHtml },
    { name: './app.js', data: 'document.title = "fixture";\n' },
    { name: './css/', type: 'directory' },
    { name: './css/style.css', data: 'body { color: #123; }\n' },
  ],
  'traversal.tar.xz': [
    { name: 'index.html', data: indexHtml },
    { name: '../escaped.txt', data: 'outside' },
  ],
  'nested-traversal.tar.xz': [{ name: 'assets/../../escaped.txt', data: 'outside' }],
  'absolute.tar.xz': [{ name: '/etc/escaped.txt', data: 'outside' }],
  'symlink.tar.xz': [
    { name: 'index.html', data: indexHtml },
    { name: 'passwd', type: 'symlink', linkname: '/etc/passwd' },
  ],
  'hardlink.tar.xz': [
    { name: 'index.html', data: indexHtml },
    { name: 'passwd', type: 'link', linkname: '/etc/passwd' },
  ],
  // 32 MiB of zeros: a few KiB compressed. Unpacks only under a large enough size limit.
  'zeros.tar.xz': [{ name: 'zeros.bin', data: Buffer.alloc(32 * 1024 * 1024) }],
  'many-files.tar.xz': Array.from({ length: 50 }, (_, i) => ({ name: `f${i}.txt`, data: String(i) })),
};

for (const [name, entries] of Object.entries(fixtures)) {
  const archive = xz(await tarOf(entries));
  writeFileSync(join(out, name), archive);
  console.log(`${name}: ${archive.length} bytes`);
}
