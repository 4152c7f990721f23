/**
 * Errors of a networked token store (§8). Kept apart from the Redis client so the server can
 * recognise them (answer 503, close an opening WebSocket) without importing ioredis.
 */

/** Base58 runs as long as a token: scrubbed from any text that might reach a log or a client. */
const TOKEN_LIKE = /[1-9A-HJ-NP-Za-km-z]{32,44}/g;

/** `text` with anything shaped like a token replaced, so a Redis error can never carry one (§3). */
export function redactTokens(text: string): string {
  return text.replace(TOKEN_LIKE, '[redacted]');
}

/**
 * The store cannot answer right now (Redis unreachable, timed out, refusing writes, or the store not
 * connected / already closed). Not "this token is invalid": the caller should answer 503 (page load)
 * or close the opening WebSocket with a try-again code, and never treat it as a 4401.
 *
 * The message names the server as `redis://host:port` (never a password) and the reason; it never
 * contains a token. The original client error is deliberately not attached as `cause`: ioredis
 * errors carry the command arguments, and those include token keys.
 */
export class TokenStoreUnavailableError extends Error {
  readonly code = 'TOKEN_STORE_UNAVAILABLE' as const;
  /** Where the store lives, password-free (e.g. `redis://10.0.0.5:6379/0`). */
  readonly where: string;
  /** Short, token-free reason (e.g. `connect ECONNREFUSED 127.0.0.1:6379`, `Command timed out`). */
  readonly reason: string;

  constructor(where: string, reason: string, message?: string) {
    const safeReason = redactTokens(reason);
    super(redactTokens(message ?? `token store unavailable (${where}): ${safeReason}`));
    this.name = 'TokenStoreUnavailableError';
    this.where = where;
    this.reason = safeReason;
  }
}

/** Also true for an instance from another copy of this module (checks the code, not the prototype). */
export function isTokenStoreUnavailable(err: unknown): err is TokenStoreUnavailableError {
  return (
    err instanceof TokenStoreUnavailableError ||
    (typeof err === 'object' && err !== null && (err as { code?: unknown }).code === 'TOKEN_STORE_UNAVAILABLE')
  );
}
