import { Readable } from 'node:stream';
import * as tar from 'tar-stream';
import xz from 'xz-decompress';

/**
 * Freenet web-app containers (freenet-stdlib `WebApp::pack` / `TryFrom<&[u8]>`): the contract
 * state is
 *
 *     u64 big-endian metadata length ‖ metadata ‖ u64 big-endian archive length ‖ archive
 *
 * where the archive is a `.tar.xz` of the web app's files. freenet-stdlib caps metadata at 1 KiB
 * and the archive at 100 MiB, and ignores bytes after the archive; so do we.
 */
export interface WebAppContainer {
  readonly metadata: Uint8Array;
  readonly archive: Uint8Array;
}

export interface WebAppLimits {
  /** freenet-stdlib's MAX_METADATA_SIZE. */
  readonly maxMetadataBytes: number;
  /** freenet-stdlib's MAX_WEB_SIZE (compressed archive). */
  readonly maxArchiveBytes: number;
  /** Unpacked bytes of all files together: bounds an xz bomb. */
  readonly maxTotalBytes: number;
  readonly maxFiles: number;
  readonly maxPathBytes: number;
}

export const DEFAULT_WEBAPP_LIMITS: WebAppLimits = {
  maxMetadataBytes: 1024,
  maxArchiveBytes: 100 * 1024 * 1024,
  maxTotalBytes: 256 * 1024 * 1024,
  maxFiles: 10_000,
  maxPathBytes: 1024,
};

/** The unpacked files of a web app, by normalised relative path (`index.html`, `js/app.js`). */
export type WebAppFileMap = ReadonlyMap<string, Uint8Array>;

/** The archive is a container but cannot be served: the message says why. */
export class WebAppError extends Error {
  override readonly name = 'WebAppError';
}

const XZ_MAGIC = [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00];
const LENGTH_BYTES = 8;

/**
 * Splits a contract state into metadata and archive, or returns undefined when the state is not
 * a web-app container (lengths that do not fit, or an archive that is not xz). Never throws.
 */
export function parseWebAppContainer(state: Uint8Array, limits: WebAppLimits = DEFAULT_WEBAPP_LIMITS): WebAppContainer | undefined {
  const view = new DataView(state.buffer, state.byteOffset, state.byteLength);
  if (state.length < LENGTH_BYTES) return undefined;
  const metadataLength = view.getBigUint64(0, false);
  if (metadataLength > BigInt(limits.maxMetadataBytes)) return undefined;
  const archiveAt = LENGTH_BYTES + Number(metadataLength);
  if (state.length < archiveAt + LENGTH_BYTES) return undefined;
  const archiveLength = view.getBigUint64(archiveAt, false);
  if (archiveLength > BigInt(limits.maxArchiveBytes)) return undefined;
  const archiveStart = archiveAt + LENGTH_BYTES;
  const archiveEnd = archiveStart + Number(archiveLength);
  if (state.length < archiveEnd) return undefined;
  const archive = state.subarray(archiveStart, archiveEnd);
  if (archive.length < XZ_MAGIC.length || XZ_MAGIC.some((b, i) => archive[i] !== b)) return undefined;
  return { metadata: state.subarray(LENGTH_BYTES, archiveAt), archive };
}

/** Builds a container state (the inverse of `parseWebAppContainer`), for tests and tools. */
export function packWebAppContainer(metadata: Uint8Array, archive: Uint8Array): Uint8Array {
  const out = new Uint8Array(LENGTH_BYTES * 2 + metadata.length + archive.length);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(metadata.length), false);
  out.set(metadata, LENGTH_BYTES);
  view.setBigUint64(LENGTH_BYTES + metadata.length, BigInt(archive.length), false);
  out.set(archive, LENGTH_BYTES * 2 + metadata.length);
  return out;
}

/**
 * Unpacks a `.tar.xz` archive in memory. Rejects the whole archive (WebAppError) on any entry
 * that could escape the app's root (`..`, absolute paths), on links and special files, and when
 * the file count or the unpacked size passes the limits: decompression stops as soon as it does.
 */
export async function unpackWebArchive(archive: Uint8Array, limits: WebAppLimits = DEFAULT_WEBAPP_LIMITS): Promise<WebAppFileMap> {
  const tarBytes = await decompressXz(archive, maxTarBytes(limits));
  return readTar(tarBytes, limits);
}

/** Headers, padding and end blocks add at most this much to the file contents of a tar. */
function maxTarBytes(limits: WebAppLimits): number {
  return limits.maxTotalBytes + (limits.maxFiles + 8) * 3 * 512 + 64 * 1024;
}

async function decompressXz(archive: Uint8Array, maxBytes: number): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    const input = new Blob([archive]).stream();
    const reader = new xz.XzReadableStream(input).getReader();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        total += value.length;
        if (total > maxBytes) throw new WebAppError(`archive unpacks to more than ${maxBytes} bytes`);
        chunks.push(value.slice());
      }
    } finally {
      await reader.cancel().catch(() => undefined);
    }
  } catch (err) {
    if (err instanceof WebAppError) throw err;
    throw new WebAppError(`archive is not valid xz data (${err instanceof Error ? err.message : String(err)})`);
  }
  return Buffer.concat(chunks, total);
}

async function readTar(tarBytes: Uint8Array, limits: WebAppLimits): Promise<WebAppFileMap> {
  const files = new Map<string, Uint8Array>();
  let total = 0;
  const extract = tar.extract();
  Readable.from([Buffer.from(tarBytes.buffer, tarBytes.byteOffset, tarBytes.byteLength)]).pipe(extract);
  try {
    for await (const entry of extract) {
      const header = entry.header;
      const type = header.type ?? 'file';
      if (type === 'directory') {
        safePath(header.name, limits); // a directory named `../x` is as hostile as a file
        entry.resume();
        continue;
      }
      if (type !== 'file' && type !== 'contiguous-file') {
        throw new WebAppError(`archive entry ${JSON.stringify(header.name)} is a ${type}; only regular files are allowed`);
      }
      const path = safePath(header.name, limits);
      if (path === '') throw new WebAppError(`archive entry ${JSON.stringify(header.name)} is a file without a name`);
      if (!files.has(path) && files.size >= limits.maxFiles) throw new WebAppError(`archive has more than ${limits.maxFiles} files`);
      const parts: Buffer[] = [];
      for await (const chunk of entry as AsyncIterable<Buffer>) {
        total += chunk.length;
        if (total > limits.maxTotalBytes) throw new WebAppError(`archive files add up to more than ${limits.maxTotalBytes} bytes`);
        parts.push(chunk);
      }
      files.set(path, new Uint8Array(Buffer.concat(parts)));
    }
  } catch (err) {
    extract.destroy();
    if (err instanceof WebAppError) throw err;
    throw new WebAppError(`archive is not a valid tar (${err instanceof Error ? err.message : String(err)})`);
  }
  return files;
}

/**
 * The entry's path relative to the app root, normalised (`./a//b` → `a/b`), or a WebAppError if
 * it is absolute, climbs with `..`, uses backslashes or control characters, or is too long.
 */
export function safePath(name: string, limits: Pick<WebAppLimits, 'maxPathBytes'> = DEFAULT_WEBAPP_LIMITS): string {
  const quoted = JSON.stringify(name);
  if (Buffer.byteLength(name) > limits.maxPathBytes) throw new WebAppError(`archive path ${quoted.slice(0, 80)}… is too long`);
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f\\]/.test(name)) throw new WebAppError(`archive path ${quoted} has a backslash or control character`);
  if (name.startsWith('/') || /^[A-Za-z]:/.test(name)) throw new WebAppError(`archive path ${quoted} is absolute`);
  const segments = name.split('/').filter((s) => s !== '' && s !== '.');
  if (segments.includes('..')) throw new WebAppError(`archive path ${quoted} leaves the web app's folder`);
  return segments.join('/');
}
