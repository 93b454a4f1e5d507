import { StratumError, ValidationError } from '../errors.js'
import type { CacheDriver } from './cache-driver.js'
import { memoryDriver } from './memory-driver.js'

/** A limit: `limit` requests per `periodMs`, with bursts of up to `burst` (default `limit`). */
export interface RateLimitOptions {
  limit: number
  periodMs: number
  burst?: number
  /** What this request costs (default 1). */
  cost?: number
}

/** The outcome of one `rateLimit` call. */
export interface RateLimitResult {
  readonly allowed: boolean
  /** Requests of cost 1 still allowed right now. */
  readonly remaining: number
  /** When denied, how long to wait before retrying (0 when allowed). */
  readonly retryAfterMs: number
  /** When the full burst is available again. */
  readonly resetAt: Date
  /** `local` when the shared backend failed and this process decided alone. */
  readonly source: 'shared' | 'local'
}

/** What `data.rateLimit` is. */
export type RateLimiter = (key: string, options: RateLimitOptions) => Promise<RateLimitResult>

const positive = (value: unknown) =>
  typeof value === 'number' && Number.isFinite(value) && value > 0

/**
 * A GCRA rate limiter on a cache driver: one atomic script per call on Redis (no race
 * between counting and expiring, unlike INCR + EXPIRE windows), smooth refill instead of
 * window edges. If the backend fails, a per-process limiter with the same rules decides
 * (`source: 'local'`), so the app keeps working and stays roughly limited.
 *
 * @example
 * ```ts
 * const { allowed, retryAfterMs } = await data.rateLimit(`login:${ip}`, { limit: 5, periodMs: 60_000 })
 * if (!allowed) return reply.status(429).header('retry-after', Math.ceil(retryAfterMs / 1000))
 * ```
 */
export function createRateLimiter(driver: CacheDriver, prefix: string): RateLimiter {
  const local = memoryDriver({ maxEntries: 100_000 })
  return async (key, options) => {
    if (typeof key !== 'string' || key.length === 0 || key.length > 512 || /\s/.test(key)) {
      throw new StratumError(
        'INVALID_KEY',
        'Rate-limit keys must be 1 to 512 characters without spaces',
      )
    }
    if (typeof options !== 'object' || options === null)
      throw new ValidationError('rateLimit', [
        { path: 'options', message: 'is required: { limit, periodMs } (burst and cost optional)' },
      ])
    const cost = options.cost ?? 1
    const burst = options.burst ?? options.limit
    const issues = (
      [
        ['limit', options.limit],
        ['periodMs', options.periodMs],
        ['burst', burst],
        ['cost', cost],
      ] as const
    )
      .filter(([, value]) => !positive(value))
      .map(([path]) => ({ path, message: 'must be a positive number' }))
    if (issues.length > 0) throw new ValidationError('rateLimit', issues)
    const interval = options.periodMs / options.limit
    const tolerance = interval * burst
    const full = `${prefix}rl:${key}`
    let source: RateLimitResult['source'] = 'shared'
    let decision: Awaited<ReturnType<CacheDriver['rateLimit']>>
    try {
      decision = await driver.rateLimit(full, interval, tolerance, cost)
    } catch {
      source = 'local'
      decision = await local.rateLimit(full, interval, tolerance, cost)
    }
    return {
      allowed: decision.allowed,
      remaining: decision.remaining,
      retryAfterMs: decision.retryAfterMs,
      resetAt: new Date(Date.now() + decision.resetInMs),
      source,
    }
  }
}
