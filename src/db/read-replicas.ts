import { AsyncLocalStorage } from 'node:async_hooks'
import { withTimeout } from '../util/with-timeout.js'
import type { DatabaseConnection } from './connection.js'

/** Where the reads of the current async context may go. */
interface ReadScope {
  /** Every read to the primary (a cache fill, or `consistency: 'primary'`). */
  readonly primary: boolean
  /** Set by a write inside `readYourWrites()`: later reads of the scope go to the primary. */
  wrote: boolean
}

const readScope = new AsyncLocalStorage<ReadScope>()
const ON_PRIMARY: ReadScope = Object.freeze({ primary: true, wrote: true })

/** How one replica is doing, as `data.health()` and `data.metrics()` report it. */
export interface ReplicaState {
  /** Host, port and database of the replica (never credentials). */
  readonly name: string
  /**
   * `down` after a connection failure, until a probe reaches it again; `lagging` while its
   * replay is further behind than `database.replicaMaxLagMs`. Neither serves reads.
   */
  readonly status: 'ok' | 'down' | 'lagging'
  /** How far its replay was behind at the last lag check (only with `replicaMaxLagMs`). */
  readonly lagMs?: number
  /** Reads sent to it since the data layer opened. */
  readonly reads: number
  /** Why it was taken out, while it is down. */
  readonly error?: string
}

/** Read routing figures of `data.metrics().database.replicas`. */
export interface ReplicaStats {
  /** Reads outside transactions that went to the primary (no replica up, a fill, primary asked). */
  readonly primaryReads: number
  /** Reads that failed on a replica and were served by the primary instead. */
  readonly fallbacks: number
  readonly replicas: readonly ReplicaState[]
}

interface Replica {
  readonly name: string
  readonly connection: DatabaseConnection
  up: boolean
  /** Further behind than the limit at the last lag check. */
  lagging: boolean
  lagMs?: number
  reads: number
  error?: string
}

/** Where the standby's replay is (null when the server is not a standby, say promoted). */
const REPLAY_LSN_SQL = `SELECT CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn()::text END AS lsn`
/** Where the primary's WAL ends now. */
const CURRENT_LSN_SQL = 'SELECT pg_current_wal_lsn()::text AS lsn'

/** A WAL position (`16/B374D848`) as a number that compares. */
function lsnValue(text: string): bigint {
  const [high = '0', low = '0'] = text.split('/')
  return (BigInt(`0x${high}`) << 32n) + BigInt(`0x${low}`)
}

/** The primary's WAL position at one moment. */
interface WalSample {
  readonly at: number
  readonly lsn: bigint
}

const PROBE_TIMEOUT_FLOOR_MS = 1000

/** Timing of {@link ReadReplicas}' checks. */
export interface ReplicaChecks {
  /** How often a replica taken out is probed, and (with `maxLagMs`) how often lag is read. */
  readonly probeIntervalMs: number
  /** Take out a replica whose replay is further behind than this; unset: no lag check. */
  readonly maxLagMs?: number | undefined
}

/** The replica is unreachable or not serving this database: take it out until a probe passes. */
function isConnectionFailure(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code
  if (typeof code !== 'string' || !/^[0-9A-Z]{5}$/.test(code)) return true // socket, timeout
  // 08: connection exception; 57P01-03: shut down / crash / cannot connect now; 53300: too
  // many connections; 3D000: the database is not (yet) on the replica.
  return code.startsWith('08') || /^57P0[123]$/.test(code) || code === '53300' || code === '3D000'
}

/**
 * A query error the primary would not give: a hot-standby conflict (40001 "conflict with
 * recovery") or a table or column the replica has not replayed yet.
 */
function isReplicaLag(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code
  return code === '40001' || code === '42P01' || code === '42703' || code === '42883'
}

/** `host:port/database` of a Postgres URL. */
export function replicaName(url: string): string {
  const parsed = new URL(url)
  return `${parsed.hostname}:${parsed.port || 5432}${parsed.pathname}`
}

/**
 * Sends reads outside transactions round robin to the replicas that are up, and to the
 * primary when none is, when the read must see the primary (cache fills, `consistency:
 * 'primary'`, after a write inside `readYourWrites()`), or when a replica fails it. A
 * replica that fails with a connection error is taken out and probed back every
 * `probeIntervalMs`; writes and transactions never come here.
 * @internal
 */
export class ReadReplicas {
  readonly #primary: DatabaseConnection
  readonly #replicas: Replica[]
  readonly #probeIntervalMs: number
  readonly #maxLagMs: number | undefined
  #next = 0
  #primaryReads = 0
  #fallbacks = 0
  #probing: NodeJS.Timeout | undefined
  #lagTimer: NodeJS.Timeout | undefined
  #closed = false
  /** The primary's WAL position at each lag check, oldest first (see #lagOf). */
  #walSamples: WalSample[] = []

  constructor(
    primary: DatabaseConnection,
    replicas: readonly { name: string; connection: DatabaseConnection }[],
    checks: ReplicaChecks,
  ) {
    this.#primary = primary
    this.#replicas = replicas.map((r) => ({ ...r, up: true, lagging: false, reads: 0 }))
    this.#probeIntervalMs = checks.probeIntervalMs
    this.#maxLagMs = checks.maxLagMs
    if (this.#maxLagMs !== undefined) this.#scheduleLagCheck(0)
  }

  /** Runs `read` on a replica that is up, or on the primary; a failing replica falls back. */
  run<R>(read: (connection: DatabaseConnection) => Promise<R>): Promise<R> {
    const scope = readScope.getStore()
    const replica = scope && (scope.primary || scope.wrote) ? undefined : this.#pick()
    if (!replica) {
      this.#primaryReads++
      return read(this.#primary)
    }
    replica.reads++
    return read(replica.connection).catch((error: unknown) => {
      const lagging = isReplicaLag(error)
      if (!lagging && !isConnectionFailure(error)) throw error
      if (!lagging) this.markDown(replica.connection, error)
      this.#fallbacks++
      this.#primaryReads++
      return read(this.#primary)
    })
  }

  /** Runs `fn` with every read it makes sent to the primary. */
  onPrimary<R>(fn: () => Promise<R>): Promise<R> {
    return readScope.run(ON_PRIMARY, fn)
  }

  /** Runs `fn` in a scope whose reads go to the primary once it has written. */
  readYourWrites<R>(fn: () => Promise<R>): Promise<R> {
    // Nested scopes share the outer one: a write anywhere in it counts.
    return readScope.getStore() ? fn() : readScope.run({ primary: false, wrote: false }, fn)
  }

  /** Notes a write of the current scope (nothing outside `readYourWrites()`). */
  noteWrite(): void {
    const scope = readScope.getStore()
    if (scope && !scope.primary) scope.wrote = true
  }

  /** Takes the replica on `connection` out until a probe reaches it. */
  markDown(connection: DatabaseConnection, error: unknown): void {
    const replica = this.#replicas.find((r) => r.connection === connection)
    if (!replica?.up) return
    replica.up = false
    replica.error = error instanceof Error ? error.message : String(error)
    this.#scheduleProbe()
  }

  /** Probes every replica now (health checks, lag too when limited); resolves to their states. */
  async check(timeoutMs: number): Promise<ReplicaState[]> {
    await Promise.all(
      this.#replicas.map((replica) =>
        this.#maxLagMs === undefined
          ? this.#probe(replica, timeoutMs)
          : this.#measureLag(replica, timeoutMs),
      ),
    )
    return this.stats().replicas as ReplicaState[]
  }

  stats(): ReplicaStats {
    return {
      primaryReads: this.#primaryReads,
      fallbacks: this.#fallbacks,
      replicas: this.#replicas.map((r) => ({
        name: r.name,
        status: !r.up ? 'down' : r.lagging ? 'lagging' : 'ok',
        ...(r.lagMs === undefined ? {} : { lagMs: r.lagMs }),
        reads: r.reads,
        ...(r.up || r.error === undefined ? {} : { error: r.error }),
      })),
    }
  }

  async close(): Promise<void> {
    this.#closed = true
    clearTimeout(this.#probing)
    clearTimeout(this.#lagTimer)
    await Promise.allSettled(this.#replicas.map((r) => r.connection.close()))
  }

  #pick(): Replica | undefined {
    const replicas = this.#replicas
    for (let i = 0; i < replicas.length; i++) {
      const replica = replicas[this.#next++ % replicas.length]!
      if (replica.up && !replica.lagging) return replica
    }
    return undefined
  }

  async #probe(replica: Replica, timeoutMs: number): Promise<void> {
    try {
      await withTimeout(replica.connection.query('SELECT 1'), timeoutMs, `replica ${replica.name}`)
      replica.up = true
      delete replica.error
    } catch (error) {
      if (replica.up) this.markDown(replica.connection, error)
      else replica.error = error instanceof Error ? error.message : String(error)
    }
  }

  /**
   * Reads the replica's replay lag and takes it out (or puts it back) by the limit. A
   * replica that cannot be reached is taken out as by a failed read; one that is down
   * already is probed instead.
   */
  async #measureLag(replica: Replica, timeoutMs: number): Promise<void> {
    if (!replica.up) return this.#probe(replica, timeoutMs)
    try {
      const rows = await withTimeout(
        replica.connection.query<{ lsn: string | null }>(REPLAY_LSN_SQL),
        timeoutMs,
        `replica ${replica.name}`,
      )
      const replayed = rows[0]?.lsn
      const lagMs = replayed ? this.#lagOf(lsnValue(replayed)) : 0
      replica.lagMs = lagMs
      replica.lagging = lagMs > this.#maxLagMs!
    } catch (error) {
      if (isConnectionFailure(error)) this.markDown(replica.connection, error)
    }
  }

  /**
   * Lag by WAL position, not by clocks: a standby that has replayed `replayed` misses
   * whatever the primary had written at the oldest sample past that position, so it is at
   * least that sample's age behind; 0 when it has replayed the newest sample. (The time
   * since the last replayed commit, the usual formula, reads an idle spell on the primary as
   * lag the moment any WAL, a checkpoint's or a snapshot record's, arrives.)
   */
  #lagOf(replayed: bigint): number {
    const now = Date.now()
    const behind = this.#walSamples.find((sample) => sample.lsn > replayed)
    return behind ? now - behind.at : 0
  }

  /** Records where the primary's WAL ends; old samples no replica can still need are dropped. */
  async #samplePrimary(timeoutMs: number): Promise<void> {
    try {
      const rows = await withTimeout(
        this.#primary.query<{ lsn: string }>(CURRENT_LSN_SQL),
        timeoutMs,
        'the primary',
      )
      const lsn = rows[0]?.lsn
      if (!lsn) return
      const samples = this.#walSamples
      const now = Date.now()
      samples.push({ at: now, lsn: lsnValue(lsn) })
      // A sample older than a few limits only ever says "lagging", which a younger one
      // past the same position says too.
      const horizon = now - 4 * this.#maxLagMs! - 4 * this.#probeIntervalMs
      while (samples.length > 1 && (samples[0]!.at < horizon || samples.length > 10_000))
        samples.shift()
    } catch {
      // The primary's own health is reported elsewhere; replicas keep their last reading.
    }
  }

  /**
   * How long a background check may take: at least a second, so a short interval on a busy
   * machine does not read a slow answer as a replica that is down. Checks never overlap:
   * the next is scheduled when one ends.
   */
  get #probeTimeoutMs(): number {
    return Math.max(this.#probeIntervalMs, PROBE_TIMEOUT_FLOOR_MS)
  }

  #scheduleLagCheck(delayMs: number): void {
    if (this.#closed) return
    this.#lagTimer = setTimeout(async () => {
      // Replicas that are down have their own probe loop.
      const up = this.#replicas.filter((replica) => replica.up)
      // Replicas first, against the samples of earlier checks: a replica that has replayed
      // everything the primary had one interval ago reads exactly 0.
      await Promise.all(up.map((replica) => this.#measureLag(replica, this.#probeTimeoutMs)))
      await this.#samplePrimary(this.#probeTimeoutMs)
      this.#scheduleLagCheck(this.#probeIntervalMs)
    }, delayMs)
    this.#lagTimer.unref()
  }

  #scheduleProbe(): void {
    if (this.#probing || this.#closed) return
    this.#probing = setTimeout(async () => {
      const down = this.#replicas.filter((r) => !r.up)
      await Promise.all(down.map((replica) => this.#probe(replica, this.#probeTimeoutMs)))
      this.#probing = undefined
      if (this.#replicas.some((r) => !r.up)) this.#scheduleProbe()
    }, this.#probeIntervalMs)
    this.#probing.unref()
  }
}
