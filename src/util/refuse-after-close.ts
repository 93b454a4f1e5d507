import { StratumError } from '../errors.js'

/** Still answered after close: `close` is idempotent and `stats` reads counters, as `data.metrics()` does. */
const ALLOWED_AFTER_CLOSE = new Set<PropertyKey>(['close', 'stats'])
/** Methods that return no promise: they throw `CLOSED` instead of rejecting. */
const SYNCHRONOUS = new Set<PropertyKey>(['registerCodec', 'subscribe'])

function failing(error: StratumError): AsyncIterableIterator<never> {
  const iterator: AsyncIterableIterator<never> = {
    next: () => Promise.reject(error),
    [Symbol.asyncIterator]: () => iterator,
  }
  return iterator
}

/**
 * `target` as the data layer hands it out (`data.cache`, `data.blobs`, `data.sessions`):
 * once `isClosed()` is true every method call fails with `CLOSED`, as every other call on
 * a closed layer does: async methods reject, async iterators fail on their first step,
 * the few synchronous ones throw. `close` and `stats` still work. The library's own code uses
 * the unwrapped object, so its hot paths pay nothing for this.
 * @internal
 */
export function refuseAfterClose<T extends object>(
  target: T,
  label: string,
  isClosed: () => boolean,
): T {
  const wrapped = new Map<PropertyKey, unknown>()
  return new Proxy(target, {
    get(object, property) {
      const value = Reflect.get(object, property, object)
      if (typeof value !== 'function' || property === 'constructor') return value
      let method = wrapped.get(property)
      if (!method) {
        const name = `${label}.${String(property)}`
        method = (...args: unknown[]) => {
          if (isClosed() && !ALLOWED_AFTER_CLOSE.has(property)) {
            const error = new StratumError('CLOSED', `${name} was called after data.close()`)
            if (SYNCHRONOUS.has(property)) throw error
            if (value.constructor.name === 'AsyncGeneratorFunction') return failing(error)
            return Promise.reject(error)
          }
          return value.apply(object, args)
        }
        wrapped.set(property, method)
      }
      return method
    },
  })
}
