/** The gateway's node interface (§6) and the embedded node that implements it in-process. */
export type { GatewayNode, NodeSession, NodeRequest, NodeLogger, WebAppFiles, HostResponse, AttestedContract } from './types.js';
export { EmbeddedNode, type EmbeddedNodeOptions } from './embedded-node.js';
export {
  codeHashOf,
  instanceIdOf,
  contractIdentity,
  encodeContractId,
  decodeContractId,
  verifyContract,
  type ContractIdentity,
} from './contract-key.js';
export {
  parseWebAppContainer,
  packWebAppContainer,
  unpackWebArchive,
  safePath,
  WebAppError,
  DEFAULT_WEBAPP_LIMITS,
  type WebAppContainer,
  type WebAppLimits,
  type WebAppFileMap,
} from './webapp-container.js';
export { ContractStore, DATABASE_FILE } from './sqlite-store.js';
