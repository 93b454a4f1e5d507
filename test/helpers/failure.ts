import type { StratumError, ValidationIssue } from '../../src/index.js'

/** The error `run` rejects with (with its issues when it is `VALIDATION`); fails the test if it resolves. */
export async function failure(
  run: () => Promise<unknown>,
): Promise<StratumError & { issues?: readonly ValidationIssue[] }> {
  try {
    await run()
  } catch (error) {
    return error as StratumError
  }
  throw new Error('expected an error')
}
