import { z } from 'zod'
import type { SqlSession } from '../db/connection.js'
import { sqlStateOf } from '../db/map-database-error.js'
import { readVectorTable } from '../db/vector-table.js'
import { ConfigError, StratumError } from '../errors.js'
import { validate } from '../repositories/validate.js'
import { partitionName } from './partitioned-table.js'

/** What {@link convertToPartitions} takes. */
export interface PartitionConversionOptions {
  /** Hash partitions by `user_id` to split `chat_vectors` into (2 to 1,024). */
  partitions: number
  /** Rows copied per statement while writes go on (default 5,000). */
  batchSize?: number
  /**
   * Keep the old table as `chat_vectors_unpartitioned` (its indexes and constraints renamed
   * the same way) instead of dropping it when the new one takes its place. Default false.
   */
  keepOld?: boolean
  /** Called after each copied batch and before the swap. */
  onProgress?: (progress: PartitionConversionProgress) => void
}

/** How far a conversion is. */
export interface PartitionConversionProgress {
  readonly phase: 'copying' | 'swapping'
  readonly rowsCopied: number
  /** Rows in the table when the copy began (writes may change it meanwhile). */
  readonly rowsTotal: number
}

/** What a conversion did. */
export interface PartitionConversionReport {
  /** False when the table already had this many partitions (nothing was done). */
  readonly converted: boolean
  readonly partitions: number
  /** Rows in both tables when the copy was checked, just before the swap. */
  readonly rows: number
  /**
   * `chat_vectors_unpartitioned` with `keepOld`, or when it could not be dropped (the
   * tables its foreign keys reference stayed busy for every attempt): drop it yourself.
   * Null when it was dropped, or nothing was done.
   */
  readonly oldTable: string | null
}

const optionsSchema = z
  .object({
    partitions: z.number().int().min(2).max(1024),
    batchSize: z.number().int().min(1).max(100_000).default(5000),
    keepOld: z.boolean().default(false),
    onProgress: z
      .custom<(p: PartitionConversionProgress) => void>((v) => typeof v === 'function')
      .optional(),
  })
  .strict()

const TABLE = 'chat_vectors'
const NEXT = 'chat_vectors_next'
const OLD = 'chat_vectors_unpartitioned'
const SYNC = 'stratum_chat_vectors_sync'
const GUARD = 'stratum_chat_vectors_no_truncate'

const SWAP_LOCK_TIMEOUT_MS = 2000
const SWAP_ATTEMPTS = 10
/**
 * Dropping the old table (and its foreign keys) locks the tables they reference (`users`,
 * `chats`, `chat_messages`) `ACCESS EXCLUSIVE`: each try holds their queries back at most
 * this long, and nothing waits for the old table any more, so it can try often.
 */
const DROP_LOCK_TIMEOUT_MS = 500
const DROP_ATTEMPTS = 20

/**
 * Runs `step` in a transaction of its own under `lock_timeout`, again after a pause when a
 * lock could not be had in time (55P03: a long query holds the table); the trigger keeps
 * the copy in step meanwhile, so a later attempt is as good as the first.
 */
async function whenLocked<T>(
  session: SqlSession,
  lockTimeoutMs: number,
  attempts: number,
  step: (tx: Pick<SqlSession, 'query'>) => Promise<T>,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await session.transaction(async (tx) => {
        // Waiting behind a long reader would queue every later query behind this lock.
        await tx.query(`set local lock_timeout = '${lockTimeoutMs}ms'`)
        return step(tx)
      })
    } catch (error) {
      if (sqlStateOf(error) !== '55P03' || attempt >= attempts) throw error
      await session.query('select pg_sleep($1)', [Math.min(attempt, 5)])
    }
  }
}

const quote = (name: string) => `"${name.replaceAll('"', '""')}"`
/** `name` with its `from` prefix replaced by `to` (Postgres names are at most 63 bytes). */
const renamed = (name: string, from: string, to: string) =>
  (name.startsWith(from) ? to + name.slice(from.length) : `${to}_${name}`).slice(0, 63)

/**
 * Turns the one-table `chat_vectors` of a running database into `partitions` hash
 * partitions by `user_id`, while the application keeps reading and writing it:
 *
 * 1. `chat_vectors_next` is made from the table's own catalog (columns, defaults,
 *    generated columns, checks, foreign keys, every index; unique keys gain `user_id`, as a
 *    partitioned table needs) and its grants, with its partitions.
 * 2. A trigger on `chat_vectors` mirrors every insert, update and delete into it (and
 *    refuses TRUNCATE until the swap).
 * 3. Rows are copied in keyset batches, each locking its source rows `FOR SHARE`, so a
 *    write to a row being copied waits for the copy and its trigger then sees the copy.
 * 4. Both tables are counted in one snapshot: they must agree, or nothing changes
 *    (`INTEGRITY`).
 * 5. The swap, in one short transaction that takes every lock it needs before it changes
 *    anything: the old table and its indexes are renamed `chat_vectors_unpartitioned`, the
 *    new one and its partitions, indexes and constraints take the old names. Views or
 *    foreign keys of other tables on `chat_vectors` are refused (`CONFIG`): they would
 *    follow the old table.
 * 6. Unless `keepOld`, the old table is dropped, its foreign keys first, each step in a
 *    transaction of its own with a short lock timeout.
 *
 * Runs under the migration lock, on the session it is given. A conversion that fails
 * removes the copy and the triggers; one that was killed leaves them, and the next call
 * removes them and starts over.
 * Other processes' data layers notice the new layout on their next upsert.
 * @internal
 */
export async function convertToPartitions(
  session: SqlSession,
  options: PartitionConversionOptions,
): Promise<PartitionConversionReport> {
  const wanted = validate(optionsSchema, options, 'chat_vectors.partition')
  const shape = await readVectorTable(session)
  if (!shape) throw new ConfigError('chat_vectors does not exist yet: run data.migrate() first')
  if (shape.partitions === wanted.partitions) {
    const [row] = await session.query<{ n: number }>(`select count(*)::float8 as n from ${TABLE}`)
    return { converted: false, partitions: shape.partitions, rows: row?.n ?? 0, oldTable: null }
  }
  if (shape.partitions > 0) {
    throw new ConfigError(
      `chat_vectors already has ${shape.partitions} hash partitions; only a table of one partition can be converted`,
      { details: { actual: shape.partitions, wanted: wanted.partitions } },
    )
  }
  if (await exists(session, OLD)) {
    throw new StratumError(
      'CONFLICT',
      `${OLD} exists already (kept by an earlier conversion): drop it before converting`,
    )
  }
  await refuseDependents(session)
  const report = (p: PartitionConversionProgress) => {
    try {
      wanted.onProgress?.(p)
    } catch {
      // A failing callback must not break the conversion.
    }
  }

  await removeLeftovers(session)
  try {
    return await convert(session, wanted, report)
  } catch (error) {
    // Do not leave the trigger taxing every write of the live table until a next attempt.
    await removeLeftovers(session).catch(() => {})
    throw error
  }
}

async function convert(
  session: SqlSession,
  wanted: z.output<typeof optionsSchema>,
  report: (progress: PartitionConversionProgress) => void,
): Promise<PartitionConversionReport> {
  const columns = await copiedColumns(session)
  await createNextTable(session, wanted.partitions)
  await installSync(session, columns)

  const [{ n: total } = { n: 0 }] = await session.query<{ n: number }>(
    `select count(*)::float8 as n from ${TABLE}`,
  )
  const list = columns.map(quote).join(', ')
  let after: string | null = null
  let copied = 0
  for (;;) {
    const found: { last: string | null; n: number }[] = await session.query(
      `with batch as (
         select ${list} from ${TABLE} ${after === null ? '' : 'where id > $2::uuid'}
         order by id limit $1 for share
       ), copied as (
         insert into ${NEXT} (${list}) select ${list} from batch on conflict do nothing
       )
       select (select id::text from batch order by id desc limit 1) as last,
              (select count(*)::int from batch) as n`,
      after === null ? [wanted.batchSize] : [wanted.batchSize, after],
    )
    const batch = found[0]
    if (!batch || batch.n === 0 || batch.last === null) break
    after = batch.last
    copied += batch.n
    report({ phase: 'copying', rowsCopied: copied, rowsTotal: total })
  }

  report({ phase: 'swapping', rowsCopied: copied, rowsTotal: total })
  const rows = await verifyCopy(session)
  await whenLocked(session, SWAP_LOCK_TIMEOUT_MS, SWAP_ATTEMPTS, async (tx) => {
    // Every lock the swap needs, before it writes to the catalog: a transaction that has
    // written to the catalog and then waits for a lock can deadlock with autovacuum, whose
    // ANALYZE of a partition waits for that transaction to update the partition's
    // statistics (and is cancelled for us only while we have written nothing).
    await tx.query(`lock table ${TABLE}, ${NEXT} in access exclusive mode`)
    await refuseDependents(tx)
    await tx.query(`drop trigger ${SYNC} on ${TABLE}`)
    await tx.query(`drop trigger ${GUARD} on ${TABLE}`)
    // Renamed, not dropped: dropping it (or its foreign keys) would lock users, chats and
    // chat_messages ACCESS EXCLUSIVE while this transaction holds chat_vectors, and a writer
    // holding one of those while it waits for chat_vectors would deadlock with it.
    await renameRelations(tx, TABLE, TABLE, OLD)
    await tx.query(`alter table ${TABLE} rename to ${OLD}`)
    await renameRelations(tx, NEXT, NEXT, TABLE)
    for (let i = 0; i < wanted.partitions; i++) {
      await renameRelations(tx, `${NEXT}_p${i}`, NEXT, TABLE)
      await tx.query(`alter table ${quote(`${NEXT}_p${i}`)} rename to ${quote(partitionName(i))}`)
    }
    await tx.query(`alter table ${NEXT} rename to ${TABLE}`)
    await tx.query(`drop function ${SYNC}()`)
    await tx.query(`drop function ${GUARD}()`)
  })
  const dropped = !wanted.keepOld && (await dropOldTable(session))
  // The new table has no statistics yet: without them the planner guesses.
  await session.query(`analyze ${TABLE}`)
  return { converted: true, partitions: wanted.partitions, rows, oldTable: dropped ? null : OLD }
}

/**
 * Both tables counted in one statement, so in one snapshot: every write reaches both in
 * the same transaction (the trigger), so the counts agree at any instant once the copy is
 * done. No lock: writes and reads go on while the tables are scanned.
 */
async function verifyCopy(session: SqlSession): Promise<number> {
  const [counts] = await session.query<{ old: string; next: string }>(
    `select (select count(*) from ${TABLE})::text as old, (select count(*) from ${NEXT})::text as next`,
  )
  if (!counts || counts.old !== counts.next) {
    throw new StratumError(
      'INTEGRITY',
      `chat_vectors.partition: the copy has ${counts?.next} rows where the table has ${counts?.old}; nothing was changed`,
    )
  }
  return Number(counts.old)
}

/**
 * Views and foreign keys of other tables follow a table through a rename: they would go on
 * reading or referencing the old table, so the conversion refuses them.
 */
async function refuseDependents(session: Pick<SqlSession, 'query'>): Promise<void> {
  const found = await session.query<{ name: string }>(
    `select distinct v.oid::regclass::text as name
       from pg_depend d join pg_rewrite r on r.oid = d.objid join pg_class v on v.oid = r.ev_class
      where d.classid = 'pg_rewrite'::regclass and d.refobjid = '${TABLE}'::regclass
        and v.oid <> '${TABLE}'::regclass
     union
     select distinct conrelid::regclass::text from pg_constraint
      where confrelid = '${TABLE}'::regclass and conrelid <> '${TABLE}'::regclass
     order by 1`,
  )
  if (found.length > 0) {
    const names = found.map((row) => row.name).join(', ')
    throw new ConfigError(
      `chat_vectors has dependents that would keep using the old table (${names}): drop them before converting, and create them again after`,
      { details: { dependents: found.map((row) => row.name) } },
    )
  }
}

/**
 * Drops the old table after the swap: its foreign keys one at a time, then the table, each
 * in a short transaction of its own. False when the locks could not be had in all the
 * attempts; the table is then left as `chat_vectors_unpartitioned`, for the caller to drop.
 */
async function dropOldTable(session: SqlSession): Promise<boolean> {
  const keys = await session.query<{ name: string }>(
    `select conname as name from pg_constraint
      where conrelid = '${OLD}'::regclass and contype = 'f' order by conname`,
  )
  try {
    for (const key of keys) {
      await whenLocked(session, DROP_LOCK_TIMEOUT_MS, DROP_ATTEMPTS, (tx) =>
        tx.query(`alter table ${OLD} drop constraint ${quote(key.name)}`),
      )
    }
    await whenLocked(session, DROP_LOCK_TIMEOUT_MS, DROP_ATTEMPTS, (tx) =>
      tx.query(`drop table ${OLD}`),
    )
    return true
  } catch (error) {
    if (sqlStateOf(error) === '55P03') return false
    throw error
  }
}

async function exists(session: SqlSession, table: string): Promise<boolean> {
  const [row] = await session.query<{ found: boolean }>(
    'select to_regclass($1) is not null as found',
    [table],
  )
  return row?.found === true
}

/** What an interrupted or failed conversion left: the half-filled copy and the triggers. */
async function removeLeftovers(session: SqlSession): Promise<void> {
  const [left] = await session.query<{ triggers: boolean; copy: boolean }>(
    `select exists (select 1 from pg_trigger where tgrelid = to_regclass('${TABLE}')
                     and tgname in ('${SYNC}', '${GUARD}')) as triggers,
            to_regclass('${NEXT}') is not null as copy`,
  )
  // Each drop locks the live table (or, for the copy's foreign keys, users, chats and
  // chat_messages) ACCESS EXCLUSIVE: only when there is something to drop, never for long.
  if (left?.triggers) {
    await whenLocked(session, DROP_LOCK_TIMEOUT_MS, DROP_ATTEMPTS, async (tx) => {
      await tx.query(`drop trigger if exists ${SYNC} on ${TABLE}`)
      await tx.query(`drop trigger if exists ${GUARD} on ${TABLE}`)
    })
  }
  await session.query(`drop function if exists ${SYNC}()`)
  await session.query(`drop function if exists ${GUARD}()`)
  if (left?.copy) {
    await whenLocked(session, DROP_LOCK_TIMEOUT_MS, DROP_ATTEMPTS, (tx) =>
      tx.query(`drop table if exists ${NEXT}`),
    )
  }
}

/** The columns a copy writes: all but the generated ones, which the copy computes itself. */
async function copiedColumns(session: SqlSession): Promise<string[]> {
  const rows = await session.query<{ name: string }>(
    `select attname as name from pg_attribute
      where attrelid = '${TABLE}'::regclass and attnum > 0 and not attisdropped and attgenerated = ''
      order by attnum`,
  )
  return rows.map((row) => row.name)
}

/**
 * `chat_vectors_next`, partitioned, with what the old table has, read from the catalog (so
 * indexes and keys added by later migrations or `ensureIndex` come along).
 */
async function createNextTable(session: SqlSession, partitions: number): Promise<void> {
  await session.query(
    `create table ${NEXT} (like ${TABLE} including defaults including generated including constraints
       including storage including comments) partition by hash (user_id)`,
  )
  for (let i = 0; i < partitions; i++) {
    await session.query(
      `create table ${quote(`${NEXT}_p${i}`)} partition of ${NEXT}
         for values with (modulus ${partitions}, remainder ${i})`,
    )
  }
  const keys = await session.query<{ name: string; type: string; columns: string[] }>(
    `select c.conname as name, c.contype::text as type,
            array(select a.attname::text from unnest(c.conkey) with ordinality k(attnum, ord)
                  join pg_attribute a on a.attrelid = c.conrelid and a.attnum = k.attnum
                  order by k.ord) as columns
       from pg_constraint c where c.conrelid = '${TABLE}'::regclass and c.contype in ('p', 'u')
      order by c.contype, c.conname`,
  )
  for (const key of keys) {
    const columns = key.columns.includes('user_id') ? key.columns : [...key.columns, 'user_id']
    const kind = key.type === 'p' ? 'primary key' : 'unique'
    await session.query(
      `alter table ${NEXT} add constraint ${quote(renamed(key.name, TABLE, NEXT))}
         ${kind} (${columns.map(quote).join(', ')})`,
    )
  }
  const foreign = await session.query<{ name: string; definition: string }>(
    `select conname as name, pg_get_constraintdef(oid) as definition from pg_constraint
      where conrelid = '${TABLE}'::regclass and contype = 'f' order by conname`,
  )
  for (const key of foreign) {
    // Locks the referenced table against writes: briefly, and not behind a long writer.
    await whenLocked(session, SWAP_LOCK_TIMEOUT_MS, SWAP_ATTEMPTS, (tx) =>
      tx.query(`alter table ${NEXT} add constraint ${quote(key.name)} ${key.definition}`),
    )
  }
  const indexes = await session.query<{ name: string; definition: string; unique: boolean }>(
    `select c.relname as name, pg_get_indexdef(i.indexrelid) as definition, i.indisunique as unique
       from pg_index i join pg_class c on c.oid = i.indexrelid
      where i.indrelid = '${TABLE}'::regclass
        and not exists (select 1 from pg_constraint k where k.conindid = i.indexrelid)
      order by c.relname`,
  )
  for (const index of indexes) {
    if (index.unique) {
      throw new ConfigError(
        `chat_vectors has a unique index without a constraint (${index.name}); a partitioned table's unique indexes must contain user_id: replace it first`,
      )
    }
    // pg_get_indexdef: CREATE INDEX <name> ON [ONLY] <schema>.chat_vectors USING ...
    const match = /^CREATE INDEX \S+ ON (?:ONLY )?\S+ (USING .*)$/s.exec(index.definition)
    if (!match) throw new Error(`unexpected index definition: ${index.definition}`)
    await session.query(
      `create index ${quote(renamed(index.name, TABLE, NEXT))} on ${NEXT} ${match[1]}`,
    )
  }
  // Privileges (the app and read-only roles of data.roles()) go with the table.
  const grants = await session.query<{ grantee: string; privilege: string }>(
    `select case when a.grantee = 0 then 'public' else quote_ident(r.rolname) end as grantee,
            a.privilege_type as privilege
       from pg_class c, aclexplode(c.relacl) a left join pg_roles r on r.oid = a.grantee
      where c.oid = '${TABLE}'::regclass and a.grantee <> c.relowner`,
  )
  for (const grant of grants) {
    await session.query(`grant ${grant.privilege} on ${NEXT} to ${grant.grantee}`)
  }
}

/**
 * The trigger that keeps `chat_vectors_next` equal to `chat_vectors` while rows are copied:
 * a changed row is deleted from the copy by its old key and written again, and TRUNCATE
 * (which row triggers do not see) is refused.
 */
async function installSync(session: SqlSession, columns: readonly string[]): Promise<void> {
  const list = columns.map(quote).join(', ')
  const values = columns.map((c) => `new.${quote(c)}`).join(', ')
  await session.query(`create or replace function ${SYNC}() returns trigger language plpgsql as $$
    begin
      if tg_op in ('DELETE', 'UPDATE') then
        delete from ${NEXT} where id = old.id and user_id = old.user_id;
      end if;
      if tg_op in ('INSERT', 'UPDATE') then
        insert into ${NEXT} (${list}) values (${values});
      end if;
      return null;
    end $$`)
  await session.query(`create or replace function ${GUARD}() returns trigger language plpgsql as $$
    begin
      raise exception 'chat_vectors is being converted to partitions: TRUNCATE waits until it is done';
    end $$`)
  // Creating a trigger locks the live table against writes: briefly, not behind a long writer.
  await whenLocked(session, SWAP_LOCK_TIMEOUT_MS, SWAP_ATTEMPTS, async (tx) => {
    await tx.query(
      `create trigger ${SYNC} after insert or update or delete on ${TABLE}
         for each row execute function ${SYNC}()`,
    )
    await tx.query(
      `create trigger ${GUARD} before truncate on ${TABLE} for each statement execute function ${GUARD}()`,
    )
  })
}

/**
 * Renames the indexes (and so the key constraints they back) of `table` whose names start
 * with `from` to start with `to` instead.
 */
async function renameRelations(
  session: Pick<SqlSession, 'query'>,
  table: string,
  from: string,
  to: string,
): Promise<void> {
  const indexes = await session.query<{ name: string }>(
    `select c.relname as name from pg_index i join pg_class c on c.oid = i.indexrelid
      where i.indrelid = to_regclass($1) order by c.relname`,
    [quote(table)],
  )
  for (const { name } of indexes) {
    if (!name.startsWith(from)) continue
    await session.query(`alter index ${quote(name)} rename to ${quote(renamed(name, from, to))}`)
  }
}
