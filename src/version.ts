import { readFileSync } from 'node:fs';

/** The package version, read once from package.json: above src/ and dist/, or above dist/bundle/. */
export const VERSION: string = (() => {
  for (const rel of ['../package.json', '../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(rel, import.meta.url), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'node-gateway' && pkg.version !== undefined) return pkg.version;
    } catch {
      // try the next place
    }
  }
  return '0.0.0';
})();
