import type { DatabaseConnection, Executor } from '../db/connection.js'
import { isLostMidCall, mapDatabaseError, withOutcome } from '../db/map-database-error.js'
import type { RepositoryContext } from './repository-context.js'

/**
 * Runs one named operation on the primary (writes, and reads inside transactions): checks
 * the layer is usable, then maps any database error to a `StratumError` at this boundary.
 * Counts as a write for `readYourWrites()`.
 * @internal
 */
export async function runOperation<R>(
  context: RepositoryContext,
  name: string,
  fn: (executor: Executor) => Promise<R>,
): Promise<R> {
  context.assertUsable(name)
  context.reads?.noteWrite()
  try {
    return await fn(context.executor)
  } catch (error) {
    const mapped = mapDatabaseError(error, name)
    // Inside a transaction the transaction decides (see DatabaseConnection.transaction).
    if (context.inTransaction) return Promise.reject(mapped)
    throw withOutcome(mapped, isLostMidCall(error) ? 'unknown' : 'not-applied')
  }
}

/**
 * Runs one named read: on a replica when replicas are configured and the caller's scope
 * allows it (see `ReadReplicas`), else like {@link runOperation} without counting as a write.
 * @internal
 */
export async function runRead<R>(
  context: RepositoryContext,
  name: string,
  fn: (executor: Executor, connection: DatabaseConnection | undefined) => Promise<R>,
): Promise<R> {
  context.assertUsable(name)
  try {
    const reads = context.reads
    return await (reads
      ? reads.run((connection) => fn(connection.db, connection))
      : fn(context.executor, undefined))
  } catch (error) {
    throw mapDatabaseError(error, name)
  }
}
