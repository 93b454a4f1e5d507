import type { RetryErrorInfo, RetryStrategyV2, RetryToken } from '@smithy/types'

/** How the S3 driver retries a failed request. */
export interface S3RetryOptions {
  /** Attempts per request, the first included (default 7: retries span about 3 to 6 s). */
  readonly maxAttempts?: number | undefined
  /** The first retry's delay; each later one doubles, up to 2 s (default 100 ms). */
  readonly baseDelayMs?: number | undefined
}

/** Attempts per S3 request unless `s3.maxAttempts` says otherwise. */
export const DEFAULT_S3_MAX_ATTEMPTS = 7
const DEFAULT_BASE_DELAY_MS = 100
const MAX_DELAY_MS = 2_000

const RETRIED = new Set<RetryErrorInfo['errorType']>(['TRANSIENT', 'THROTTLING', 'SERVER_ERROR'])

class Token implements RetryToken {
  constructor(
    private readonly count: number,
    private readonly delay: number,
  ) {}
  getRetryCount(): number {
    return this.count
  }
  getRetryDelay(): number {
    return this.delay
  }
}

/**
 * Exponential backoff with jitter over a few seconds: the SDK's default (3 attempts within
 * about half a second, and a shared retry budget that an outage under load spends at once)
 * failed about 60 calls across a 1.2 s restart of an S3 server. Client errors (a missing
 * key, a bad signature) are never retried; every request gives up after `maxAttempts`.
 * @internal
 */
export function s3RetryStrategy(options: S3RetryOptions = {}): RetryStrategyV2 {
  const maxAttempts = options.maxAttempts ?? DEFAULT_S3_MAX_ATTEMPTS
  const base = options.baseDelayMs ?? DEFAULT_BASE_DELAY_MS
  return {
    acquireInitialRetryToken: async () => new Token(0, 0),
    async refreshRetryTokenForRetry(token, errorInfo) {
      const retries = token.getRetryCount()
      if (!RETRIED.has(errorInfo.errorType) || retries + 1 >= maxAttempts)
        throw new Error('no more S3 retries')
      const ceiling = Math.min(MAX_DELAY_MS, base * 2 ** retries)
      // Half fixed, half random: spread out, yet the whole span is never short.
      return new Token(retries + 1, ceiling / 2 + Math.random() * (ceiling / 2))
    },
    recordSuccess: () => {},
  }
}
