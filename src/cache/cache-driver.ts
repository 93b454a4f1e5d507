/**
 * The storage contract every cache backend implements. Values are opaque bytes (the
 * front {@link Cache} serializes); keys arrive fully prefixed. Methods reject on backend
 * trouble; the front layer decides what that means for the caller.
 *
 * Fences make fills safe against concurrent writes: a reader takes the key's fence token
 * before reading the source, and its fill is stored only if the token is unchanged; a
 * writer replaces the token (and deletes the value) after it commits. Tokens are random,
 * so a fence that was evicted and re-created never matches an old token.
 *
 * The keys one call of `fence`, `setIfFence` and `claim` touches share a Redis Cluster hash
 * tag (`prefix{key}`, `prefix{key}#fence`, ...), as the Cache builds them; `delete` and
 * `invalidate` may get keys of many tags, and a clustered driver splits them by tag.
 */
export interface CacheDriver {
  /** `memory`, `redis`, or a third-party driver's name. */
  readonly kind: string
  /** The bytes under `key`, or null when there are none. */
  get(key: string): Promise<Buffer | null>
  set(key: string, value: Buffer, ttlMs: number): Promise<void>
  /** Deletes the keys; resolves to how many existed. */
  delete(keys: readonly string[]): Promise<number>
  /** Increments a counter (created at 0) and returns its new value; the TTL is refreshed. */
  increment(key: string, ttlMs: number): Promise<number>
  /** The fence token of `fenceKey`, created (with `ttlMs`) if there is none. Atomic. */
  fence(fenceKey: string, ttlMs: number): Promise<string>
  /** Stores the value only if `fenceKey` still holds `token`; resolves to whether it did. Atomic. */
  setIfFence(
    key: string,
    value: Buffer,
    ttlMs: number,
    fenceKey: string,
    token: string,
  ): Promise<boolean>
  /**
   * The miss path of a read, in one atomic step: the value of `key` if it is there now;
   * otherwise the fence token of `fenceKey` (created with `fenceTtlMs` if absent) and
   * whether this caller got the load lease `leaseKey` (held by `holder` for `leaseTtlMs`).
   * One caller across every process holds a key's lease; the others wait for its fill.
   */
  claim(
    key: string,
    fenceKey: string,
    fenceTtlMs: number,
    leaseKey: string,
    holder: string,
    leaseTtlMs: number,
  ): Promise<Claim>
  /** Gives up the lease `leaseKey` if `holder` still holds it. */
  releaseLease(leaseKey: string, holder: string): Promise<void>
  /** Deletes `keys` and gives each of `fenceKeys` a new token, in one atomic step. */
  invalidate(
    keys: readonly string[],
    fenceKeys: readonly string[],
    fenceTtlMs: number,
  ): Promise<void>
  /**
   * One GCRA rate-limit decision for `key`, atomic: `intervalMs` is the time one unit of
   * cost earns back, `toleranceMs` the burst allowance (interval x burst). Uses the
   * backend's clock, so servers with skewed clocks share one limit.
   */
  rateLimit(
    key: string,
    intervalMs: number,
    toleranceMs: number,
    cost: number,
  ): Promise<RateDecision>
  /** Sets a new TTL on an existing key; resolves to false when the key does not exist. */
  expire(key: string, ttlMs: number): Promise<boolean>
  /** Adds `member` (a key) to the set `indexKey`, which lives at least `ttlMs`. */
  indexAdd(indexKey: string, member: string, ttlMs: number): Promise<void>
  /** Removes `member` from the set `indexKey`. */
  indexRemove(indexKey: string, member: string): Promise<void>
  /** Deletes every key listed in `indexKey` and the set itself, atomically; resolves to how many keys existed. */
  indexDeleteAll(indexKey: string): Promise<number>
  /**
   * Adds `member` to the expiring set `key`, or refreshes it, until `ttlMs` from now on the
   * backend's clock (each member expires on its own); resolves to true when it was not a
   * live member before.
   */
  memberAdd(key: string, member: string, ttlMs: number): Promise<boolean>
  /** Removes `member` from the expiring set `key`; resolves to true when it was live. */
  memberRemove(key: string, member: string): Promise<boolean>
  /** The live members of the expiring set `key`, soonest to expire first. */
  members(key: string): Promise<ExpiringMember[]>
  /** Deletes every key starting with `prefix`; resolves to how many. */
  deleteByPrefix(prefix: string): Promise<number>
  /** Resolves when the backend answers. */
  ping(): Promise<void>
  close(): Promise<void>
  /**
   * Present on backends shared between processes: messages to every process, which the
   * optional L1 tier uses to drop entries another process invalidated.
   */
  readonly broadcast?: Broadcast
}

/** A live member of an expiring set, and when it expires (ms since the epoch, backend's clock). */
export interface ExpiringMember {
  readonly member: string
  readonly expiresAt: number
}

/** Publish and subscribe on a backend shared between processes. */
export interface Broadcast {
  /** Sends `message` to every subscriber of `channel` (this process's included). */
  publish(channel: string, message: string): Promise<void>
  /**
   * Listens on `channel`. `onReset` runs whenever messages may have been missed (the
   * subscription dropped or came back); `live` says whether messages are arriving now.
   */
  subscribe(
    channel: string,
    listener: { onMessage(message: string): void; onReset(): void },
  ): Subscription
}

/** A running subscription. */
export interface Subscription {
  /** Whether the subscription is connected and subscribed right now. */
  readonly live: boolean
  close(): Promise<void>
}

/** What {@link CacheDriver.claim} found: the value, or the fence token and the lease. */
export type Claim =
  | { readonly value: Buffer }
  | { readonly value?: undefined; readonly token: string; readonly leased: boolean }

/** What a driver's `rateLimit` decides. */
export interface RateDecision {
  readonly allowed: boolean
  /** Requests of cost 1 still allowed right now. */
  readonly remaining: number
  /** When denied: how long until this request would be allowed. */
  readonly retryAfterMs: number
  /** How long until the full burst is available again. */
  readonly resetInMs: number
}
