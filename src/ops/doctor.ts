import type { DatabaseConnection } from '../db/connection.js'

/** One finding of the doctor. */
export interface DoctorCheck {
  readonly name: string
  /** `warn` when something wants attention. */
  readonly status: 'ok' | 'warn'
  readonly summary: string
  readonly rows: readonly Record<string, unknown>[]
}

/** What `data.doctor()` returns. */
export interface DoctorReport {
  readonly checkedAt: Date
  readonly warnings: number
  readonly checks: readonly DoctorCheck[]
}

type Query = Pick<DatabaseConnection, 'query'>['query']

const num = (value: unknown) => Number(value ?? 0)

async function unusedIndexes(query: Query): Promise<DoctorCheck> {
  const rows = await query<Record<string, unknown>>(
    `SELECT s.relname AS table, s.indexrelname AS index, s.idx_scan AS scans,
            pg_relation_size(s.indexrelid) AS bytes
       FROM pg_stat_user_indexes s JOIN pg_index i ON i.indexrelid = s.indexrelid
      WHERE s.idx_scan = 0 AND NOT i.indisunique AND NOT i.indisprimary
      ORDER BY pg_relation_size(s.indexrelid) DESC`,
  )
  const big = rows.filter((r) => num(r.bytes) > 1024 * 1024)
  return {
    name: 'unused indexes',
    status: big.length > 0 ? 'warn' : 'ok',
    summary:
      rows.length === 0
        ? 'every non-unique index has been used since statistics were last reset'
        : `${rows.length} non-unique index(es) never scanned since statistics were reset (${big.length} over 1 MiB)`,
    rows: rows.map((r) => ({ ...r, scans: num(r.scans), bytes: num(r.bytes) })),
  }
}

async function tableSizes(query: Query): Promise<DoctorCheck> {
  const rows = await query<Record<string, unknown>>(
    `SELECT relname AS table, n_live_tup AS live_rows, n_dead_tup AS dead_rows,
            pg_table_size(relid) AS table_bytes, pg_indexes_size(relid) AS index_bytes,
            CASE WHEN n_live_tup + n_dead_tup = 0 THEN 0
                 ELSE round(100.0 * n_dead_tup / (n_live_tup + n_dead_tup), 1) END AS dead_percent
       FROM pg_stat_user_tables ORDER BY pg_total_relation_size(relid) DESC`,
  )
  const bloated = rows.filter((r) => num(r.dead_percent) > 20 && num(r.dead_rows) > 1000)
  return {
    name: 'table and index sizes, bloat estimate',
    status: bloated.length > 0 ? 'warn' : 'ok',
    summary:
      bloated.length > 0
        ? `${bloated.length} table(s) over 20% dead rows: ${bloated.map((r) => r.table).join(', ')}`
        : `${rows.length} tables; none over 20% dead rows`,
    rows: rows.map((r) => ({
      ...r,
      live_rows: num(r.live_rows),
      dead_rows: num(r.dead_rows),
      table_bytes: num(r.table_bytes),
      index_bytes: num(r.index_bytes),
      dead_percent: num(r.dead_percent),
    })),
  }
}

async function maintenance(query: Query): Promise<DoctorCheck> {
  // Autovacuum's own thresholds with its default settings: 50 rows + 20% (vacuum) and
  // 50 rows + 10% (analyze).
  const rows = await query<Record<string, unknown>>(
    `SELECT relname AS table, n_live_tup AS live_rows, n_dead_tup AS dead_rows,
            n_mod_since_analyze AS modified_since_analyze,
            greatest(last_vacuum, last_autovacuum) AS last_vacuum,
            greatest(last_analyze, last_autoanalyze) AS last_analyze,
            n_dead_tup > 50 + 0.2 * n_live_tup AS needs_vacuum,
            n_mod_since_analyze > 50 + 0.1 * n_live_tup AS needs_analyze
       FROM pg_stat_user_tables ORDER BY relname`,
  )
  const due = rows.filter((r) => r.needs_vacuum || r.needs_analyze)
  return {
    name: 'tables needing VACUUM or ANALYZE',
    status: due.length > 0 ? 'warn' : 'ok',
    summary:
      due.length > 0
        ? `${due.length} table(s) past autovacuum's thresholds: ${due.map((r) => r.table).join(', ')}`
        : 'no table is past autovacuum thresholds',
    rows: rows.map((r) => ({
      ...r,
      live_rows: num(r.live_rows),
      dead_rows: num(r.dead_rows),
      modified_since_analyze: num(r.modified_since_analyze),
    })),
  }
}

async function connections(query: Query): Promise<DoctorCheck> {
  const rows = await query<Record<string, unknown>>(
    `SELECT coalesce(state, 'background') AS state, count(*) AS connections,
            max(extract(epoch FROM now() - state_change)) AS longest_seconds
       FROM pg_stat_activity WHERE datname = current_database() GROUP BY 1 ORDER BY 1`,
  )
  const stuck = rows.find((r) => r.state === 'idle in transaction' && num(r.longest_seconds) > 60)
  return {
    name: 'connections',
    status: stuck ? 'warn' : 'ok',
    summary: stuck
      ? `a session has been idle in a transaction for ${Math.round(num(stuck.longest_seconds))} s (it holds locks and blocks vacuum)`
      : rows.map((r) => `${num(r.connections)} ${r.state}`).join(', ') || 'no sessions',
    rows: rows.map((r) => ({
      ...r,
      connections: num(r.connections),
      longest_seconds: num(r.longest_seconds),
    })),
  }
}

async function bufferHitRatio(query: Query): Promise<DoctorCheck> {
  const [row] = await query<Record<string, unknown>>(
    `SELECT blks_hit AS hits, blks_read AS reads FROM pg_stat_database WHERE datname = current_database()`,
  )
  const hits = num(row?.hits)
  const reads = num(row?.reads)
  const ratio = hits + reads === 0 ? 1 : hits / (hits + reads)
  const enough = hits + reads > 10_000
  return {
    name: 'buffer cache hit ratio',
    status: enough && ratio < 0.95 ? 'warn' : 'ok',
    summary: `${(ratio * 100).toFixed(2)}% of block reads served from shared buffers${enough ? '' : ' (too few reads to judge)'}`,
    rows: [{ hits, reads, ratio }],
  }
}

async function vectorIndexes(query: Query): Promise<DoctorCheck> {
  const rows = await query<Record<string, unknown>>(
    `SELECT c.relname AS index, t.relname AS table, am.amname AS method,
            coalesce(array_to_string(c.reloptions, ','), '') AS options,
            t.reltuples AS estimated_rows
       FROM pg_class c JOIN pg_index i ON i.indexrelid = c.oid JOIN pg_class t ON t.oid = i.indrelid
       JOIN pg_am am ON am.oid = c.relam
      WHERE am.amname IN ('hnsw', 'ivfflat') ORDER BY 1`,
  )
  const findings: string[] = []
  const out = rows.map((r) => {
    const rowsEstimate = Math.max(0, num(r.estimated_rows))
    const lists = /lists=(\d+)/.exec(String(r.options))?.[1]
    let advice = ''
    if (r.method === 'ivfflat') {
      // pgvector's guidance: lists = rows / 1000 up to 1M rows, sqrt(rows) above.
      const ideal =
        rowsEstimate > 1_000_000 ? Math.sqrt(rowsEstimate) : Math.max(1, rowsEstimate / 1000)
      const actual = Number(lists ?? 100)
      if (rowsEstimate > 10_000 && (actual > ideal * 4 || actual < ideal / 4)) {
        advice = `lists ${actual} is far from about ${Math.round(ideal)} for ${Math.round(rowsEstimate)} rows: rebuild it`
        findings.push(`${r.index}: ${advice}`)
      }
    }
    return { ...r, estimated_rows: rowsEstimate, advice }
  })
  return {
    name: 'vector indexes',
    status: findings.length > 0 ? 'warn' : 'ok',
    summary:
      rows.length === 0
        ? 'no HNSW or IVFFlat index (searches scan exactly: fine for small tables)'
        : findings.length > 0
          ? findings.join('; ')
          : `${rows.length} vector index(es); parameters fit the row counts`,
    rows: out,
  }
}

async function extensions(query: Query): Promise<DoctorCheck> {
  const rows = await query<Record<string, unknown>>(
    `SELECT e.extname AS name, e.extversion AS installed, a.default_version AS available
       FROM pg_extension e LEFT JOIN pg_available_extensions a ON a.name = e.extname ORDER BY 1`,
  )
  const outdated = rows.filter((r) => r.available && r.available !== r.installed)
  return {
    name: 'extensions',
    status: outdated.length > 0 ? 'warn' : 'ok',
    summary:
      outdated.length > 0
        ? `newer versions available: ${outdated.map((r) => `${r.name} ${r.installed} -> ${r.available} (ALTER EXTENSION ... UPDATE)`).join(', ')}`
        : rows.map((r) => `${r.name} ${r.installed}`).join(', '),
    rows,
  }
}

/**
 * What the maintenance scripts of the seed documents query by hand, as one report:
 * unused indexes, sizes and dead-row bloat, tables past autovacuum thresholds, connection
 * states, the buffer cache hit ratio, vector index parameters against row counts, and
 * extension versions.
 * @internal
 */
export async function runDoctor(
  connection: Pick<DatabaseConnection, 'query'>,
): Promise<DoctorReport> {
  const query: Query = (text, params) => connection.query(text, params)
  const checks: DoctorCheck[] = []
  for (const check of [
    unusedIndexes,
    tableSizes,
    maintenance,
    connections,
    bufferHitRatio,
    vectorIndexes,
    extensions,
  ])
    checks.push(await check(query))
  return {
    checkedAt: new Date(),
    warnings: checks.filter((c) => c.status === 'warn').length,
    checks,
  }
}
