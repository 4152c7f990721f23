import type { ContractKeyMsg, HostResponse, UpdateDataMsg } from '../protocol/types.js';
import { decodeContractId, encodeContractId, verifyContract } from './contract-key.js';
import { ContractStore } from './sqlite-store.js';
import type { AttestedContract, GatewayNode, NodeLogger, NodeRequest, NodeSession, WebAppFiles } from './types.js';
import { WebAppCache } from './webapp-cache.js';
import { DEFAULT_WEBAPP_LIMITS, WebAppError, parseWebAppContainer, unpackWebArchive, type WebAppLimits } from './webapp-container.js';

export interface EmbeddedNodeOptions {
  /** Directory for `node.sqlite`; created if missing. */
  readonly dataDir: string;
  readonly logger?: NodeLogger | undefined;
  readonly webAppLimits?: Partial<WebAppLimits> | undefined;
  /** Unpacked web apps kept in memory (least recently used go first); default 16. */
  readonly webAppCacheEntries?: number | undefined;
  /** Unpacked bytes of web apps kept in memory; default 512 MiB. */
  readonly webAppCacheBytes?: number | undefined;
}

const silentLogger: NodeLogger = { debug() {}, info() {}, warn() {}, error() {} };

/**
 * The default node behind the gateway (§6): contracts and states in SQLite, subscriptions in
 * memory. It runs no contract or delegate code, so it accepts only what it can check without
 * code: puts whose key matches their code and parameters, and full-state updates.
 */
export class EmbeddedNode implements GatewayNode {
  private readonly store: ContractStore;
  private readonly log: NodeLogger;
  private readonly limits: WebAppLimits;
  private readonly webApps: WebAppCache;
  /** Base58 instance id → sessions subscribed to it. */
  private readonly subscribers = new Map<string, Set<EmbeddedSession>>();
  private readonly sessions = new Set<EmbeddedSession>();
  private closed = false;

  private constructor(store: ContractStore, options: EmbeddedNodeOptions) {
    this.store = store;
    this.log = options.logger ?? silentLogger;
    this.limits = { ...DEFAULT_WEBAPP_LIMITS, ...options.webAppLimits };
    this.webApps = new WebAppCache(options.webAppCacheEntries ?? 16, options.webAppCacheBytes ?? 512 * 1024 * 1024);
  }

  /** Opens (creating if needed) the database in `dataDir`. Throws if it cannot. */
  static open(options: EmbeddedNodeOptions): EmbeddedNode {
    return new EmbeddedNode(ContractStore.open(options.dataDir), options);
  }

  openSession(send: (response: HostResponse) => void): NodeSession {
    if (this.closed) throw new Error('the embedded node is closed');
    const session = new EmbeddedSession(this, send);
    this.sessions.add(session);
    return session;
  }

  async webApp(contractId: string): Promise<WebAppFiles | undefined> {
    const instanceId = decodeContractId(contractId);
    if (instanceId === undefined || this.closed) return undefined;
    const stored = this.store.getState(instanceId);
    if (stored === undefined) return undefined;
    return this.webApps.get(contractId, stored.stateVersion, async () => {
      const container = parseWebAppContainer(stored.state, this.limits);
      if (container === undefined) return undefined;
      try {
        const files = await unpackWebArchive(container.archive, this.limits);
        return { files, metadata: container.metadata, stateVersion: stored.stateVersion };
      } catch (err) {
        const reason = err instanceof WebAppError ? err.message : String(err);
        this.log.warn({ contractId, reason }, 'contract state is a web-app container that cannot be served');
        return undefined;
      }
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const session of [...this.sessions]) session.close();
    this.webApps.clear();
    this.store.close();
  }

  // ---- used by sessions -------------------------------------------------------------------

  /** @internal */
  execute(session: EmbeddedSession, request: NodeRequest, attested: AttestedContract | undefined): void {
    switch (request.kind) {
      case 'put':
        return this.put(session, request);
      case 'get':
        return this.get(session, request.key, request.fetchContract);
      case 'update':
        return this.update(session, request.key, request.data);
      case 'subscribe':
        return this.subscribe(session, request.key);
      case 'delegate': {
        // Which web app asked is worth a debug line; the token itself never reaches the node.
        this.log.debug({ operation: request.operation, attestedContract: attested?.contractId }, 'delegate request refused');
        const target = request.delegateKey && request.delegateKey.key.length > 0 ? ` for delegate ${encodeContractId(request.delegateKey.key)}` : '';
        session.send(
          error(
            `delegate request (${request.operation})${target} not supported: ` +
              'the embedded node runs no delegate code',
          ),
        );
        return;
      }
    }
  }

  /** @internal */
  reportFailure(kind: string, err: unknown): void {
    this.log.error({ request: kind, err: err instanceof Error ? err.message : String(err) }, 'node request failed');
  }

  /** @internal */
  unsubscribeAll(session: EmbeddedSession, keys: Iterable<string>): void {
    for (const id of keys) {
      const set = this.subscribers.get(id);
      if (set === undefined) continue;
      set.delete(session);
      if (set.size === 0) this.subscribers.delete(id);
    }
    this.sessions.delete(session);
  }

  private put(session: EmbeddedSession, request: Extract<NodeRequest, { kind: 'put' }>): void {
    const verified = verifyContract(request.contract);
    if (!verified.ok) return session.send(error(`put refused: ${verified.reason}`));
    const { instanceId, codeHash } = verified.identity;
    const outcome = this.store.put({
      instanceId,
      codeHash,
      code: request.contract.code,
      parameters: request.contract.parameters,
      state: request.state,
    });
    const key = { instanceId, codeHash };
    const contractId = encodeContractId(instanceId);
    this.log.info({ contractId, created: outcome.created, stateBytes: request.state.length }, 'contract put');
    session.send({ kind: 'put-response', key });
    // A put on a known contract replaces its state: without contract code there is no merge.
    if (outcome.changed && !outcome.created) this.notify(contractId, key, request.state);
  }

  private get(session: EmbeddedSession, key: ContractKeyMsg, fetchContract: boolean): void {
    // The base58 id is only for the refusal: encoding it costs more than the cached read itself.
    if (fetchContract) {
      const c = this.store.get(key.instanceId);
      if (c === undefined) return session.send(unknown('get', encodeContractId(key.instanceId)));
      const fullKey = { instanceId: c.instanceId, codeHash: c.codeHash };
      session.send({
        kind: 'get-response',
        key: fullKey,
        contract: { code: c.code, codeHash: c.codeHash, parameters: c.parameters, key: fullKey },
        state: c.state,
      });
      return;
    }
    const s = this.store.getState(key.instanceId);
    if (s === undefined) return session.send(unknown('get', encodeContractId(key.instanceId)));
    session.send({ kind: 'get-response', key: { instanceId: key.instanceId, codeHash: s.codeHash }, state: s.state });
  }

  private update(session: EmbeddedSession, key: ContractKeyMsg, data: UpdateDataMsg): void {
    const contractId = encodeContractId(key.instanceId);
    // A state-and-delta update carries the whole new state: that much needs no contract code.
    if (data.kind !== 'state' && data.kind !== 'state-and-delta') {
      const stored = this.store.getState(key.instanceId);
      if (stored === undefined) return session.send(unknown('update', contractId));
      return session.send(
        error(
          `update of contract ${contractId} refused: a ${data.kind} update needs the contract's code to apply it, ` +
            'and the embedded node runs no contract code; send the full new state instead',
        ),
      );
    }
    const outcome = this.store.replaceState(key.instanceId, data.state);
    if (outcome === undefined) return session.send(unknown('update', contractId));
    const stored = this.store.getState(key.instanceId);
    const fullKey = { instanceId: key.instanceId, codeHash: stored?.codeHash };
    this.log.debug({ contractId, changed: outcome.changed, stateBytes: data.state.length }, 'contract updated');
    session.send({ kind: 'update-response', key: fullKey, summary: new Uint8Array(0) });
    if (outcome.changed) this.notify(contractId, fullKey, data.state);
  }

  private subscribe(session: EmbeddedSession, key: ContractKeyMsg): void {
    const contractId = encodeContractId(key.instanceId);
    if (this.store.getState(key.instanceId) === undefined) return session.send(unknown('subscribe to', contractId));
    let set = this.subscribers.get(contractId);
    if (set === undefined) {
      set = new Set();
      this.subscribers.set(contractId, set);
    }
    set.add(session);
    session.subscribed.add(contractId);
    // Protocol 0.0.8 has no SubscribeResponse; Ok is what FreenetWsApi silently accepts.
    session.send({ kind: 'ok', message: `subscribed to contract ${contractId}` });
  }

  /** Every subscriber, including the session that made the change, gets the new state. */
  private notify(contractId: string, key: ContractKeyMsg, state: Uint8Array): void {
    const set = this.subscribers.get(contractId);
    if (set === undefined) return;
    // One object for all: the encoder caches its bytes, so N subscribers cost one encoding.
    const notification: HostResponse = { kind: 'update-notification', key, update: { kind: 'state', state } };
    for (const subscriber of set) subscriber.send(notification);
  }
}

class EmbeddedSession implements NodeSession {
  readonly subscribed = new Set<string>();
  private closed = false;

  constructor(
    private readonly node: EmbeddedNode,
    private readonly sink: (response: HostResponse) => void,
  ) {}

  /** Synchronous: better-sqlite3 and the state cache answer before this returns. */
  handle(request: NodeRequest, attested: AttestedContract | undefined): void {
    if (this.closed) return;
    try {
      this.node.execute(this, request, attested);
    } catch (err) {
      // Storage failures (disk full, database locked too long): nothing was acknowledged.
      this.node.reportFailure(request.kind, err);
      this.send(error(`the node could not complete the ${request.kind} request; nothing was changed`));
    }
  }

  /** A sink that throws (a socket that just closed) must not stop delivery to the others. */
  send(response: HostResponse): void {
    if (this.closed) return;
    try {
      this.sink(response);
    } catch {
      // The connection is going away; its close() will follow.
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.node.unsubscribeAll(this, this.subscribed);
    this.subscribed.clear();
  }
}

function error(message: string): HostResponse {
  return { kind: 'error', message };
}

function unknown(action: string, contractId: string): HostResponse {
  return error(`cannot ${action} contract ${contractId}: no such contract on this node (put it first)`);
}
