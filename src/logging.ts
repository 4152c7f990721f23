import pino, { type Logger } from 'pino';
import { createRequire } from 'node:module';
import type { LogFormat, LogLevel } from './config/keys.js';

export type { Logger };

/**
 * Paths that could hold a credential if some code ever logged a request object. Tokens are
 * otherwise never handed to the logger at all: code logs `tokenFingerprint(token)` instead.
 */
const REDACT = [
  'token',
  'authToken',
  '*.token',
  '*.authToken',
  'req.headers.authorization',
  'req.headers.cookie',
  'headers.authorization',
  'headers.cookie',
  'res.headers["set-cookie"]',
  'res.headers.authorization',
];

export function createLogger(level: LogLevel, format: LogFormat): Logger {
  const options = {
    level,
    base: { pid: process.pid },
    redact: { paths: REDACT, censor: '[redacted]' },
  };
  // Synchronous writes: a daemon that exits right after a fatal line must not lose it.
  const stream =
    format === 'pretty'
      ? loadPretty()({ sync: true, colorize: process.stdout.isTTY === true, destination: 1 })
      : pino.destination({ dest: 1, sync: true });
  return pino(options, stream);
}

/** pino-pretty is only for people at a terminal; the JSON default does not pay for loading it. */
function loadPretty(): typeof import('pino-pretty').PinoPretty {
  const require = createRequire(import.meta.url);
  return require('pino-pretty') as typeof import('pino-pretty').PinoPretty;
}
