/** Throughput of one operation run by `concurrency` loops for `durationMs`. */
export interface Throughput {
  readonly ops: number
  readonly seconds: number
  readonly opsPerSecond: number
}

/**
 * Runs `operation` in `concurrency` parallel loops until `durationMs` has passed and
 * counts completions. Each loop gets its own iteration counter.
 */
export async function measureThroughput(
  operation: (iteration: number) => Promise<unknown>,
  options: { concurrency: number; durationMs: number },
): Promise<Throughput> {
  const started = performance.now()
  const deadline = started + options.durationMs
  let ops = 0
  await Promise.all(
    Array.from({ length: options.concurrency }, async (_, loop) => {
      let i = loop
      while (performance.now() < deadline) {
        await operation(i)
        i += options.concurrency
        ops++
      }
    }),
  )
  const seconds = (performance.now() - started) / 1000
  return { ops, seconds, opsPerSecond: ops / seconds }
}

/** Formats a number of operations per second. */
export function formatRate(opsPerSecond: number): string {
  return `${Math.round(opsPerSecond).toLocaleString('en-US')} ops/s`
}

/** Prints rows as an aligned table. */
export function printTable(header: string[], rows: string[][]): void {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]?.length ?? 0)))
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ')
  console.log(line(header))
  console.log(widths.map((w) => '-'.repeat(w)).join('  '))
  for (const row of rows) console.log(line(row))
}
