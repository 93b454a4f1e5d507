import { randomBytes } from 'node:crypto'
import type { Coordination } from '../../cache/coordination.js'
import type { TestApi } from './test-api.js'

/** Resolves once `check()` holds; rejects after `timeoutMs`. */
async function eventually(what: string, check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

/**
 * The contract of {@link Coordination} (what resumable streams and live state run on), the
 * same on every backend: run on the in-memory default and on Redis and Redis Cluster. Each run
 * uses keys and channels under a fresh name.
 *
 * @example
 * ```ts
 * import { afterAll, beforeAll, describe, expect, it } from 'vitest'
 * import { coordinationContract } from 'stratum-data/testing/contracts'
 *
 * coordinationContract({ afterAll, beforeAll, describe, expect, it }, 'my backend', async () => data.cache.coordination)
 * ```
 */
export function coordinationContract(
  api: TestApi,
  title: string,
  makeCoordination: () => Promise<Coordination> | Coordination,
): void {
  const { describe, it, expect, beforeAll } = api
  describe(`Coordination contract [${title}]`, () => {
    let co: Coordination
    const run = randomBytes(4).toString('hex')
    const name = (n: string) => `contract-${run}-${n}`
    beforeAll(async () => {
      co = await makeCoordination()
    })

    it('stores strings and counts, exactly', async () => {
      expect(await co.get(name('absent'))).toBeNull()
      const text = 'Zürich ☁️ "quoted" \n 🙂'
      await co.set(name('s'), text, 60_000)
      expect(await co.get(name('s'))).toBe(text)
      expect(await co.increment(name('n'), 60_000)).toBe(1)
      const all = await Promise.all(
        Array.from({ length: 20 }, () => co.increment(name('n'), 60_000)),
      )
      expect([...all].sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i + 2))
    })

    it('keeps expiring sets of members, each until its own expiry', async () => {
      const set = name('room')
      expect(await co.addMember(set, 'ada', 60_000)).toBe(true)
      expect(await co.addMember(set, 'ada', 60_000)).toBe(false)
      expect(await co.addMember(set, 'bob', 30_000)).toBe(true)
      const live = await co.members(set)
      expect(live.map((m) => m.member)).toEqual(['bob', 'ada'])
      expect(live[0]!.expiresAt).toBeInstanceOf(Date)
      expect(await co.removeMember(set, 'bob')).toBe(true)
      expect((await co.members(set)).map((m) => m.member)).toEqual(['ada'])
      expect(await co.members(name('empty'))).toEqual([])
    })

    it('delivers a message to every subscriber of its channel, in order, and to no other channel', async () => {
      const a: string[] = []
      const b: string[] = []
      const other: string[] = []
      const subs = await Promise.all([
        co.subscribe(name('ch'), (m) => a.push(m)),
        co.subscribe(name('ch'), (m) => b.push(m)),
        co.subscribe(name('other'), (m) => other.push(m)),
      ])
      expect(subs.every((s) => s.live)).toBe(true)
      for (let i = 0; i < 20; i++) await co.publish(name('ch'), `m${i}`)
      const expected = Array.from({ length: 20 }, (_, i) => `m${i}`)
      await eventually(
        'both subscribers to get every message',
        () => a.length >= 20 && b.length >= 20,
      )
      expect(a).toEqual(expected)
      expect(b).toEqual(expected)
      expect(other).toEqual([])
      await Promise.all(subs.map((s) => s.close()))
    })

    it('stops delivering to a closed subscription; the others go on', async () => {
      const kept: string[] = []
      const dropped: string[] = []
      const keep = await co.subscribe(name('close'), (m) => kept.push(m))
      const drop = await co.subscribe(name('close'), (m) => dropped.push(m))
      await drop.close()
      expect(drop.live).toBe(false)
      await co.publish(name('close'), 'after')
      await eventually('the kept subscriber to get it', () => kept.length === 1)
      await new Promise((resolve) => setTimeout(resolve, 50))
      expect(dropped).toEqual([])
      await keep.close()
      // A channel subscribed again after every subscription closed works as new.
      const again: string[] = []
      const sub = await co.subscribe(name('close'), (m) => again.push(m))
      await co.publish(name('close'), 'again')
      await eventually('the new subscriber to get it', () => again.length === 1)
      await sub.close()
    })

    it('serves many channels at once, each its own messages', async () => {
      const got = new Map<number, string[]>()
      const subs = await Promise.all(
        Array.from({ length: 50 }, (_, i) => {
          got.set(i, [])
          return co.subscribe(name(`many-${i}`), (m) => got.get(i)!.push(m))
        }),
      )
      await Promise.all(
        Array.from({ length: 50 }, (_, i) => co.publish(name(`many-${i}`), `to ${i}`)),
      )
      await eventually('every channel to get its message', () =>
        [...got.values()].every((messages) => messages.length === 1),
      )
      for (const [i, messages] of got) expect(messages).toEqual([`to ${i}`])
      await Promise.all(subs.map((s) => s.close()))
    })

    it('refuses bad names, values, TTLs and listeners with a documented code, storing nothing', async () => {
      const code = (run: () => Promise<unknown>) =>
        run().then(
          () => 'resolved',
          (error: { code?: string }) => error.code,
        )
      expect(await code(() => co.set('', 'v', 1000))).toBe('INVALID_KEY')
      expect(await code(() => co.set('has space', 'v', 1000))).toBe('INVALID_KEY')
      expect(await code(() => co.get('x'.repeat(5000)))).toBe('INVALID_KEY')
      expect(await code(() => co.set(name('bad'), 5 as never, 1000))).toBe('VALIDATION')
      expect(await code(() => co.set(name('bad'), 'v', Number.NaN))).toBe('VALIDATION')
      expect(await code(() => co.increment(name('bad'), -1))).toBe('VALIDATION')
      expect(await code(() => co.publish(name('bad'), {} as never))).toBe('VALIDATION')
      expect(await code(() => co.subscribe(name('bad'), 'no' as never))).toBe('VALIDATION')
      expect(await co.get(name('bad'))).toBeNull()
    })
  })
}
