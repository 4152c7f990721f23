import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EmbeddedNode } from '../../src/node/embedded-node.js';
import { contractIdentity } from '../../src/node/contract-key.js';
import type { HostResponse } from '../../src/node/types.js';

// The crash has to happen in another process, which runs the compiled node: `npm test` builds
// dist/ first; run `npm run build` before running this file on its own.
const compiledNode = resolve(import.meta.dirname, '..', '..', 'dist', 'node', 'index.js');

describe('embedded node durability', () => {
  it.skipIf(!existsSync(compiledNode))('an acknowledged put and update survive SIGKILL of the process', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'node-gateway-crash-'));
    try {
      const child = `
        const { EmbeddedNode, contractIdentity } = await import(${JSON.stringify(compiledNode)});
        const enc = (s) => new TextEncoder().encode(s);
        const code = enc('crash test code'), parameters = enc('p');
        const id = contractIdentity(code, parameters);
        const node = EmbeddedNode.open({ dataDir: ${JSON.stringify(dataDir)} });
        const acked = [];
        const s = node.openSession((r) => acked.push(r.kind));
        await s.handle({ kind: 'put', contract: { code, codeHash: id.codeHash, parameters, key: { instanceId: id.instanceId } }, state: enc('v1'), relatedContracts: [] });
        await s.handle({ kind: 'update', key: { instanceId: id.instanceId }, data: { kind: 'state', state: enc('v2') } });
        process.stdout.write(acked.join(',') + '\\n');
        process.kill(process.pid, 'SIGKILL'); // no close(), no checkpoint, no exit handlers
      `;
      const run = spawnSync(process.execPath, ['--input-type=module', '-e', child], { encoding: 'utf8', timeout: 20_000 });
      expect(run.signal).toBe('SIGKILL');
      expect(run.stdout.trim()).toBe('put-response,update-response');

      const node = EmbeddedNode.open({ dataDir });
      try {
        const received: HostResponse[] = [];
        const id = contractIdentity(new TextEncoder().encode('crash test code'), new TextEncoder().encode('p'));
        await node.openSession((r) => received.push(r)).handle({ kind: 'get', key: { instanceId: id.instanceId }, fetchContract: false }, undefined);
        expect(received[0]).toMatchObject({ kind: 'get-response', state: new TextEncoder().encode('v2') });
      } finally {
        await node.close();
      }
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
