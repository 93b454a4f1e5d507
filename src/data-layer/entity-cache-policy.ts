import { getTableName } from 'drizzle-orm'
import type { ReadThroughOptions } from '../cache/cache-types.js'
import type { ResolvedOptions } from '../config/options.js'
import { CascadeGraph } from '../repositories/cascade-graph.js'
import { chatMessages } from '../schema/chat-messages.js'
import { chatVectors } from '../schema/chat-vectors.js'
import { chats } from '../schema/chats.js'
import { users } from '../schema/users.js'

const CORE_TABLES = new Set(['users', 'chats', 'chat_messages'])

/** How a table's reads are cached: the TTLs of one operation, or undefined for not at all. */
export type CachePolicy = (table: string, operation: string) => ReadThroughOptions | undefined

/** Which rows are cached, and which cached rows a delete reaches by cascade. */
export interface EntityCaching {
  readonly cachePolicy: CachePolicy
  readonly cascades: CascadeGraph
}

/**
 * The entity-cache policy of one data layer. With `enabled: 'auto'` rows are cached when
 * every process sees the same cache: with Redis, or with PGlite (one process per database).
 * A server with per-process memory caches would let one process serve rows another has
 * changed, so rows are not cached there unless asked.
 */
export function entityCaching(
  options: Pick<ResolvedOptions, 'cache' | 'extensions'>,
  cacheKind: string,
  databaseKind: 'pglite' | 'postgres',
): EntityCaching {
  const entities = options.cache.entities
  const enabled =
    entities.enabled === 'auto'
      ? cacheKind !== 'memory' || databaseKind === 'pglite'
      : entities.enabled
  // Extensions say how their tables are cached; the application's own settings win.
  const tableSettings: typeof entities.tables = Object.assign(
    {},
    ...options.extensions.map((extension) => extension.cache ?? {}),
    entities.tables,
  )
  const policies = new Map<string, ReadThroughOptions | undefined>()
  const cachePolicy: CachePolicy = (table, operation) => {
    const name = `${table}.${operation}`
    if (policies.has(name)) return policies.get(name)
    const override = tableSettings[table]
    // Core tables are cached unless turned off; other tables only when listed, since
    // the library cannot know which cascades reach them.
    const cached =
      enabled &&
      override !== false &&
      (override !== undefined || CORE_TABLES.has(table)) &&
      (!override?.methods || override.methods.includes(operation))
    const policy = cached
      ? {
          ttlMs: override?.ttlMs ?? entities.ttlMs,
          negativeTtlMs: override?.negativeTtlMs ?? entities.negativeTtlMs,
        }
      : undefined
    policies.set(name, policy)
    return policy
  }
  const extensionTables = options.extensions.flatMap((extension) => extension.tables ?? [])
  const cascades = new CascadeGraph(
    [users, chats, chatMessages, chatVectors, ...extensionTables],
    new Set(
      extensionTables
        .map((table) => getTableName(table))
        .filter((name) => !CORE_TABLES.has(name) && cachePolicy(name, 'findById') !== undefined),
    ),
  )
  return { cachePolicy, cascades }
}
