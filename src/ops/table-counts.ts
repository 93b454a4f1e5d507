import { quoteIdentifier } from '../db/server-admin.js'
/** Runs one query; the shape both a session and a read transaction offer. */
export type Query = <R>(text: string, params: readonly unknown[]) => Promise<R[]>

/**
 * Row counts of every ordinary and partitioned table outside the system schemas (not of
 * individual partitions), keyed `schema.table`: what a backup's manifest records and a
 * restore checks.
 * @internal
 */
export async function countTableRows(query: Query): Promise<Record<string, number>> {
  const tables = await query<{ schema: string; name: string }>(
    `SELECT n.nspname AS schema, c.relname AS name
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition
        AND n.nspname NOT IN ('pg_catalog', 'information_schema')
        AND n.nspname NOT LIKE 'pg\\_%'
      ORDER BY 1, 2`,
    [],
  )
  const counts: Record<string, number> = {}
  for (const { schema, name } of tables) {
    const [row] = await query<{ count: string | number }>(
      `SELECT count(*) AS count FROM ${quoteIdentifier(schema)}.${quoteIdentifier(name)}`,
      [],
    )
    counts[`${schema}.${name}`] = Number(row?.count ?? 0)
  }
  return counts
}

/** Tables whose counts differ between two count maps, as `table: expected → actual`. @internal */
export function countMismatches(
  expected: Record<string, number>,
  actual: Record<string, number>,
): string[] {
  const names = new Set([...Object.keys(expected), ...Object.keys(actual)])
  return [...names]
    .filter((name) => expected[name] !== actual[name])
    .map((name) => `${name}: ${expected[name] ?? 'missing'} → ${actual[name] ?? 'missing'}`)
}
