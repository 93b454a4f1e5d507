import type { ResolvedOptions } from '../config/options.js'
import { coreMigrationsFolder, readMigrationFolder } from '../db/migration-files.js'
import type { MigrationSet } from '../db/migrator.js'
import { checkExtensions } from '../extensions/extension.js'
import { EMBEDDING_DIMENSIONS_TOKEN, FULL_TEXT_LANGUAGE_TOKEN } from '../schema/embedding-column.js'
import { coreIndexRewrite } from '../vector/indexed-embedding.js'
import { partitionedTableRewrites } from '../vector/partitioned-table.js'

/**
 * Every migration set a data layer applies, in order: the core set (with the embedding
 * dimension and text search language filled in, its HNSW index on `halfvec` above
 * 2,000 dimensions, and `chat_vectors` hash-partitioned when asked), then `migrations.sets`, then each
 * extension's. Reads the folders, so a missing one is a `CONFIG` error before anything
 * connects.
 * @internal
 */
export function migrationSetsOf(
  options: Pick<ResolvedOptions, 'embeddings' | 'migrations' | 'extensions'>,
): MigrationSet[] {
  checkExtensions(
    options.extensions,
    options.migrations.sets.map((set) => set.name),
  )
  const indexRewrite = coreIndexRewrite(options.embeddings.dimensions)
  const partitions = options.embeddings.partitions
  const rewrites = [
    ...(indexRewrite ? [indexRewrite] : []),
    ...(partitions ? partitionedTableRewrites(partitions) : []),
  ]
  const core: MigrationSet = {
    name: 'core',
    migrations: readMigrationFolder(coreMigrationsFolder()),
    parameters: {
      [EMBEDDING_DIMENSIONS_TOKEN]: String(options.embeddings.dimensions),
      [FULL_TEXT_LANGUAGE_TOKEN]: options.embeddings.fullTextLanguage,
    },
    ...(rewrites.length > 0 ? { rewrites } : {}),
  }
  const extra = options.migrations.sets.map(
    (set): MigrationSet => ({
      name: set.name,
      migrations: readMigrationFolder(set.folder),
      ...(set.parameters ? { parameters: set.parameters } : {}),
    }),
  )
  const extensions = options.extensions.flatMap((extension): MigrationSet[] => {
    const migrations = extension.migrations
    if (!migrations) return []
    return [
      {
        name: extension.name,
        migrations: readMigrationFolder(migrations.folder),
        ...(migrations.parameters ? { parameters: migrations.parameters } : {}),
        ...(migrations.table ? { table: migrations.table } : {}),
      },
    ]
  })
  return [core, ...extra, ...extensions]
}
