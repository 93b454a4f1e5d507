import type { StratumError } from '../../src/index.js'

/** The error `run` rejects with; fails the test if it resolves. */
export async function failure(run: () => Promise<unknown>): Promise<StratumError> {
  try {
    await run()
  } catch (error) {
    return error as StratumError
  }
  throw new Error('expected an error')
}
