import { isStratumError } from '../errors.js'

/**
 * Exit codes of `stratum`, stable for scripts:
 * 0 success (healthy), 1 the operation failed, 2 bad usage or configuration,
 * 3 health degraded (the database serves; the cache or blob store is down), 4 health down.
 */
export const EXIT = { ok: 0, failed: 1, usage: 2, degraded: 3, down: 4 } as const

/** How a command prints: a human summary, or one JSON document for machines. */
export interface Output {
  readonly json: boolean
  /** Prints `value` as JSON, or `human(value)` as lines of text. */
  result<T>(value: T, human: (value: T) => string[]): void
  /** A line of progress or commentary, on stderr (never mixed into JSON on stdout). */
  note(line: string): void
}

/** The output of one run. @internal */
export function createOutput(json: boolean): Output {
  return {
    json,
    result(value, human) {
      if (json) process.stdout.write(`${JSON.stringify(value, null, 2)}\n`)
      else for (const line of human(value)) process.stdout.write(`${line}\n`)
    },
    note(line) {
      if (!json) process.stderr.write(`${line}\n`)
    },
  }
}

/** Prints an error the way the output wants it; returns the exit code it deserves. @internal */
export function reportError(output: Output, error: unknown): number {
  const code = isStratumError(error) ? error.code : 'ERROR'
  const message = error instanceof Error ? error.message : String(error)
  if (output.json)
    process.stdout.write(`${JSON.stringify({ error: { code, message } }, null, 2)}\n`)
  else process.stderr.write(`stratum: ${code}: ${message}\n`)
  return code === 'CONFIG' || code === 'VALIDATION' ? EXIT.usage : EXIT.failed
}
