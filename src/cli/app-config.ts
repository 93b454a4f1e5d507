import { resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import type { DataLayerOptions } from '../config/options.js'
import { ConfigError } from '../errors.js'

/**
 * The options exported by the app's configuration module (`--config ./stratum.config.mjs`
 * or `STRATUM_CONFIG`): its default export, an options object or a function returning one,
 * so the CLI sees the app's extensions and migration sets. A `.ts` file needs a Node that
 * strips types (23.6 and later do by default).
 * @internal
 */
export async function loadAppConfig(file: string | undefined): Promise<DataLayerOptions> {
  if (!file) return {}
  let loaded: { default?: unknown }
  try {
    loaded = (await import(pathToFileURL(resolve(file)).href)) as { default?: unknown }
  } catch (error) {
    throw new ConfigError(
      `--config ${file}: the module could not be loaded (${(error as Error).message.split('\n')[0]})`,
      { cause: error },
    )
  }
  const exported = loaded.default
  const options = typeof exported === 'function' ? await (exported as () => unknown)() : exported
  if (typeof options !== 'object' || options === null || Array.isArray(options))
    throw new ConfigError(
      `--config ${file}: the default export must be createDataLayer options, or a function returning them`,
    )
  return options as DataLayerOptions
}

/**
 * Refuses a configuration without a database: the CLI would otherwise open a new in-memory
 * database on every run, so `migrate` would apply migrations that the next `status` never
 * sees, and `backup` would back up nothing.
 * @internal
 */
export function assertPersistentDatabase(options: DataLayerOptions): void {
  if (options.databaseUrl || options.database?.dir || options.database?.client) return
  throw new ConfigError(
    'No database configured: set DATABASE_URL (a PostgreSQL server) or STRATUM_DATA_DIR (a directory for the embedded database), or give --config a module that sets databaseUrl or database.dir. An in-memory database would be gone when the command exits.',
  )
}
