import type { Cache } from '../cache/cache.js'
import type { ResolvedOptions } from '../config/options.js'
import type { AdminConnection } from '../db/admin-connection.js'
import type { DatabaseConnection } from '../db/connection.js'
import { mapDatabaseError, mapIfDatabaseError } from '../db/map-database-error.js'
import {
  applyMigrations,
  type MigrationSet,
  migrationTables,
  readMigrationStatus,
} from '../db/migrator.js'
import { openPGlite } from '../db/pglite-connection.js'
import type { QueryObserver } from '../db/query-observer.js'
import type { ReadReplicas } from '../db/read-replicas.js'
import type { VectorTableLayout } from '../db/vector-table.js'
import type { EmbeddingQueue } from '../embedding/embedding-queue.js'
import { StratumError } from '../errors.js'
import { createBackup, listBackups } from '../ops/backup.js'
import { runDoctor } from '../ops/doctor.js'
import { restoreBackup } from '../ops/restore.js'
import { applyRoles } from '../ops/roles.js'
import { verifiedMigrate } from '../ops/verified-migrate.js'
import type { BlobStore } from '../storage/blob-store.js'
import { checkVectorTable, openSideConnection } from './open-database.js'
import type { DataLayer } from './types.js'

/** The data layer's operations on the database as a whole: migrations, backups, roles, reports. */
export type LayerOperations = Pick<
  DataLayer,
  'migrate' | 'migrationStatus' | 'backup' | 'backups' | 'restore' | 'roles' | 'doctor' | 'metrics'
>

/** What the operations work on. */
export interface OperationParts {
  readonly options: ResolvedOptions
  readonly connection: DatabaseConnection
  readonly admin: AdminConnection
  readonly migrationSets: readonly MigrationSet[]
  readonly vectorTable: VectorTableLayout
  readonly observer: QueryObserver
  readonly replicas: ReadReplicas | undefined
  readonly cache: Cache
  readonly blobs: BlobStore
  /** Throws `CLOSED` (or the broken layer's error), and `TRANSACTION_MISUSE` inside one. */
  readonly guard: (operation: string) => void
  /** Embedding on write: switched on after migrations, its counters in `metrics()`. */
  readonly embeddings: EmbeddingQueue
}

/** The operations of one data layer. */
export function layerOperations(parts: OperationParts): LayerOperations {
  const { options, connection, admin, migrationSets, blobs, guard } = parts
  const operations: LayerOperations = {
    async migrate(migrateOptions) {
      guard('data.migrate')
      try {
        const result = migrateOptions?.verify
          ? await verifiedMigrate({
              admin,
              sets: migrationSets,
              backup: () => operations.backup(),
              restore: (key, restoreOptions) => operations.restore(key, restoreOptions),
              open: (target) =>
                'url' in target
                  ? Promise.resolve(openSideConnection(options, target.url, 1))
                  : openPGlite({ dir: target.dir }),
              ...(migrateOptions.onStep ? { onStep: migrateOptions.onStep } : {}),
            })
          : await applyMigrations(admin, migrationSets)
        await checkVectorTable(connection, options.embeddings, parts.vectorTable)
        await parts.embeddings.switchOn()
        return result
      } catch (error) {
        throw mapDatabaseError(error, 'migrate')
      }
    },
    async migrationStatus() {
      guard('data.migrationStatus')
      try {
        return await readMigrationStatus(admin, migrationSets)
      } catch (error) {
        throw mapDatabaseError(error, 'migrationStatus')
      }
    },
    async backup(backupOptions) {
      guard('data.backup')
      return createBackup(
        {
          connection: admin,
          blobs,
          databaseUrl: admin.url,
          settings: options.backups,
          migrationHead: async () => {
            const { applied } = await readMigrationStatus(admin, migrationSets)
            const last = applied.at(-1)
            return last ? `${last.set}/${last.tag}` : null
          },
        },
        backupOptions,
      )
    },
    async backups() {
      guard('data.backups')
      return listBackups(blobs, options.backups.prefix)
    },
    async restore(key, restoreOptions) {
      guard('data.restore')
      return restoreBackup(
        { backend: connection.kind, blobs, databaseUrl: admin.url, settings: options.backups },
        key,
        restoreOptions,
      )
    },
    metrics() {
      return {
        database: {
          backend: connection.kind,
          pool: connection.poolStats(),
          queries: parts.observer.metrics(),
          ...(parts.replicas ? { replicas: parts.replicas.stats() } : {}),
        },
        cache: { backend: parts.cache.kind, ...parts.cache.stats() },
        blobs: { backend: blobs.kind, ...blobs.stats() },
        ...(parts.embeddings.configured ? { embeddings: parts.embeddings.stats() } : {}),
      }
    },
    async doctor() {
      guard('data.doctor')
      try {
        return await runDoctor(admin)
      } catch (error) {
        throw mapIfDatabaseError(error, 'doctor')
      }
    },
    async roles(rolesOptions = {}) {
      guard('data.roles')
      if (connection.kind !== 'postgres')
        throw new StratumError(
          'UNSUPPORTED',
          'roles need a PostgreSQL server: PGlite has a single user and no login roles',
        )
      try {
        return await admin.withMigrationLock(async (session) => {
          const [row] = await session.query<{ name: string }>('SELECT current_database() AS name')
          return applyRoles(
            session,
            row!.name,
            rolesOptions,
            rolesOptions.apply ?? false,
            migrationTables(migrationSets),
          )
        })
      } catch (error) {
        throw mapIfDatabaseError(error, 'roles')
      }
    },
  }
  return operations
}
