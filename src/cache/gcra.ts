import type { RateDecision } from './cache-driver.js'

/**
 * The generic cell rate algorithm on a stored theoretical arrival time (TAT): the same
 * arithmetic as the Redis driver's Lua script, for the in-process driver.
 * @internal
 */
export function gcra(
  storedTat: number | undefined,
  now: number,
  intervalMs: number,
  toleranceMs: number,
  cost: number,
): { decision: RateDecision; tat: number | undefined } {
  const tat = Math.max(storedTat ?? now, now)
  const next = tat + intervalMs * cost
  const allowAt = next - toleranceMs
  if (now < allowAt) {
    return {
      decision: {
        allowed: false,
        remaining: 0,
        retryAfterMs: Math.ceil(allowAt - now),
        resetInMs: Math.ceil(tat - now),
      },
      tat: undefined,
    }
  }
  return {
    decision: {
      allowed: true,
      remaining: Math.max(0, Math.floor((toleranceMs - (next - now)) / intervalMs)),
      retryAfterMs: 0,
      resetInMs: Math.ceil(next - now),
    },
    tat: next,
  }
}
