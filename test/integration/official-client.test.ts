import { join } from 'node:path';
import {
  ContractContainer,
  ContractKey,
  DisconnectRequest,
  FreenetWsApi,
  GetRequest,
  PutRequest,
  StateUpdate,
  SubscribeRequest,
  UpdateData,
  UpdateRequest,
  WasmContractV1,
  type GetResponse,
  type HostError,
  type PutResponse,
  type UpdateNotification,
} from '@freenetorg/freenet-stdlib/websocket-interface.js';
import { AuthenticateT, ClientRequest, ClientRequestT, ClientRequestType, RelatedContractsT } from '@freenetorg/freenet-stdlib/client-request.js';
import { ContractCodeT, ContractType, UpdateDataType } from '@freenetorg/freenet-stdlib/common.js';
import { Builder } from 'flatbuffers';
import WebSocket from 'ws';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { contractIdentity, encodeContractId } from '../../src/node/contract-key.js';
import { EXAMPLE_KEY, commandUrl, mintToken, openClient } from '../helpers/client.js';
import { cleanEnv, Daemon, eventually, REPO, tempDir } from '../helpers/daemon.js';

const WEBAPPS = join(REPO, 'examples', 'webapps');

/** The official client reads the global WebSocket, as in a browser; Node 20 has none. */
const g = globalThis as { WebSocket?: unknown };
const previousWebSocket = g.WebSocket;
beforeAll(() => {
  g.WebSocket = WebSocket;
});
afterAll(() => {
  g.WebSocket = previousWebSocket;
});

interface Inbox {
  puts: PutResponse[];
  gets: GetResponse[];
  notifications: UpdateNotification[];
  errors: HostError[];
  updates: number;
}

interface Official {
  api: FreenetWsApi;
  inbox: Inbox;
  opened: Promise<void>;
}

function official(d: Daemon, token: string): Official {
  const inbox: Inbox = { puts: [], gets: [], notifications: [], errors: [], updates: 0 };
  let resolveOpen!: () => void;
  const opened = new Promise<void>((r) => (resolveOpen = r));
  const api = new FreenetWsApi(
    new URL(`${d.wsBase}/v1/contract/command`),
    {
      onContractPut: (r) => inbox.puts.push(r),
      onContractGet: (r) => inbox.gets.push(r),
      onContractUpdate: () => inbox.updates++,
      onContractUpdateNotification: (r) => inbox.notifications.push(r),
      onDelegateResponse: () => {},
      onErr: (e) => inbox.errors.push(e),
      onOpen: () => resolveOpen(),
    },
    token,
  );
  return { api, inbox, opened };
}

const enc = (s: string): number[] => Array.from(new TextEncoder().encode(s));
const text = (b: number[] | Uint8Array | null | undefined): string => new TextDecoder().decode(new Uint8Array(b ?? []));

function contract(label: string) {
  const code = new TextEncoder().encode(`e2e contract ${label}`);
  const params = new TextEncoder().encode('params');
  const id = contractIdentity(code, params);
  const container = new ContractContainer(
    ContractType.WasmContractV1,
    new WasmContractV1(
      new ContractCodeT(Array.from(code), Array.from(id.codeHash)),
      Array.from(params),
      new ContractKey(id.instanceId, id.codeHash),
    ),
  );
  return { code, id: encodeContractId(id.instanceId), container, key: () => ContractKey.fromInstanceId(encodeContractId(id.instanceId)) };
}

const running: Daemon[] = [];
const dirs: Array<{ remove(): void }> = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((d) => d.stop()));
  while (dirs.length > 0) dirs.pop()?.remove();
});

async function start(dataDir?: string): Promise<{ d: Daemon; dataDir: string }> {
  let dir = dataDir;
  if (dir === undefined) {
    const t = tempDir();
    dirs.push(t);
    dir = t.path;
  }
  const d = await Daemon.start(['--data-dir', dir, '--webapps-dir', WEBAPPS], { cwd: dir, env: cleanEnv({}, dir) });
  running.push(d);
  return { d, dataDir: dir };
}

describe('the official @freenetorg/freenet-stdlib client against the real daemon', () => {
  it('put → get returns the same state and contract; the state survives a restart', async () => {
    const { d, dataDir } = await start();
    const c = official(d, await mintToken(d, EXAMPLE_KEY));
    await c.opened;
    const k = contract('put-get');
    await c.api.put(new PutRequest(k.container, enc('hello state'), new RelatedContractsT([])));
    await eventually(() => c.inbox.puts.length === 1);
    expect(c.inbox.puts[0]?.key.encode()).toBe(k.id);
    await c.api.get(new GetRequest(k.key(), true));
    await eventually(() => c.inbox.gets.length === 1);
    const got = c.inbox.gets[0] as GetResponse;
    expect(text(got.state)).toBe('hello state');
    expect(new Uint8Array(got.contract.contract?.data?.data ?? [])).toEqual(k.code);
    expect(c.inbox.errors).toEqual([]);

    await d.stop();
    running.splice(running.indexOf(d), 1);
    const { d: d2 } = await start(dataDir);
    const c2 = official(d2, await mintToken(d2, EXAMPLE_KEY));
    await c2.opened;
    await c2.api.get(new GetRequest(k.key(), false));
    await eventually(() => c2.inbox.gets.length === 1);
    expect(text(c2.inbox.gets[0]?.state)).toBe('hello state');
  });

  it('two connections: one subscribes, the other updates, the subscriber is notified', async () => {
    const { d } = await start();
    const a = official(d, await mintToken(d));
    const b = official(d, await mintToken(d));
    await Promise.all([a.opened, b.opened]);
    const k = contract('subscribe');
    await a.api.put(new PutRequest(k.container, enc('v1'), new RelatedContractsT([])));
    await eventually(() => a.inbox.puts.length === 1);
    await b.api.subscribe(new SubscribeRequest(k.key()));
    // The subscribe is answered with Ok, which the client does not surface; give it a round trip.
    await b.api.get(new GetRequest(k.key(), false));
    await eventually(() => b.inbox.gets.length === 1);
    await a.api.update(new UpdateRequest(k.key(), new UpdateData(UpdateDataType.StateUpdate, new StateUpdate(enc('v2')))));
    await eventually(() => b.inbox.notifications.length === 1);
    const n = b.inbox.notifications[0] as UpdateNotification;
    expect(n.key.encode()).toBe(k.id);
    expect(text((n.update.updateData as StateUpdate).state)).toBe('v2');
    await eventually(() => a.inbox.updates === 1);
  });

  it('an unknown key is an error; a malformed frame is an error and the connection stays open', async () => {
    const { d } = await start();
    const c = official(d, await mintToken(d));
    await c.opened;
    await c.api.get(new GetRequest(contract('never-put').key(), false));
    await eventually(() => c.inbox.errors.length === 1);
    // The official client maps every Error response to one generic cause; the text is checked below.
    const raw = openClient(`${d.wsBase}/v1/contract/command`);
    await raw.opened;
    raw.ws.send(Buffer.from([1, 2, 3, 4, 5, 6, 7, 8, 9]));
    await eventually(() => raw.messages.length === 1);
    expect(raw.messages[0]?.toString('latin1')).toMatch(/malformed/);
    expect(raw.ws.readyState).toBe(WebSocket.OPEN);
    await c.api.get(new GetRequest(contract('never-put').key(), false));
    await eventually(() => c.inbox.errors.length === 2);
    raw.ws.close();
    await raw.closed;
  });

  it('Disconnect closes the connection normally (1000)', async () => {
    const { d } = await start();
    const token = await mintToken(d);
    const raw = openClient(commandUrl(d, token));
    await raw.opened;
    const b = new Builder(64);
    ClientRequest.finishClientRequestBuffer(b, new ClientRequestT(ClientRequestType.Disconnect, new DisconnectRequest('bye')).pack(b));
    raw.ws.send(b.asUint8Array());
    expect((await raw.closed).code).toBe(1000);
  });
});

describe('Authenticate request after open', () => {
  function authenticateFrame(token: string): Uint8Array {
    const b = new Builder(128);
    ClientRequest.finishClientRequestBuffer(b, new ClientRequestT(ClientRequestType.Authenticate, new AuthenticateT(token)).pack(b));
    return b.asUint8Array();
  }

  it('binds the connection to the token (in use: it outlives its TTL), and a bad one closes 4401', async () => {
    const t = tempDir();
    dirs.push(t);
    const d = await Daemon.start(
      ['--data-dir', t.path, '--webapps-dir', WEBAPPS, '--token-ttl-seconds', '1', '--token-cleanup-interval-seconds', '1'],
      { cwd: t.path, env: cleanEnv({}, t.path) },
    );
    running.push(d);
    const token = await mintToken(d);
    const c = openClient(`${d.wsBase}/v1/contract/command`);
    await c.opened;
    c.ws.send(authenticateFrame(token));
    await new Promise((r) => setTimeout(r, 2500));
    expect((await d.health()).tokens).toBe(1);

    const bad = openClient(`${d.wsBase}/v1/contract/command`);
    await bad.opened;
    bad.ws.send(authenticateFrame('4vJ9JU1bJJE96FWSJKvHsmmFADCg4gpZQff4P3bkLKi'));
    bad.ws.send(Buffer.from([1, 2, 3]));
    expect(await bad.closed).toEqual({ code: 4401, reason: 'AUTH_TOKEN_INVALID' });
    expect(bad.messages).toHaveLength(0);
    c.ws.close();
    await c.closed;
  });
});

describe('web apps from a contract’s state (§6)', () => {
  it('a contract whose state is a web-app container is served at /v1/contract/web/{key}/ with a token', async () => {
    const { readFileSync } = await import('node:fs');
    const { packWebAppContainer } = await import('../../src/node/webapp-container.js');
    const archive = new Uint8Array(readFileSync(join(REPO, 'test', 'fixtures', 'webapp', 'app.tar.xz')));
    const state = packWebAppContainer(new Uint8Array(), archive);
    const { d } = await start();
    const c = official(d, await mintToken(d));
    await c.opened;
    const k = contract('webapp');
    await c.api.put(new PutRequest(k.container, Array.from(state), new RelatedContractsT([])));
    await eventually(() => c.inbox.puts.length === 1);
    const page = await fetch(`${d.base}/v1/contract/web/${k.id}/`);
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toMatch(/window\.__FREENET_AUTH_TOKEN__ = "[1-9A-HJ-NP-Za-km-z]+"/);
    expect(page.headers.get('set-cookie')).toContain(`Path=/v1/contract/web/${k.id}`);
    // A state that is not a container is not a web app.
    const plain = contract('plain');
    await c.api.put(new PutRequest(plain.container, enc('just data'), new RelatedContractsT([])));
    await eventually(() => c.inbox.puts.length === 2);
    expect((await fetch(`${d.base}/v1/contract/web/${plain.id}/`)).status).toBe(404);
  });
});
