import { readFileSync } from 'node:fs';

/** The package version, read once from package.json (one level above dist/ and src/). */
export const VERSION: string = (() => {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version?: string };
  return pkg.version ?? '0.0.0';
})();
