// Entry point of the browser bundle of the official client library used by the example web app.
// scripts/build-example.mjs bundles it (esbuild) to examples/webapps/<key>/vendor/freenet-stdlib.js.
export * from '@freenetorg/freenet-stdlib/websocket-interface.js';
export { RelatedContractsT } from '@freenetorg/freenet-stdlib/client-request.js';
export { ContractCodeT, ContractType, UpdateDataType } from '@freenetorg/freenet-stdlib/common.js';
