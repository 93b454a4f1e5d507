#!/usr/bin/env node
/**
 * The `stratum` command. Configuration comes from the same environment variables as
 * `createDataLayer.fromEnv()` (DATABASE_URL, REDIS_URL, S3_BUCKET, ...). Exit codes: see
 * `EXIT` in output.ts.
 */
import { Command, CommanderError } from 'commander'
import { optionsFromEnv } from '../config/env-variables.js'
import type { DataLayer } from '../data-layer/types.js'
import { assertPersistentDatabase, loadAppConfig } from './app-config.js'
import type {
  IndexCommandOptions,
  PartitionCommandOptions,
  RolesCommandOptions,
} from './commands.js'
import { createOutput, EXIT, type Output, reportError } from './output.js'

/**
 * The commands and the data layer are loaded by the command that runs, not at start:
 * `--help`, a usage error or a bad option answer without loading Drizzle, Zod or a driver.
 */
type Commands = typeof import('./commands.js')
const loadCommands = (): Promise<Commands> => import('./commands.js')

/** `--config`, read before any command runs. */
let configFile: string | undefined

async function withDataLayer(
  json: boolean,
  run: (data: DataLayer, output: Output) => Promise<number>,
  onOpenFailure?: (error: unknown, output: Output) => number | undefined,
  env: Record<string, string | undefined> = process.env,
): Promise<number> {
  const output = createOutput(json)
  let data: DataLayer | undefined
  try {
    const options = optionsFromEnv(env, await loadAppConfig(configFile ?? env.STRATUM_CONFIG))
    assertPersistentDatabase(options)
    const { createDataLayer } = await import('../data-layer/create-data-layer.js')
    data = await createDataLayer(options)
  } catch (error) {
    return onOpenFailure?.(error, output) ?? reportError(output, error)
  }
  try {
    return await run(data, output)
  } catch (error) {
    return reportError(output, error)
  } finally {
    await data?.close().catch(() => {})
  }
}

function program(setExit: (code: number) => void): Command {
  const root = new Command('stratum')
    .description(
      'Operate a stratum-data database: migrations, health, backups and restores, roles.',
    )
    .option('--json', 'print one JSON document on stdout instead of text')
    .option(
      '--config <file>',
      "the app's options module (default export: createDataLayer options or a function returning them), for its extensions and migration sets; STRATUM_CONFIG also works; its options win over the environment",
    )
    .addHelpText(
      'after',
      '\nConfiguration: the environment variables of createDataLayer.fromEnv() (DATABASE_URL, REDIS_URL, S3_BUCKET, ...), and --config.\n' +
        'A database is required: DATABASE_URL, or STRATUM_DATA_DIR for the embedded one (never an in-memory database).\n' +
        'Exit codes: 0 success, 1 failure, 2 bad usage or configuration, 3 health degraded, 4 health down.',
    )
    .exitOverride()
  const json = () => Boolean(root.opts().json)
  root.hook('preAction', () => {
    configFile = root.opts().config as string | undefined
  })
  const action =
    <A extends unknown[]>(
      run: (commands: Commands, data: DataLayer, output: Output, ...args: A) => Promise<number>,
      onOpenFailure?: (
        commands: Commands,
      ) => (error: unknown, output: Output) => number | undefined,
    ) =>
    async (...args: A) => {
      const commands = await loadCommands()
      setExit(
        await withDataLayer(
          json(),
          (data, output) => run(commands, data, output, ...args),
          onOpenFailure?.(commands),
        ),
      )
    }

  root
    .command('migrate')
    .description('apply pending migrations (safe to run from several processes at once)')
    .option('--dry-run', 'list the pending migrations without applying them')
    .option('--verify', 'back up, apply to a throwaway copy first, then to the real database')
    .action(async (options: { dryRun?: boolean; verify?: boolean }) =>
      action((c, data, output) => c.migrateCommand(data, output, options))(),
    )
  root
    .command('status')
    .description('applied and pending migrations, extension versions, indexes')
    .action(action((c, data, output) => c.statusCommand(data, output)))
  root
    .command('health')
    .description('check the database, cache and blob store (exit 0 ok, 3 degraded, 4 down)')
    .action(
      action(
        (c, data, output) => c.healthCommand(data, output),
        (c) => c.databaseDown,
      ),
    )
  root
    .command('backup')
    .description('back the database up into the blob store, then apply retention')
    .action(action((c, data, output) => c.backupCommand(data, output)))
  root
    .command('backups')
    .description('list the finished backups, newest first')
    .action(action((c, data, output) => c.backupsCommand(data, output)))
  root
    .command('restore')
    .description('restore a backup into a new or empty database (or directory, for PGlite)')
    .argument('<backup>', 'the backup key, as `stratum backups` lists it')
    .option('--into <target>', 'database URL (created if missing) or, for PGlite, a directory')
    .action(async (key: string, options: { into?: string }) =>
      action((c, data, output) => c.restoreCommand(data, output, key, options.into))(),
    )
  root
    .command('index')
    .description(
      'build the vector index on chat_vectors if it is missing (progress bar on a terminal)',
    )
    .option('--type <type>', 'hnsw or ivfflat', 'hnsw')
    .option('--metric <metric>', 'cosine, l2 or inner_product', 'cosine')
    .option('--m <n>', 'HNSW: connections per node')
    .option('--ef-construction <n>', 'HNSW: candidate list while building')
    .option('--lists <n>', 'IVFFlat: number of lists')
    .action(async (options: IndexCommandOptions) =>
      action((c, data, output) => c.indexCommand(data, output, options))(),
    )
  root
    .command('partition')
    .description(
      'split chat_vectors into hash partitions by user_id while applications keep writing',
    )
    .argument('<count>', 'number of partitions (2 to 1024)')
    .option('--batch-size <n>', 'rows copied per statement', '5000')
    .option('--keep-old', 'keep the old table as chat_vectors_unpartitioned')
    .action(async (count: string, options: PartitionCommandOptions) => {
      // The target layout may already be configured; the table is still one table, which a
      // layer configured for partitions refuses to open.
      const configured = process.env.STRATUM_EMBEDDING_PARTITIONS
      const env = { ...process.env, STRATUM_EMBEDDING_PARTITIONS: undefined }
      const { partitionCommand } = await loadCommands()
      setExit(
        await withDataLayer(
          json(),
          (data, output) => partitionCommand(data, output, count, options, configured),
          undefined,
          env,
        ),
      )
    })
  root
    .command('doctor')
    .description(
      'maintenance report: unused indexes, bloat, vacuum, connections, hit ratio, vector indexes',
    )
    .action(action((c, data, output) => c.doctorCommand(data, output)))
  root
    .command('roles')
    .description('print, or with --apply create, an app role (DML only) and a read-only role')
    .option('--apply', 'run the statements (from DATABASE_ADMIN_URL, or DATABASE_URL)')
    .option('--app-role <name>', 'name of the application role', 'stratum_app')
    .option('--readonly-role <name>', 'name of the read-only role', 'stratum_readonly')
    .option('--app-password-env <variable>', 'environment variable holding the app role password')
    .option(
      '--readonly-password-env <variable>',
      'environment variable holding the read-only password',
    )
    .action(async (options: RolesCommandOptions) =>
      action((c, data, output) => c.rolesCommand(data, output, options))(),
    )
  return root
}

let exitCode: number = EXIT.ok
try {
  await program((code) => {
    exitCode = code
  }).parseAsync(process.argv)
} catch (error) {
  if (error instanceof CommanderError) {
    // --help and --version end here with code 0; unknown commands and options with 1.
    exitCode = error.exitCode === 0 ? EXIT.ok : EXIT.usage
  } else {
    exitCode = reportError(createOutput(process.argv.includes('--json')), error)
  }
}
process.exitCode = exitCode
