/**
 * The Lua scripts that make a room's bookkeeping atomic in Redis. Keys: `<prefix>nodes` (a sorted
 * set: node id -> lease end, Redis time in ms), `<prefix>node:<id>` (the set of that node's
 * nicknames), `<prefix>nick:<nick>` (owner node id, with a TTL of one lease).
 *
 * @module
 */

/** KEYS: nick key, node set. ARGV: node id, nick, lease ms, node set TTL ms. 1 when claimed (SET NX). */
export const CLAIM_LUA = `
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[3]) then
  redis.call('SADD', KEYS[2], ARGV[2])
  redis.call('PEXPIRE', KEYS[2], ARGV[4])
  return 1
end
return 0`;

/**
 * KEYS: nick key, node set. ARGV: node id, nick, and optionally channel and leave notice. Deletes the
 * claim only if this node owns it, and publishes the notice in the same atomic step.
 */
export const RELEASE_LUA = `
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
redis.call('SREM', KEYS[2], ARGV[2])
if ARGV[4] then redis.call('PUBLISH', ARGV[3], ARGV[4]) end
return 1`;

/**
 * KEYS: nodes, node set, then this node's nick keys. ARGV: node id, lease ms, node set TTL ms.
 * Renews the lease and the claims this node still owns, and takes (removes and returns) the ids
 * of nodes whose lease ended: exactly one survivor reaps each dead node. Redis's clock, so nodes'
 * clocks need not agree.
 */
export const HEARTBEAT_LUA = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
redis.call('PEXPIRE', KEYS[2], ARGV[3])
for i = 3, #KEYS do
  if redis.call('GET', KEYS[i]) == ARGV[1] then redis.call('PEXPIRE', KEYS[i], ARGV[2]) end
end
local dead = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now)
for _, id in ipairs(dead) do redis.call('ZREM', KEYS[1], id) end
return dead`;

/**
 * KEYS: the dead node's set. ARGV: dead node id, nick key prefix. Returns its nicknames and
 * deletes the claims it still owned.
 */
export const REAP_LUA = `
local nicks = redis.call('SMEMBERS', KEYS[1])
for _, n in ipairs(nicks) do
  local k = ARGV[2] .. n
  if redis.call('GET', k) == ARGV[1] then redis.call('DEL', k) end
end
redis.call('DEL', KEYS[1])
return nicks`;
