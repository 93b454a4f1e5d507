import { describe, expect, it } from 'vitest'
import { gcra } from '../../src/cache/gcra.js'

// 5 requests per 60 s: one every 12 s, a burst of 5 allowed.
const interval = 12_000
const tolerance = 60_000

describe('GCRA (pure)', () => {
  it('allows a burst of exactly the limit, then refuses with the wait until the next slot', () => {
    let tat: number | undefined
    const now = 1_000_000
    const remaining: number[] = []
    for (let i = 0; i < 5; i++) {
      const step = gcra(tat, now, interval, tolerance, 1)
      expect(step.decision.allowed).toBe(true)
      remaining.push(step.decision.remaining)
      tat = step.tat
    }
    expect(remaining).toEqual([4, 3, 2, 1, 0])
    const refused = gcra(tat, now, interval, tolerance, 1)
    expect(refused.decision).toEqual({
      allowed: false,
      remaining: 0,
      retryAfterMs: interval,
      resetInMs: 5 * interval,
    })
    // A refusal stores nothing.
    expect(refused.tat).toBeUndefined()
    // Once the slot has come, one more is allowed.
    expect(gcra(tat, now + interval, interval, tolerance, 1).decision.allowed).toBe(true)
  })

  it('charges a cost of n as n requests, and refuses one larger than the burst', () => {
    const first = gcra(undefined, 0, interval, tolerance, 3)
    expect(first.decision).toMatchObject({ allowed: true, remaining: 2 })
    expect(gcra(first.tat, 0, interval, tolerance, 3).decision.allowed).toBe(false)
    expect(gcra(undefined, 0, interval, tolerance, 6).decision.allowed).toBe(false)
  })

  it('never lets an idle key bank more than the burst', () => {
    const long = gcra(0, 10 * 3_600_000, interval, tolerance, 1)
    expect(long.decision.remaining).toBe(4)
  })
})
