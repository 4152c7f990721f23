import { readFile, realpath, stat } from 'node:fs/promises';
import { join, sep } from 'node:path';
import mime from 'mime-types';

export interface WebAppFile {
  readonly body: Buffer;
  readonly contentType: string;
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
          return { body: await readFile(real), contentType: contentTypeFor(real) };
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
      return { body: Buffer.from(body.buffer, body.byteOffset, body.byteLength), contentType: contentTypeFor(segments.at(-1) ?? '') };
    },
  };
}
