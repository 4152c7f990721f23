import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { renderDefaultsToml, renderMarkdownReference } from '../../src/config/render.js';

const REPO = join(import.meta.dirname, '..', '..');

describe('generated documentation matches the key table', () => {
  it('README configuration reference (npm run docs regenerates it)', () => {
    expect(readFileSync(join(REPO, 'README.md'), 'utf8')).toContain(renderMarkdownReference());
  });

  it('freenet.config.example.toml', () => {
    expect(readFileSync(join(REPO, 'freenet.config.example.toml'), 'utf8')).toBe(renderDefaultsToml());
  });
});
