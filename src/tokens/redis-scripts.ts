/**
 * Lua scripts of the Redis token store (§8). Each runs atomically in Redis, so gateways that mint,
 * acquire, refresh and release the same token at the same moment cannot interleave inside one.
 *
 * Layout (see docs/redis.md):
 *   <prefix><token>  hash {c: contractId, k: clientId, i: issuedAt, h:<gatewayId>: lease end, …}.
 *                    Its PEXPIRE is the expiry: now + ttl when idle, and never before the latest
 *                    live lease while some gateway has a connection open on it.
 *   <prefix>_index   sorted set: member = token, score = the key's expiry. Only for counting (cap,
 *                    size); expiry itself is the key's own.
 *
 * Times are Redis's own (`TIME`, the clock PEXPIRE uses), so clock skew between gateway hosts changes
 * nothing. Needs Redis >= 5 (scripts that call TIME before writing replicate as effects).
 */

const NOW = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
`;

/**
 * KEYS: token key, index. ARGV: ttlMs, maxTokens, token, contractId, clientId, issuedAt.
 * Returns 1 minted, 0 refused at the cap, -1 key already exists (caller draws another token).
 */
export const MINT_LUA = `${NOW}
local ttl = tonumber(ARGV[1])
if redis.call('ZCOUNT', KEYS[2], now, '+inf') >= tonumber(ARGV[2]) then return 0 end
if redis.call('EXISTS', KEYS[1]) == 1 then return -1 end
redis.call('HSET', KEYS[1], 'c', ARGV[4], 'k', ARGV[5], 'i', ARGV[6])
redis.call('PEXPIRE', KEYS[1], ttl)
redis.call('ZADD', KEYS[2], now + ttl, ARGV[3])
return 1
`;

/**
 * A connection opens on this gateway: resolve and take (or renew) this gateway's lease.
 * KEYS: token key, index. ARGV: leaseMs, lease field (h:<gatewayId>), token.
 * Returns nil if unknown or expired, else {c, k, i} (a malformed record is returned untouched and
 * refused by the caller). The expiry only ever grows here.
 */
export const ACQUIRE_LUA = `${NOW}
local lease = tonumber(ARGV[1])
local left = redis.call('PTTL', KEYS[1])
if left == -2 then return false end
local rec = redis.call('HMGET', KEYS[1], 'c', 'k', 'i')
if not rec[1] or not rec[2] or not rec[3] then return rec end
redis.call('HSET', KEYS[1], ARGV[2], now + lease)
if left < lease then
  redis.call('PEXPIRE', KEYS[1], lease)
  left = lease
end
redis.call('ZADD', KEYS[2], now + left, ARGV[3])
return rec
`;

/**
 * Periodic renewal of this gateway's lease on a token it holds. A token in use never expires (§3):
 * if the key is gone (Redis restarted empty, failed over, flushed) the holder writes it back from
 * the record it got at acquire.
 * KEYS: token key, index. ARGV: leaseMs, lease field, token, contractId, clientId, issuedAt.
 * Returns 1 if the key had to be re-created, else 0.
 */
export const REFRESH_LUA = `${NOW}
local lease = tonumber(ARGV[1])
local left = redis.call('PTTL', KEYS[1])
local recreated = 0
if left == -2 then
  redis.call('HSET', KEYS[1], 'c', ARGV[4], 'k', ARGV[5], 'i', ARGV[6])
  recreated = 1
end
redis.call('HSET', KEYS[1], ARGV[2], now + lease)
if left < lease then
  redis.call('PEXPIRE', KEYS[1], lease)
  left = lease
end
redis.call('ZADD', KEYS[2], now + left, ARGV[3])
return recreated
`;

/**
 * The last connection on this gateway closed `ttl - idleMs` ago (normally just now): drop this
 * gateway's lease and set the expiry to exactly max(now + idleMs, the latest live lease of another
 * gateway). Expired leases (a crashed gateway's) are removed on the way.
 * KEYS: token key, index. ARGV: idleMs (> 0), lease field, token, contractId, clientId, issuedAt,
 * recreate ('1': the key is missing because Redis lost it while the connection was open, so write
 * it back; the token was in use until the close).
 * Returns 1 if re-created, else 0.
 */
export const RELEASE_LUA = `${NOW}
local idle = tonumber(ARGV[1])
if redis.call('EXISTS', KEYS[1]) == 0 then
  if ARGV[7] ~= '1' then return 0 end
  redis.call('HSET', KEYS[1], 'c', ARGV[4], 'k', ARGV[5], 'i', ARGV[6])
  redis.call('PEXPIRE', KEYS[1], idle)
  redis.call('ZADD', KEYS[2], now + idle, ARGV[3])
  return 1
end
redis.call('HDEL', KEYS[1], ARGV[2])
local target = now + idle
local all = redis.call('HGETALL', KEYS[1])
for j = 1, #all, 2 do
  local f = all[j]
  if string.sub(f, 1, 2) == 'h:' then
    local lease_end = tonumber(all[j + 1])
    if lease_end == nil or lease_end <= now then
      redis.call('HDEL', KEYS[1], f)
    elseif lease_end > target then
      target = lease_end
    end
  end
end
redis.call('PEXPIRE', KEYS[1], target - now)
redis.call('ZADD', KEYS[2], target, ARGV[3])
return 0
`;

/**
 * An access to a token not held on this gateway (a touch): expiry to at least now + ttl if still
 * alive. Never revives an expired token and never shortens a lease.
 * KEYS: token key, index. ARGV: ttlMs, token. Returns nil if gone, else 1.
 */
export const TOUCH_LUA = `${NOW}
local ttl = tonumber(ARGV[1])
local left = redis.call('PTTL', KEYS[1])
if left == -2 then return false end
if left < ttl then
  redis.call('PEXPIRE', KEYS[1], ttl)
  left = ttl
end
redis.call('ZADD', KEYS[2], now + left, ARGV[2])
return 1
`;

/**
 * Drop up to ARGV[1] index entries whose key has expired (Redis already removed the keys).
 * KEYS: index. Returns {removed, remaining}; at the limit the caller loops.
 */
export const SWEEP_LUA = `${NOW}
local gone = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. now, 'LIMIT', 0, tonumber(ARGV[1]))
if #gone > 0 then redis.call('ZREM', KEYS[1], unpack(gone)) end
return {#gone, redis.call('ZCARD', KEYS[1])}
`;

/** KEYS: index. Live tokens: index entries whose expiry is not past. O(log n). */
export const SIZE_LUA = `${NOW}
return redis.call('ZCOUNT', KEYS[1], now, '+inf')
`;
