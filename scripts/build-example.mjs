#!/usr/bin/env node
// Bundles the official client library for the example web app's browser page. Run by `npm run build`;
// the bundle is generated, not committed (see .gitignore).
import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const KEY = '13R8CLpkV3NkhQJeEtFJEeK5zuWPdbaRZy2AzmRfHPpx';

await build({
  absWorkingDir: root,
  entryPoints: ['examples/src/freenet-stdlib-browser.mjs'],
  outfile: `examples/webapps/${KEY}/vendor/freenet-stdlib.js`,
  bundle: true,
  format: 'iife',
  globalName: 'FreenetStdlib',
  platform: 'browser',
  target: 'es2020',
  minify: true,
  legalComments: 'inline',
  logLevel: 'warning',
});
