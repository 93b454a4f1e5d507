import { StratumError } from '../errors.js'

/**
 * `promise`, or a `TIMEOUT` error saying "`what` did not answer within `ms` ms" if it has
 * not settled by then (the promise itself is not cancelled).
 * @internal
 */
export async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new StratumError('TIMEOUT', `${what} did not answer within ${ms} ms`)),
      ms,
    )
  })
  try {
    return await Promise.race([promise, timeout])
  } finally {
    clearTimeout(timer)
  }
}
