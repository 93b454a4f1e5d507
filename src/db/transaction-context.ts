import { AsyncLocalStorage } from 'node:async_hooks'
import { StratumError } from '../errors.js'

interface ActiveTransaction {
  readonly owner: object
}

const activeTransaction = new AsyncLocalStorage<ActiveTransaction>()

/**
 * Runs `fn` marked as inside a transaction of `owner` (a database connection).
 * @internal
 */
export function runInTransactionContext<T>(owner: object, fn: () => Promise<T>): Promise<T> {
  return activeTransaction.run({ owner }, fn)
}

/**
 * Throws `TRANSACTION_MISUSE` when the caller is inside a transaction of `owner` but is
 * using the outer handle. On PGlite that call would wait for the transaction forever; on
 * a server it would silently run outside the transaction.
 * @internal
 */
export function assertOutsideTransaction(owner: object, what: string): void {
  if (activeTransaction.getStore()?.owner === owner) {
    throw new StratumError(
      'TRANSACTION_MISUSE',
      `${what} was called on the outer data layer inside data.transaction(); ` +
        'use the transaction handle passed to your callback (tx.users, tx.db, ...) instead',
    )
  }
}

/**
 * Wraps a driver client so that calling its query methods from inside one of its own
 * transactions throws instead of deadlocking (PGlite) or escaping the transaction (pg).
 * @internal
 */
export function guardClient<T extends object>(
  client: T,
  owner: object,
  methods: readonly string[],
): T {
  const guarded = new Set(methods)
  return new Proxy(client, {
    get(target, property, _receiver) {
      const value = Reflect.get(target, property, target)
      if (typeof value !== 'function') return value
      if (typeof property === 'string' && guarded.has(property)) {
        return (...args: unknown[]) => {
          assertOutsideTransaction(owner, `db.${property}()`)
          return value.apply(target, args)
        }
      }
      return value.bind(target)
    },
  })
}
