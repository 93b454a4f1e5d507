import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createDataLayer, type DataLayer, type User } from '../../src/index.js'
import {
  type LocalPostgres,
  startLocalPostgres,
  startLocalReplica,
} from '../../src/testing/local-postgres.js'
import { embeddingFrom, uniqueEmail } from '../helpers/backends.js'
import { failure } from '../helpers/failure.js'
import { waitFor } from '../helpers/wait-for.js'

const DIMENSIONS = 8
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** Replica reads so far (one replica configured). */
const replicaReads = (data: DataLayer) => data.metrics().database.replicas!.replicas[0]!.reads

// A primary and a streaming replica of its own (pg_basebackup -R), so the test can stop
// the replica and pause its replay without touching the servers other files use.
describe('read replicas (a streaming replica made with pg_basebackup -R)', () => {
  let primary: LocalPostgres
  let replica: LocalPostgres
  let onReplica: pg.Client
  let data: DataLayer
  let cached: DataLayer
  let options: Parameters<typeof createDataLayer>[0] & object

  /** A session on the replica for the test's own checks (its end when the replica stops is expected). */
  const replicaClient = () => {
    const client = new pg.Client({ connectionString: replica.url })
    client.on('error', () => {})
    return client
  }
  /** Holds the replica's WAL replay: rows written now are not on the replica until resumed. */
  const pauseReplay = () => onReplica.query('SELECT pg_wal_replay_pause()')
  const resumeReplay = () => onReplica.query('SELECT pg_wal_replay_resume()')
  /** Waits until the replica has replayed everything the primary has written so far. */
  async function caughtUp() {
    const direct = new pg.Client({ connectionString: primary.url })
    await direct.connect()
    const [{ lsn }] = (await direct.query('SELECT pg_current_wal_insert_lsn()::text AS lsn')).rows
    await direct.end()
    await waitFor(
      'the replica to catch up',
      async () => {
        const { rows } = await onReplica.query(
          'SELECT pg_last_wal_replay_lsn() >= $1::pg_lsn AS done',
          [lsn],
        )
        return rows[0].done === true
      },
      20_000,
      50,
    )
  }

  beforeAll(async () => {
    primary = await startLocalPostgres()
    const setup = new pg.Client({ connectionString: primary.url })
    await setup.connect()
    await setup.query('CREATE DATABASE app')
    await setup.end()
    replica = await startLocalReplica(primary.url)
    const appOn = (server: LocalPostgres) => server.url.replace(/\/postgres$/, '/app')
    onReplica = replicaClient()
    await onReplica.connect()
    options = {
      databaseUrl: appOn(primary),
      replicas: [appOn(replica)],
      database: { replicaProbeMs: 100 },
      embeddings: { dimensions: DIMENSIONS },
    }
    // A memory cache on a server caches no rows by default: every read below is a query.
    data = await createDataLayer(options)
    await data.migrate()
    // The same database with rows cached (fills must come from the primary).
    cached = await createDataLayer({ ...options, cache: { entities: { enabled: true } } })
    await caughtUp()
  })

  afterAll(async () => {
    await onReplica?.end().catch(() => {})
    await data?.close()
    await cached?.close()
    await replica?.stop()
    await primary?.stop()
  })

  it('sends reads outside transactions to the replica, and writes and transactions to the primary', async () => {
    const user = await data.users.create({ email: uniqueEmail(), firstName: 'v1' })
    const chat = await data.chats.create({ userId: user.id, title: 'replicated' })
    await data.vectors.upsert([
      { userId: user.id, chatId: chat.id, content: 'near', embedding: embeddingFrom(1, 8) },
    ])
    await caughtUp()
    const before = replicaReads(data)
    for (let i = 0; i < 50; i++) expect((await data.users.findById(user.id))?.firstName).toBe('v1')
    expect(await data.users.findByEmail(user.email)).toMatchObject({ id: user.id })
    expect(await data.users.count({ id: user.id })).toBe(1)
    expect((await data.chats.listByUser(user.id)).items).toHaveLength(1)
    const hits = await data.vectors.search({ userId: user.id, embedding: embeddingFrom(1, 8) })
    expect(hits[0]?.content).toBe('near')
    expect(replicaReads(data) - before).toBe(54)

    // With replay paused, the replica still has v1: what a read returns shows where it ran.
    await pauseReplay()
    try {
      await data.users.update(user.id, { firstName: 'v2' })
      expect((await data.users.findById(user.id))?.firstName).toBe('v1') // the replica
      expect((await data.users.findById(user.id, { consistency: 'primary' }))?.firstName).toBe('v2')
      expect(
        (await data.users.findMany({ where: { id: user.id }, consistency: 'primary' }))[0]
          ?.firstName,
      ).toBe('v2')
      expect(
        await data.transaction(async (tx) => (await tx.users.findById(user.id))?.firstName),
      ).toBe('v2')
      // Cache fills read the primary, or the stale row would stay cached after the write.
      expect((await cached.users.findById(user.id))?.firstName).toBe('v2')
      expect((await cached.users.findById(user.id))?.firstName).toBe('v2')
      expect((await cached.users.findMany({ where: { id: user.id } }))[0]?.firstName).toBe('v1')
      const wrong = await failure(() =>
        data.users.findById(user.id, { consistency: 'strong' as never }),
      )
      expect(wrong.code).toBe('VALIDATION')
    } finally {
      await resumeReplay()
    }
    await caughtUp()
    expect((await data.users.findById(user.id))?.firstName).toBe('v2')
  })

  it('reads its own writes 1,000 times inside readYourWrites, even with the replica behind', async () => {
    const user = await data.users.create({ email: uniqueEmail(), firstName: 'start' })
    await caughtUp()
    await pauseReplay()
    let seen: User | null = null
    let stale = 0
    try {
      // Without the scope, the read after the write is the replica's: the check can fail.
      await data.users.update(user.id, { firstName: 'outside' })
      if ((await data.users.findById(user.id))?.firstName !== 'outside') stale++
      expect(stale).toBe(1)
      for (let i = 0; i < 1000; i++) {
        seen = await data.readYourWrites(async () => {
          // Reads before the scope's first write may still use the replica.
          await data.users.findById(user.id)
          await data.users.update(user.id, { firstName: `v${i}` })
          return data.users.findById(user.id)
        })
        if (seen?.firstName !== `v${i}`) stale++
      }
    } finally {
      await resumeReplay()
    }
    expect(stale).toBe(1)
    expect(seen?.firstName).toBe('v999')
  })

  it('serves every read from the primary while the replica is down, and uses it again once it is back', async () => {
    const users = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        data.users.create({ email: uniqueEmail(), firstName: `u${i}` }),
      ),
    )
    await caughtUp()
    let calls = 0
    const failures: unknown[] = []
    let running = true
    const reader = async () => {
      while (running) {
        const user = users[calls % users.length]!
        calls++
        try {
          const row = await data.users.findById(user.id)
          if (row?.firstName !== user.firstName) failures.push(new Error(`wrong row ${row?.id}`))
          await data.users.findMany({ where: { id: user.id } })
        } catch (error) {
          failures.push(error)
        }
      }
    }
    const readers = Array.from({ length: 4 }, reader)
    await sleep(200)
    const primaryReadsBefore = data.metrics().database.replicas!.primaryReads
    await replica.halt()
    await sleep(500)
    const health = await data.health()
    expect(health.status).toBe('degraded')
    expect(health.parts.database.replicas?.[0]?.status).toBe('down')
    expect(data.metrics().database.replicas!.replicas[0]!.status).toBe('down')
    const readsWhileDown = replicaReads(data)
    await sleep(300)
    expect(replicaReads(data)).toBe(readsWhileDown) // none tried while it is out
    await replica.resume()
    await onReplica.end().catch(() => {})
    onReplica = replicaClient()
    await onReplica.connect()
    await waitFor('reads to reach the replica again', async () => {
      await sleep(100)
      return replicaReads(data) > readsWhileDown + 10
    })
    running = false
    await Promise.all(readers)
    expect(failures).toEqual([])
    expect(calls).toBeGreaterThan(100)
    // Taken out by a failed read (counted as a fallback) or by its pooled connections
    // ending; either way the primary served the reads meanwhile.
    expect(data.metrics().database.replicas!.primaryReads).toBeGreaterThan(primaryReadsBefore + 100)
    expect((await data.health()).status).toBe('ok')
  })

  it('takes a replica out while its replay lags past replicaMaxLagMs, and back once it caught up', async () => {
    const limited = await createDataLayer({
      ...options,
      database: { replicaProbeMs: 50, replicaMaxLagMs: 500 },
    })
    const state = () => limited.metrics().database.replicas!.replicas[0]!
    try {
      const user = await limited.users.create({ email: uniqueEmail(), firstName: 'before' })
      await caughtUp()
      // A reading taken after the replica caught up (the last one may predate it): lag is
      // read by WAL position, so a caught-up replica reads exactly 0, however idle the
      // primary was before.
      await waitFor(
        'a lag reading of 0 after catching up',
        async () => state().status === 'ok' && state().lagMs === 0,
        5000,
        20,
      )
      expect(state()).toMatchObject({ status: 'ok', lagMs: 0 })
      let reads = state().reads
      expect((await limited.users.findById(user.id))?.firstName).toBe('before')
      expect(state().reads).toBe(reads + 1)

      await pauseReplay()
      try {
        await limited.users.update(user.id, { firstName: 'after' })
        await waitFor('the replica to be taken out', async () => state().status === 'lagging')
        expect(state().lagMs).toBeGreaterThan(500)
        reads = state().reads
        for (let i = 0; i < 20; i++) {
          expect((await limited.users.findById(user.id))?.firstName).toBe('after')
        }
        expect(state().reads).toBe(reads) // none sent to it while it lags
        const health = await limited.health()
        expect(health.status).toBe('degraded')
        expect(health.parts.database.replicas?.[0]).toMatchObject({ status: 'lagging' })
        // The control: without the limit, the same read is the replica's old row.
        expect((await data.users.findById(user.id))?.firstName).toBe('before')
      } finally {
        await resumeReplay()
      }
      await caughtUp()
      await waitFor('the replica back in rotation', async () => state().status === 'ok')
      reads = state().reads
      expect((await limited.users.findById(user.id))?.firstName).toBe('after')
      expect(state().reads).toBe(reads + 1)
      expect((await limited.health()).status).toBe('ok')
    } finally {
      await limited.close()
    }
  })

  it('reads replicaMaxLagMs from DATABASE_REPLICA_MAX_LAG_MS and refuses a bad one', async () => {
    const bad = await failure(() =>
      createDataLayer({ ...options, database: { replicaMaxLagMs: 0 } }),
    )
    expect(bad.code).toBe('CONFIG')
    expect(bad.message).toContain('replicaMaxLagMs')
    const fromEnv = await createDataLayer.fromEnv({
      DATABASE_URL: primary.url,
      DATABASE_REPLICA_URLS: replica.url,
      DATABASE_REPLICA_MAX_LAG_MS: '250',
    })
    try {
      await waitFor(
        'a lag reading',
        async () => fromEnv.metrics().database.replicas!.replicas[0]!.lagMs !== undefined,
        5000,
        20,
      )
    } finally {
      await fromEnv.close()
    }
  })

  it('needs databaseUrl for replicas, and reads DATABASE_REPLICA_URLS', async () => {
    const error = await failure(() => createDataLayer({ replicas: [replica.url] }))
    expect(error.code).toBe('CONFIG')
    expect(error.message).toContain('replicas')
    const fromEnv = await createDataLayer.fromEnv({
      DATABASE_URL: primary.url,
      DATABASE_REPLICA_URLS: `${replica.url}, ${replica.url}`,
    })
    try {
      expect(fromEnv.metrics().database.replicas?.replicas).toHaveLength(2)
    } finally {
      await fromEnv.close()
    }
  })
})
