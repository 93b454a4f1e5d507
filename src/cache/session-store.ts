import { createHash, randomBytes } from 'node:crypto'
import { StratumError, ValidationError } from '../errors.js'
import type { CacheDriver } from './cache-driver.js'
import { decodeValue, encodeValue } from './serializer.js'
import { checkedTtl } from './value-limits.js'

const NO_CODECS = new Map()

/** A stored session. */
export interface Session<TData extends Record<string, unknown> = Record<string, unknown>> {
  readonly id: string
  readonly userId: string
  readonly data: TData
  readonly createdAt: Date
  readonly expiresAt: Date
}

interface StoredSession {
  userId: string
  data: Record<string, unknown>
  createdAt: Date
  expiresAt: Date
}

const DEFAULT_TTL_MS = 24 * 60 * 60 * 1000
const ID_PATTERN = /^[A-Za-z0-9_-]{43}$/

/**
 * Sessions in the cache: random 256-bit ids, sliding expiry with `touch`, and every session
 * of a user destroyable at once. Ids are never stored or logged as such: keys hold their
 * SHA-256, so a key listing or a log of commands gives no usable id. Sessions live only in
 * the cache, so backend trouble is an `UNAVAILABLE` error rather than a silent logout.
 *
 * @example
 * ```ts
 * const { id } = await data.sessions.create(user.id, { role: 'admin' })
 * const session = await data.sessions.touch(id)   // null once expired or destroyed
 * await data.sessions.destroyAllForUser(user.id)   // sign out everywhere
 * ```
 */
export class SessionStore {
  readonly #driver: CacheDriver
  readonly #prefix: string
  readonly #defaultTtlMs: number

  /** @internal */
  constructor(driver: CacheDriver, prefix: string, defaultTtlMs = DEFAULT_TTL_MS) {
    this.#driver = driver
    this.#prefix = prefix
    this.#defaultTtlMs = defaultTtlMs
  }

  /** Starts a session for `userId`; returns it with its id (keep that id secret). */
  async create<TData extends Record<string, unknown>>(
    userId: string,
    data: TData = {} as TData,
    options: { ttlMs?: number } = {},
  ): Promise<Session<TData>> {
    if (typeof userId !== 'string' || userId.length === 0 || userId.length > 256) {
      throw new ValidationError('sessions.create', [
        { path: 'userId', message: 'must be a string of 1 to 256 characters' },
      ])
    }
    const ttl = this.#ttl(options.ttlMs)
    const id = randomBytes(32).toString('base64url')
    const now = new Date()
    const stored: StoredSession = {
      userId,
      data,
      createdAt: now,
      expiresAt: new Date(now.getTime() + ttl),
    }
    let bytes: Buffer
    try {
      bytes = encodeValue(stored)
    } catch (error) {
      throw new ValidationError(
        'sessions.create',
        [{ path: 'data', message: 'must be serializable (structured clone)' }],
        { cause: error },
      )
    }
    await this.#call('create', async () => {
      await this.#driver.set(this.#key(id), bytes, ttl)
      await this.#driver.indexAdd(this.#userIndex(userId), this.#key(id), ttl)
    })
    return { id, ...stored } as Session<TData>
  }

  /** The session with this id, or null when it does not exist or has expired. */
  async get<TData extends Record<string, unknown> = Record<string, unknown>>(
    id: string,
  ): Promise<Session<TData> | null> {
    if (!this.#validId(id)) return null
    const bytes = await this.#call('get', () => this.#driver.get(this.#key(id)))
    if (!bytes) return null
    const stored = decodeValue(bytes, NO_CODECS) as StoredSession
    return { id, ...stored } as Session<TData>
  }

  /** Extends the session by its TTL from now (sliding expiry); null when it is gone. */
  async touch<TData extends Record<string, unknown> = Record<string, unknown>>(
    id: string,
    options: { ttlMs?: number } = {},
  ): Promise<Session<TData> | null> {
    const session = await this.get<TData>(id)
    if (!session) return null
    const ttl = this.#ttl(options.ttlMs)
    const renewed: StoredSession = {
      userId: session.userId,
      data: session.data,
      createdAt: session.createdAt,
      expiresAt: new Date(Date.now() + ttl),
    }
    await this.#call('touch', async () => {
      await this.#driver.set(this.#key(id), encodeValue(renewed), ttl)
      await this.#driver.indexAdd(this.#userIndex(session.userId), this.#key(id), ttl)
    })
    return { ...session, expiresAt: renewed.expiresAt }
  }

  /** Ends one session; resolves to whether it existed. */
  async destroy(id: string): Promise<boolean> {
    if (!this.#validId(id)) return false
    const session = await this.get(id)
    if (!session) return false
    return this.#call('destroy', async () => {
      const n = await this.#driver.delete([this.#key(id)])
      await this.#driver.indexRemove(this.#userIndex(session.userId), this.#key(id))
      return n > 0
    })
  }

  /** Ends every session of a user (sign out everywhere); resolves to how many there were. */
  destroyAllForUser(userId: string): Promise<number> {
    return this.#call('destroyAllForUser', () =>
      this.#driver.indexDeleteAll(this.#userIndex(userId)),
    )
  }

  #key(id: string): string {
    return `${this.#prefix}sess:${createHash('sha256').update(id).digest('base64url')}`
  }

  #userIndex(userId: string): string {
    return `${this.#prefix}sess-user:${encodeURIComponent(userId)}`
  }

  #validId(id: unknown): id is string {
    return typeof id === 'string' && ID_PATTERN.test(id)
  }

  #ttl(ttlMs: number | undefined): number {
    return checkedTtl(ttlMs, this.#defaultTtlMs, 'sessions')
  }

  async #call<T>(operation: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn()
    } catch (error) {
      // The message names the operation only: never the session id.
      throw new StratumError(
        'UNAVAILABLE',
        `sessions.${operation}: the session store is unreachable`,
        {
          cause: error,
        },
      )
    }
  }
}
