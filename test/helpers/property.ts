import fc from 'fast-check'
import { expect } from 'vitest'
import { isStratumError, type StratumErrorCode } from '../../src/index.js'

/**
 * Every run uses this seed unless `STRATUM_PROPERTY_SEED` is set, so a failure is
 * reproduced by running the same file again; fast-check prints the seed and the shrunk
 * counterexample when a property fails.
 */
export const PROPERTY_SEED = Number(process.env.STRATUM_PROPERTY_SEED ?? 20261202)

/** Bounded runs: enough cases to find the classic traps, few enough for every `npm test`. */
export function propertyOptions(numRuns = 150): fc.Parameters<unknown> {
  // Counterexamples of 384-d embeddings are long: print them cut, with the seed.
  return { seed: PROPERTY_SEED, numRuns, endOnFailure: true, reporter: shortReport }
}

function shortReport(details: fc.RunDetails<unknown>): void {
  if (!details.failed) return
  const example = fc.stringify(details.counterexample).slice(0, 1500)
  throw new Error(
    `Property failed after ${details.numRuns} runs (seed ${details.seed}, path ${details.counterexamplePath}); ` +
      `counterexample (cut): ${example}\n${String(details.errorInstance).slice(0, 1500)}`,
  )
}

/** The codes the README documents: a property test accepts no other. */
export const DOCUMENTED_CODES: ReadonlySet<StratumErrorCode> = new Set<StratumErrorCode>([
  'CONFIG',
  'VALIDATION',
  'NOT_FOUND',
  'CONFLICT',
  'DIMENSION_MISMATCH',
  'INVALID_KEY',
  'UNAVAILABLE',
  'TIMEOUT',
  'SERIALIZATION_FAILURE',
  'TRANSACTION_MISUSE',
  'LOCKED',
  'CLOSED',
  'DATABASE',
  'UNSUPPORTED',
  'ABORTED',
  'STORAGE',
  'INTEGRITY',
  'TLS',
])

/**
 * Runs `call`; returns its value, or the error after checking that it is a StratumError
 * with one of `codes` (default: any documented code but DATABASE, which would mean the
 * input reached SQL unchecked) and a message of bounded length.
 */
export async function settle<T>(
  call: () => Promise<T> | T,
  codes: readonly StratumErrorCode[] = [...DOCUMENTED_CODES].filter((c) => c !== 'DATABASE'),
): Promise<{ ok: true; value: T } | { ok: false; code: StratumErrorCode }> {
  try {
    return { ok: true, value: await call() }
  } catch (error) {
    expect(isStratumError(error), `not a StratumError: ${String(error)}`).toBe(true)
    const stratum = error as { code: StratumErrorCode; message: string }
    expect(codes, stratum.message).toContain(stratum.code)
    expect(stratum.message.length).toBeLessThanOrEqual(2_100)
    return { ok: false, code: stratum.code }
  }
}

/** Any value a careless caller might pass, including objects without a prototype. */
export const anyInput: fc.Arbitrary<unknown> = fc.oneof(
  fc.anything({
    withBigInt: true,
    withDate: true,
    withMap: true,
    withSet: true,
    withNullPrototype: true,
    withTypedArray: true,
    withSparseArray: true,
    withBoxedValues: true,
    withObjectString: true,
  }),
  fc.string({ unit: 'binary' }),
  fc.double(),
)

/** Text with every kind of code unit: NUL, lone surrogates, astral pairs. */
export const anyText = fc.string({ unit: 'binary', maxLength: 40 })
