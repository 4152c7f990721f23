import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EmbeddedNode } from '../../src/node/embedded-node.js';
import { contractIdentity, encodeContractId } from '../../src/node/contract-key.js';
import { packWebAppContainer } from '../../src/node/webapp-container.js';
import type { HostResponse, NodeRequest } from '../../src/node/types.js';
import type { ContractMsg } from '../../src/protocol/types.js';
import type { AttestedContract } from '../../src/tokens/types.js';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const code = enc('\0asm counter contract');
const parameters = enc('room-1');
const id = contractIdentity(code, parameters);
const contractId = encodeContractId(id.instanceId);
const contract: ContractMsg = { code, codeHash: id.codeHash, parameters, key: { instanceId: id.instanceId, codeHash: id.codeHash } };
const put = (state: Uint8Array): NodeRequest => ({ kind: 'put', contract, state, relatedContracts: [] });
const key = { instanceId: id.instanceId };

let dataDir: string;
let node: EmbeddedNode;

function session(): { handle: (r: NodeRequest, a?: AttestedContract) => void | Promise<void>; received: HostResponse[]; close: () => void } {
  const received: HostResponse[] = [];
  const s = node.openSession((r) => received.push(r));
  return { handle: (r, a) => s.handle(r, a), received, close: () => s.close() };
}

beforeEach(() => {
  dataDir = mkdtempSync(join(tmpdir(), 'node-gateway-node-'));
  node = EmbeddedNode.open({ dataDir: join(dataDir, 'nested', 'dir') });
});

afterEach(async () => {
  await node.close();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('embedded node', () => {
  it('put, then get returns the same state, and the contract when asked', async () => {
    const a = session();
    await a.handle(put(enc('v1')));
    expect(a.received).toEqual([{ kind: 'put-response', key: { instanceId: id.instanceId, codeHash: id.codeHash } }]);

    await a.handle({ kind: 'get', key, fetchContract: false });
    const plain = a.received[1];
    expect(plain).toMatchObject({ kind: 'get-response', state: enc('v1') });
    expect(plain && 'contract' in plain ? plain.contract : undefined).toBeUndefined();

    await a.handle({ kind: 'get', key, fetchContract: true });
    const full = a.received[2];
    expect(full?.kind).toBe('get-response');
    if (full?.kind === 'get-response') {
      expect(full.state).toEqual(enc('v1'));
      expect(full.contract?.code).toEqual(code);
      expect(full.contract?.parameters).toEqual(parameters);
      expect(full.contract?.codeHash).toEqual(id.codeHash);
      expect(full.key.instanceId).toEqual(id.instanceId);
    }
  });

  it('refuses a put whose key does not match code and parameters', async () => {
    const a = session();
    const other = contractIdentity(code, enc('room-2'));
    await a.handle({ ...put(enc('v1')), contract: { ...contract, key: { instanceId: other.instanceId } } } as NodeRequest);
    await a.handle({ ...put(enc('v1')), contract: { ...contract, codeHash: new Uint8Array(32) } } as NodeRequest);
    await a.handle({ ...put(enc('v1')), contract: { ...contract, key: { instanceId: id.instanceId, codeHash: new Uint8Array(32) } } } as NodeRequest);
    expect(a.received.map((r) => r.kind)).toEqual(['error', 'error', 'error']);
    expect(a.received[0]).toMatchObject({ message: expect.stringContaining(`does not match the contract: code and parameters give ${contractId}`) });
    await a.handle({ kind: 'get', key: { instanceId: other.instanceId }, fetchContract: false });
    expect(a.received[3]).toMatchObject({ kind: 'error', message: expect.stringContaining('no such contract') });
  });

  it('unknown key: get, update and subscribe say so', async () => {
    const a = session();
    await a.handle({ kind: 'get', key, fetchContract: true });
    await a.handle({ kind: 'update', key, data: { kind: 'state', state: enc('x') } });
    await a.handle({ kind: 'update', key, data: { kind: 'delta', delta: enc('x') } });
    await a.handle({ kind: 'subscribe', key, summary: new Uint8Array() });
    expect(a.received).toHaveLength(4);
    for (const r of a.received) {
      expect(r).toMatchObject({ kind: 'error', message: expect.stringContaining(`contract ${contractId}: no such contract`) });
    }
  });

  it('a full-state update replaces the state; subscribers on every session are notified', async () => {
    const writer = session();
    const reader = session();
    const bystander = session();
    await writer.handle(put(enc('v1')));
    await reader.handle({ kind: 'subscribe', key, summary: new Uint8Array() });
    await writer.handle({ kind: 'subscribe', key, summary: new Uint8Array() });
    expect(reader.received).toEqual([{ kind: 'ok', message: `subscribed to contract ${contractId}` }]);

    await writer.handle({ kind: 'update', key, data: { kind: 'state', state: enc('v2') } });
    expect(writer.received.map((r) => r.kind)).toEqual(['put-response', 'ok', 'update-response', 'update-notification']);
    expect(reader.received[1]).toEqual({
      kind: 'update-notification',
      key: { instanceId: id.instanceId, codeHash: id.codeHash },
      update: { kind: 'state', state: enc('v2') },
    });
    // Subscribers share one notification object, so the encoder does its work once.
    expect(reader.received[1]).toBe(writer.received[3]);
    expect(bystander.received).toEqual([]);

    await bystander.handle({ kind: 'get', key, fetchContract: false });
    expect(bystander.received[0]).toMatchObject({ kind: 'get-response', state: enc('v2') });

    // The same state again changes nothing and notifies nobody.
    await writer.handle({ kind: 'update', key, data: { kind: 'state', state: enc('v2') } });
    expect(reader.received).toHaveLength(2);

    // A put of new state on a known contract replaces it too, and notifies.
    await bystander.handle(put(enc('v3')));
    expect(reader.received[2]).toMatchObject({ kind: 'update-notification', update: { kind: 'state', state: enc('v3') } });
  });

  it('subscriptions end with their session', async () => {
    const writer = session();
    const reader = session();
    await writer.handle(put(enc('v1')));
    await reader.handle({ kind: 'subscribe', key, summary: new Uint8Array() });
    reader.close();
    reader.close(); // idempotent
    await writer.handle({ kind: 'update', key, data: { kind: 'state', state: enc('v2') } });
    expect(reader.received).toHaveLength(1);
    await reader.handle({ kind: 'get', key, fetchContract: false });
    expect(reader.received).toHaveLength(1); // a closed session answers nothing
  });

  it('one failing subscriber does not stop the others', async () => {
    const writer = session();
    const broken = node.openSession(() => {
      throw new Error('socket gone');
    });
    const reader = session();
    await writer.handle(put(enc('v1')));
    await broken.handle({ kind: 'subscribe', key, summary: new Uint8Array() }, undefined);
    await reader.handle({ kind: 'subscribe', key, summary: new Uint8Array() });
    await writer.handle({ kind: 'update', key, data: { kind: 'state', state: enc('v2') } });
    expect(reader.received.at(-1)).toMatchObject({ kind: 'update-notification' });
  });

  it('delta and related updates get a clear error and change nothing', async () => {
    const a = session();
    await a.handle(put(enc('v1')));
    const related = new Uint8Array(32).fill(1);
    for (const data of [
      { kind: 'delta', delta: enc('+1') },
      { kind: 'related-state', relatedTo: related, state: enc('x') },
      { kind: 'related-delta', relatedTo: related, delta: enc('x') },
      { kind: 'related-state-and-delta', relatedTo: related, state: enc('x'), delta: enc('y') },
    ] as const) {
      await a.handle({ kind: 'update', key, data });
      expect(a.received.at(-1)).toMatchObject({
        kind: 'error',
        message: expect.stringMatching(new RegExp(`a ${data.kind} update needs the contract's code`)),
      });
    }
    await a.handle({ kind: 'get', key, fetchContract: false });
    expect(a.received.at(-1)).toMatchObject({ kind: 'get-response', state: enc('v1') });
    // A state-and-delta update carries the full state, which is enough.
    await a.handle({ kind: 'update', key, data: { kind: 'state-and-delta', state: enc('v2'), delta: enc('d') } });
    expect(a.received.at(-1)).toMatchObject({ kind: 'update-response' });
  });

  it('delegate requests reach the node with the attested contract and get a clear error', async () => {
    const a = session();
    const attested: AttestedContract = { contractId, clientId: 'c1', issuedAt: Date.now(), lastAccessed: 0 };
    await a.handle(
      { kind: 'delegate', operation: 'application-messages', delegateKey: { key: new Uint8Array(32).fill(2), codeHash: new Uint8Array(32) } },
      attested,
    );
    await a.handle({ kind: 'delegate', operation: 'register-delegate' });
    expect(a.received[0]).toMatchObject({
      kind: 'error',
      message: expect.stringMatching(/^delegate request \(application-messages\) for delegate \w+ not supported: the embedded node runs no delegate code$/),
    });
    expect(a.received[1]).toMatchObject({ kind: 'error', message: expect.stringContaining('register-delegate') });
  });

  it('what was acknowledged is still there after the database is closed and reopened', async () => {
    const a = session();
    await a.handle(put(enc('v1')));
    await a.handle({ kind: 'update', key, data: { kind: 'state', state: enc('v2') } });
    await node.close();
    node = EmbeddedNode.open({ dataDir: join(dataDir, 'nested', 'dir') });
    const b = session();
    await b.handle({ kind: 'get', key, fetchContract: true });
    expect(b.received[0]).toMatchObject({ kind: 'get-response', state: enc('v2'), contract: { code, parameters } });
  });

  it('uses WAL with synchronous=FULL', async () => {
    const { default: Database } = await import('better-sqlite3');
    const db = new Database(join(dataDir, 'nested', 'dir', 'node.sqlite'), { readonly: true });
    try {
      expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    } finally {
      db.close();
    }
  });
});

describe('embedded node: web apps from contract state', () => {
  const archive = new Uint8Array(readFileSync(join(import.meta.dirname, '..', 'fixtures', 'webapp', 'app.tar.xz')));

  it('serves the files of a web-app container state, and follows state changes', async () => {
    const a = session();
    await a.handle(put(packWebAppContainer(enc('{"v":1}'), archive)));
    const app = await node.webApp(contractId);
    expect(app).toBeDefined();
    expect([...(app?.files.keys() ?? [])].sort()).toEqual(['app.js', 'css/style.css', 'index.html']);
    expect(new TextDecoder().decode(app?.metadata)).toBe('{"v":1}');
    expect(await node.webApp(contractId)).toBe(app); // cached for the same state version

    await a.handle({ kind: 'update', key, data: { kind: 'state', state: enc('no longer a web app') } });
    expect(await node.webApp(contractId)).toBeUndefined();
  });

  it('undefined for unknown contracts, invalid ids, plain states and hostile archives', async () => {
    expect(await node.webApp(contractId)).toBeUndefined();
    expect(await node.webApp('not-base58-0OIl')).toBeUndefined();
    const a = session();
    await a.handle(put(enc('plain state')));
    expect(await node.webApp(contractId)).toBeUndefined();
    const hostile = new Uint8Array(readFileSync(join(import.meta.dirname, '..', 'fixtures', 'webapp', 'traversal.tar.xz')));
    await a.handle({ kind: 'update', key, data: { kind: 'state', state: packWebAppContainer(new Uint8Array(), hostile) } });
    expect(await node.webApp(contractId)).toBeUndefined();
  });
});
