import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_WEBAPP_LIMITS,
  WebAppError,
  packWebAppContainer,
  parseWebAppContainer,
  safePath,
  unpackWebArchive,
} from '../../src/node/webapp-container.js';

// Made by scripts/make-webapp-fixtures.mjs (tar-stream + the xz command).
const fixture = (name: string): Uint8Array => new Uint8Array(readFileSync(join(import.meta.dirname, '..', 'fixtures', 'webapp', name)));
const text = (b: Uint8Array | undefined): string => new TextDecoder().decode(b);

describe('web-app container format (freenet-stdlib WebApp::pack)', () => {
  it('is u64 BE metadata length, metadata, u64 BE archive length, archive', () => {
    const archive = fixture('app.tar.xz');
    const state = packWebAppContainer(new TextEncoder().encode('meta'), archive);
    expect([...state.subarray(0, 8)]).toEqual([0, 0, 0, 0, 0, 0, 0, 4]);
    expect(text(state.subarray(8, 12))).toBe('meta');
    expect(new DataView(state.buffer).getBigUint64(12, false)).toBe(BigInt(archive.length));
    const parsed = parseWebAppContainer(state);
    expect(text(parsed?.metadata)).toBe('meta');
    expect(parsed?.archive).toEqual(archive);
  });

  it('ignores trailing bytes after the archive, as freenet-stdlib does', () => {
    const archive = fixture('app.tar.xz');
    const state = new Uint8Array([...packWebAppContainer(new Uint8Array(), archive), 1, 2, 3]);
    expect(parseWebAppContainer(state)?.archive).toEqual(archive);
  });

  it('says "not a container" for ordinary states and broken framing', () => {
    const archive = fixture('app.tar.xz');
    const good = packWebAppContainer(new Uint8Array(), archive);
    expect(parseWebAppContainer(new TextEncoder().encode('{"counter": 1}'))).toBeUndefined();
    expect(parseWebAppContainer(new Uint8Array())).toBeUndefined();
    expect(parseWebAppContainer(good.subarray(0, good.length - 1))).toBeUndefined(); // truncated archive
    expect(parseWebAppContainer(packWebAppContainer(new Uint8Array(1025), archive))).toBeUndefined(); // metadata > 1 KiB
    expect(parseWebAppContainer(packWebAppContainer(new Uint8Array(), new TextEncoder().encode('not xz at all')))).toBeUndefined();
    const huge = new Uint8Array(good);
    new DataView(huge.buffer).setBigUint64(8, 2n ** 63n, false); // archive length beyond anything
    expect(parseWebAppContainer(huge)).toBeUndefined();
  });
});

describe('unpackWebArchive', () => {
  it('unpacks a tar -C dir . style archive to normalised paths', async () => {
    const files = await unpackWebArchive(fixture('app.tar.xz'));
    expect([...files.keys()].sort()).toEqual(['app.js', 'css/style.css', 'index.html']);
    expect(text(files.get('index.html'))).toContain('</head>');
    expect(text(files.get('css/style.css'))).toBe('body { color: #123; }\n');
  });

  it.each([
    ['traversal.tar.xz', /leaves the web app's folder/],
    ['nested-traversal.tar.xz', /leaves the web app's folder/],
    ['absolute.tar.xz', /is absolute/],
    ['symlink.tar.xz', /is a symlink/],
    ['hardlink.tar.xz', /is a link/],
  ])('rejects %s as a whole', async (name, reason) => {
    await expect(unpackWebArchive(fixture(name))).rejects.toThrow(reason);
    await expect(unpackWebArchive(fixture(name))).rejects.toBeInstanceOf(WebAppError);
  });

  it('stops decompressing an archive that unpacks to more than the size limit', async () => {
    const limits = { ...DEFAULT_WEBAPP_LIMITS, maxTotalBytes: 1024 * 1024 };
    await expect(unpackWebArchive(fixture('zeros.tar.xz'), limits)).rejects.toThrow(/more than \d+ bytes/);
    // Under the default limit the same archive is fine.
    const files = await unpackWebArchive(fixture('zeros.tar.xz'));
    expect(files.get('zeros.bin')?.length).toBe(32 * 1024 * 1024);
  });

  it('bounds the number of files', async () => {
    await expect(unpackWebArchive(fixture('many-files.tar.xz'), { ...DEFAULT_WEBAPP_LIMITS, maxFiles: 10 })).rejects.toThrow(
      /more than 10 files/,
    );
    expect((await unpackWebArchive(fixture('many-files.tar.xz'))).size).toBe(50);
  });

  it('rejects corrupt xz and non-tar content', async () => {
    const archive = fixture('app.tar.xz');
    const corrupt = new Uint8Array(archive);
    const middle = Math.floor(archive.length / 2);
    corrupt[middle] = (corrupt[middle] ?? 0) ^ 0xff;
    await expect(unpackWebArchive(corrupt)).rejects.toBeInstanceOf(WebAppError);
    await expect(unpackWebArchive(archive.subarray(0, 40))).rejects.toBeInstanceOf(WebAppError);
  });
});

describe('safePath', () => {
  it('normalises harmless forms', () => {
    expect(safePath('./a//b/./c.js')).toBe('a/b/c.js');
    expect(safePath('index.html')).toBe('index.html');
  });

  it.each(['../x', 'a/../../x', 'a/..', '/abs', 'C:/x', 'a\\..\\x', 'a\u0000b', 'x'.repeat(2000)])('rejects %j', (p) => {
    expect(() => safePath(p)).toThrow(WebAppError);
  });
});
