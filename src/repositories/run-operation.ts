import type { Executor } from '../db/connection.js'
import { mapDatabaseError } from '../db/map-database-error.js'
import type { RepositoryContext } from './repository-context.js'

/**
 * Runs one named operation: checks the layer is usable, then maps any database error to
 * a `StratumError` at this boundary.
 * @internal
 */
export async function runOperation<R>(
  context: RepositoryContext,
  name: string,
  fn: (executor: Executor) => Promise<R>,
): Promise<R> {
  context.assertUsable(name)
  try {
    return await fn(context.executor)
  } catch (error) {
    throw mapDatabaseError(error, name)
  }
}
