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

/** The median of some numbers. */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}

/** Result of {@link compareThroughput}: medians over rounds, and the median of per-round ratios. */
export interface Comparison {
  readonly baseline: number
  readonly subject: number
  readonly ratio: number
}

/**
 * Measures `subject` against `baseline` on a shared, noisy machine: both are warmed up,
 * then run in `rounds` back-to-back pairs whose order alternates; the figure is the
 * median of the per-pair ratios, so a slow moment of the machine hits both sides.
 */
export async function compareThroughput(
  baseline: (iteration: number) => Promise<unknown>,
  subject: (iteration: number) => Promise<unknown>,
  options: { concurrency: number; durationMs: number; rounds: number },
): Promise<Comparison> {
  const run = (operation: (iteration: number) => Promise<unknown>) =>
    measureThroughput(operation, {
      concurrency: options.concurrency,
      durationMs: options.durationMs,
    })
  await run(baseline)
  await run(subject)
  const baselines: number[] = []
  const subjects: number[] = []
  const ratios: number[] = []
  for (let round = 0; round < options.rounds; round++) {
    const first = round % 2 === 0 ? baseline : subject
    const second = round % 2 === 0 ? subject : baseline
    const a = (await run(first)).opsPerSecond
    const b = (await run(second)).opsPerSecond
    const [base, subj] = round % 2 === 0 ? [a, b] : [b, a]
    baselines.push(base)
    subjects.push(subj)
    ratios.push(subj / base)
  }
  return { baseline: median(baselines), subject: median(subjects), ratio: median(ratios) }
}

/**
 * {@link compareThroughput} at each concurrency; one table row per level: concurrency,
 * baseline rate, subject rate, ratio.
 */
export async function compareAtConcurrencies(
  baseline: (iteration: number) => Promise<unknown>,
  subject: (iteration: number) => Promise<unknown>,
  options: { levels: readonly number[]; durationMs: number; rounds: number },
): Promise<string[][]> {
  const rows: string[][] = []
  for (const concurrency of options.levels) {
    const result = await compareThroughput(baseline, subject, { ...options, concurrency })
    rows.push([
      String(concurrency),
      formatRate(result.baseline),
      formatRate(result.subject),
      result.ratio.toFixed(2),
    ])
  }
  return rows
}

/**
 * Times one run of `baseline` and one of `subject` per round, in alternating order,
 * after a warm-up of each; rates are `units` per second (for example MiB/s). The ratio
 * is the median of per-round ratios, as in {@link compareThroughput}.
 */
export async function compareRuns(
  baseline: (round: number) => Promise<unknown>,
  subject: (round: number) => Promise<unknown>,
  options: { units: number; rounds: number },
): Promise<Comparison> {
  const rate = async (run: (round: number) => Promise<unknown>, round: number) => {
    const started = performance.now()
    await run(round)
    return options.units / ((performance.now() - started) / 1000)
  }
  await rate(baseline, -1)
  await rate(subject, -1)
  const baselines: number[] = []
  const subjects: number[] = []
  const ratios: number[] = []
  for (let round = 0; round < options.rounds; round++) {
    const baseFirst = round % 2 === 0
    const a = await rate(baseFirst ? baseline : subject, round)
    const b = await rate(baseFirst ? subject : baseline, round)
    const [base, subj] = baseFirst ? [a, b] : [b, a]
    baselines.push(base)
    subjects.push(subj)
    ratios.push(subj / base)
  }
  return { baseline: median(baselines), subject: median(subjects), ratio: median(ratios) }
}
