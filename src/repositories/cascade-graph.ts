import { getTableName, inArray } from 'drizzle-orm'
import { getTableConfig, type PgColumn, type PgTable } from 'drizzle-orm/pg-core'
import type { Executor } from '../db/connection.js'
import { entityKey } from './cache-keys.js'

/** One foreign key along which a delete reaches another table's rows. */
interface CascadeEdge {
  readonly child: PgTable
  readonly childName: string
  /** The child's referencing column. */
  readonly column: PgColumn
  /** The child's primary key column. */
  readonly childKey: PgColumn
  /** `cascade` deletes the child rows (and goes on to theirs); `set null`/`set default` changes them. */
  readonly action: 'cascade' | 'set null' | 'set default'
}

/**
 * Which cached rows of other tables a delete changes through foreign keys (`ON DELETE
 * CASCADE`, `SET NULL`, `SET DEFAULT`): deleting a user removes an extension's notes of
 * that user in the database, so their cached copies must be invalidated with the delete.
 * Built from the Drizzle tables' foreign keys (single-column ones referencing a primary
 * key). Only paths that end at a cached table are followed, so with none, a delete costs
 * nothing extra.
 * @internal
 */
export class CascadeGraph {
  readonly #edges = new Map<string, CascadeEdge[]>()
  /** Tables from which a delete can reach a cached table. */
  readonly #reaches = new Set<string>()
  readonly #cached: ReadonlySet<string>

  /**
   * @param tables every table whose foreign keys to follow (core and extensions)
   * @param cached names of the tables whose rows are cached and not invalidated otherwise
   */
  constructor(tables: readonly PgTable[], cached: ReadonlySet<string>) {
    this.#cached = cached
    for (const child of tables) {
      const config = getTableConfig(child)
      const childKey = config.columns.find((c) => c.primary)
      if (!childKey) continue
      for (const fk of config.foreignKeys) {
        const action = fk.onDelete
        if (action !== 'cascade' && action !== 'set null' && action !== 'set default') continue
        const reference = fk.reference()
        if (reference.columns.length !== 1 || !reference.foreignColumns[0]?.primary) continue
        const parent = getTableName(reference.foreignTable)
        const edges = this.#edges.get(parent) ?? []
        edges.push({
          child,
          childName: config.name,
          column: reference.columns[0]!,
          childKey,
          action,
        })
        this.#edges.set(parent, edges)
      }
    }
    // Walk back from each cached table along the edges that carry a delete onwards.
    const pending = [...cached]
    while (pending.length > 0) {
      const target = pending.pop()!
      for (const [parent, edges] of this.#edges) {
        if (this.#reaches.has(parent)) continue
        const hit = edges.some(
          (e) =>
            e.childName === target &&
            (cached.has(target) || (e.action === 'cascade' && this.#reaches.has(target))),
        )
        if (hit) {
          this.#reaches.add(parent)
          pending.push(parent)
        }
      }
    }
  }

  /**
   * The entity keys of cached rows that deleting rows `ids` of `table` removes or changes;
   * read inside the deleting transaction, before the delete.
   */
  async keysOnDelete(
    executor: Executor,
    table: string,
    ids: readonly unknown[],
  ): Promise<string[]> {
    if (!this.#reaches.has(table) || ids.length === 0) return []
    const keys: string[] = []
    const queue: [string, readonly unknown[]][] = [[table, ids]]
    const seen = new Set<string>()
    while (queue.length > 0) {
      const [parent, parentIds] = queue.shift()!
      for (const edge of this.#edges.get(parent) ?? []) {
        const wanted = this.#cached.has(edge.childName) || this.#reaches.has(edge.childName)
        if (!wanted) continue
        const rows = (await executor
          .select({ key: edge.childKey })
          .from(edge.child)
          .where(inArray(edge.column, parentIds as unknown[]))) as { key: unknown }[]
        const childIds = rows.map((r) => r.key).filter((id) => !seen.has(`${edge.childName}:${id}`))
        for (const id of childIds) seen.add(`${edge.childName}:${id}`)
        if (this.#cached.has(edge.childName))
          for (const id of childIds) keys.push(entityKey(edge.childName, id))
        if (edge.action === 'cascade' && this.#reaches.has(edge.childName) && childIds.length > 0)
          queue.push([edge.childName, childIds])
      }
    }
    return keys
  }
}
