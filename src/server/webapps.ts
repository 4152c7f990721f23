import { readFile, realpath, stat } from 'node:fs/promises';
import { join, sep } from 'node:path';
import mime from 'mime-types';

/** A file of a web app: in memory (from a contract's state) or on disk, streamed when served. */
export type WebAppFile =
  | { readonly kind: 'buffer'; readonly body: Buffer; readonly contentType: string }
  | { readonly kind: 'disk'; readonly path: string; readonly size: number; readonly contentType: string };

/** The page is read whole to inject the token: anything bigger is not a page. */
export const MAX_INDEX_BYTES = 8 * 1024 * 1024;

export async function readWhole(file: WebAppFile): Promise<Buffer | undefined> {
  if (file.kind === 'buffer') return file.body;
  if (file.size > MAX_INDEX_BYTES) return undefined;
  return readFile(file.path);
}

/** One contract's web app. `path` is already split into safe segments. */
export interface WebApp {
  file(segments: readonly string[]): Promise<WebAppFile | undefined>;
}

/** Where web apps come from: a folder per contract, or a web-app contract's state. */
export interface WebAppSource {
  find(contractId: string): Promise<WebApp | undefined>;
}

export function contentTypeFor(name: string): string {
  const type = mime.lookup(name);
  if (type === false) return 'application/octet-stream';
  return /^text\/|javascript|json|xml|svg/.test(type) ? `${type}; charset=utf-8` : type;
}

/**
 * Splits a URL path (after the key) into decoded segments, refusing anything that could leave
 * the web app's folder: `..`, encoded slashes or backslashes, NUL. Undefined = refuse.
 */
export function safeSegments(rawPath: string): string[] | undefined {
  const parts = rawPath.split('/');
  const out: string[] = [];
  for (const part of parts) {
    if (part === '') continue;
    let seg: string;
    try {
      seg = decodeURIComponent(part);
    } catch {
      return undefined;
    }
    if (seg === '.' || seg === '..' || /[/\\\0]/.test(seg)) return undefined;
    out.push(seg);
  }
  return out;
}

/** `webapps-dir/{key}/`: for local development. Symlinks that point outside the folder are refused. */
export class DirectoryWebApps implements WebAppSource {
  constructor(private readonly root: string) {}

  async find(contractId: string): Promise<WebApp | undefined> {
    const dir = join(this.root, contractId);
    try {
      if (!(await stat(dir)).isDirectory()) return undefined;
    } catch {
      return undefined;
    }
    const realDir = await realpath(dir);
    return {
      file: async (segments) => {
        const target = join(realDir, ...segments);
        try {
          const real = await realpath(target);
          if (real !== realDir && !real.startsWith(realDir + sep)) return undefined;
          const st = await stat(real);
          if (!st.isFile()) return undefined;
          return { kind: 'disk', path: real, size: st.size, contentType: contentTypeFor(real) };
        } catch {
          return undefined;
        }
      },
    };
  }
}

/** Tries each source in order; the first that knows the contract serves it. */
export class ChainedWebApps implements WebAppSource {
  constructor(private readonly sources: readonly WebAppSource[]) {}

  async find(contractId: string): Promise<WebApp | undefined> {
    for (const s of this.sources) {
      const app = await s.find(contractId);
      if (app !== undefined) return app;
    }
    return undefined;
  }
}

/** Files held in memory, as unpacked from a web-app contract's state. */
export function webAppFromFiles(files: ReadonlyMap<string, Uint8Array>): WebApp {
  return {
    file: async (segments) => {
      const body = files.get(segments.join('/'));
      if (body === undefined) return undefined;
      return {
        kind: 'buffer',
        body: Buffer.from(body.buffer, body.byteOffset, body.byteLength),
        contentType: contentTypeFor(segments.at(-1) ?? ''),
      };
    },
  };
}
