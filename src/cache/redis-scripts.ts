import type { Cluster, Redis } from 'ioredis'

// The driver's Lua scripts: each runs atomically on the server, on keys of one slot.

const FENCE = `local v = redis.call('GET', KEYS[1])
if v then return v end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return ARGV[1]`

const SET_IF_FENCE = `if redis.call('GET', KEYS[2]) == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
  return 1
end
return 0`

// KEYS: value, fence, lease. ARGV: new token, fence TTL, holder, lease TTL.
const CLAIM = `local v = redis.call('GET', KEYS[1])
if v then return {1, v} end
local t = redis.call('GET', KEYS[2])
if not t then
  t = ARGV[1]
  redis.call('SET', KEYS[2], t, 'PX', ARGV[2])
end
if redis.call('SET', KEYS[3], ARGV[3], 'NX', 'PX', ARGV[4]) then return {0, t, 1} end
return {0, t, 0}`

const RELEASE_LEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 0`

// KEYS: the value keys, then the fence keys; ARGV[1]: how many value keys.
const INVALIDATE = `local n = tonumber(ARGV[1])
for i = n + 1, #KEYS do
  redis.call('SET', KEYS[i], ARGV[2] .. ':' .. i, 'PX', ARGV[3])
end
if n > 0 then redis.call('DEL', unpack(KEYS, 1, n)) end
return 0`

const INCREMENT = `local v = redis.call('INCR', KEYS[1])
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return v`

// GCRA on the server's clock. ARGV: interval ms, tolerance ms, cost.
// Returns { allowed (0/1), remaining, retry-after ms, reset-in ms }.
const RATE_LIMIT = `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local interval = tonumber(ARGV[1])
local tolerance = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local nextTat = tat + interval * cost
local allowAt = nextTat - tolerance
if now < allowAt then
  return {0, 0, math.ceil(allowAt - now), math.ceil(tat - now)}
end
redis.call('SET', KEYS[1], nextTat, 'PX', math.max(1, math.ceil(nextTat - now)))
local remaining = math.floor((tolerance - (nextTat - now)) / interval)
if remaining < 0 then remaining = 0 end
return {1, remaining, 0, math.ceil(nextTat - now)}`

// Adds a member to an index set whose TTL only ever grows.
const INDEX_ADD = `redis.call('SADD', KEYS[1], ARGV[1])
local ttl = tonumber(ARGV[2])
if redis.call('PTTL', KEYS[1]) < ttl then redis.call('PEXPIRE', KEYS[1], ttl) end
return 0`

// Deletes every key listed in an index set, and the set.
const INDEX_DELETE_ALL = `local members = redis.call('SMEMBERS', KEYS[1])
local n = 0
for i = 1, #members do n = n + redis.call('DEL', members[i]) end
redis.call('DEL', KEYS[1])
return n`

// Expiring sets (presence, typing): a sorted set scored by each member's expiry on the
// server's clock. Adding drops the expired members first, so a member that lapsed comes back
// as new; the key lives as long as its longest member. Returns 1 for a new member.
const MEMBER_ADD = `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local added = redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
redis.call('PEXPIREAT', KEYS[1], last[2])
return added`

// Removes a member; returns 1 when it was live.
const MEMBER_REMOVE = `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local score = redis.call('ZSCORE', KEYS[1], ARGV[1])
redis.call('ZREM', KEYS[1], ARGV[1])
if score and tonumber(score) > now then return 1 end
return 0`

// The live members and their expiry times, soonest first.
const MEMBERS = `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
return redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. now, '+inf', 'WITHSCORES')`

/** A client with the driver's scripts defined as commands. */
export interface ScriptedRedis extends Redis {
  stratumIndexAdd(indexKey: string, member: string, ttlMs: number): Promise<number>
  stratumIndexDeleteAll(indexKey: string): Promise<number>
  stratumRateLimit(
    key: string,
    intervalMs: number,
    toleranceMs: number,
    cost: number,
  ): Promise<number[]>
  stratumFence(key: string, token: string, ttlMs: number): Promise<string>
  stratumSetIfFence(
    key: string,
    fenceKey: string,
    token: string,
    value: Buffer,
    ttlMs: number,
  ): Promise<number>
  stratumClaimBuffer(
    key: string,
    fenceKey: string,
    leaseKey: string,
    token: string,
    fenceTtlMs: number,
    holder: string,
    leaseTtlMs: number,
  ): Promise<[number, Buffer, number?]>
  stratumReleaseLease(leaseKey: string, holder: string): Promise<number>
  stratumInvalidate(numKeys: number, ...args: (string | number)[]): Promise<number>
  stratumIncrement(key: string, ttlMs: number): Promise<number>
  stratumMemberAdd(key: string, member: string, ttlMs: number): Promise<number>
  stratumMemberRemove(key: string, member: string): Promise<number>
  stratumMembers(key: string): Promise<string[]>
}

/** Defines the scripts as commands of `client` (ioredis loads each by SHA, once). */
export function defineScripts(client: Redis | Cluster): void {
  client.defineCommand('stratumFence', { numberOfKeys: 1, lua: FENCE })
  client.defineCommand('stratumSetIfFence', { numberOfKeys: 2, lua: SET_IF_FENCE })
  client.defineCommand('stratumClaim', { numberOfKeys: 3, lua: CLAIM })
  client.defineCommand('stratumReleaseLease', { numberOfKeys: 1, lua: RELEASE_LEASE })
  client.defineCommand('stratumInvalidate', { lua: INVALIDATE })
  client.defineCommand('stratumIncrement', { numberOfKeys: 1, lua: INCREMENT })
  client.defineCommand('stratumRateLimit', { numberOfKeys: 1, lua: RATE_LIMIT })
  client.defineCommand('stratumIndexAdd', { numberOfKeys: 1, lua: INDEX_ADD })
  client.defineCommand('stratumIndexDeleteAll', { numberOfKeys: 1, lua: INDEX_DELETE_ALL })
  client.defineCommand('stratumMemberAdd', { numberOfKeys: 1, lua: MEMBER_ADD })
  client.defineCommand('stratumMemberRemove', { numberOfKeys: 1, lua: MEMBER_REMOVE })
  client.defineCommand('stratumMembers', { numberOfKeys: 1, lua: MEMBERS })
}
