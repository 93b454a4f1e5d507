/** A pino-compatible logger: `warn(object, message)` is all the library calls. */
export interface Logger {
  debug?(object: Record<string, unknown>, message?: string): void
  info?(object: Record<string, unknown>, message?: string): void
  warn(object: Record<string, unknown>, message?: string): void
  error?(object: Record<string, unknown>, message?: string): void
}

/** Upper bounds (ms) of the query latency histogram, as Prometheus buckets. */
export const LATENCY_BUCKETS_MS = [
  1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10_000,
] as const

/** Query counters and a latency histogram, in a shape that maps onto OpenTelemetry or Prometheus. */
export interface QueryMetrics {
  /** False when the pool or PGlite instance was passed in by the caller (not instrumented). */
  readonly instrumented: boolean
  readonly total: number
  readonly errors: number
  /** Queries at or over `slowThresholdMs`. */
  readonly slow: number
  readonly slowThresholdMs: number
  /** Cumulative buckets (`le` in ms, the last `+Inf`), their sum and count. */
  readonly durationMs: {
    readonly buckets: readonly { readonly le: number | '+Inf'; readonly count: number }[]
    readonly sum: number
    readonly count: number
  }
}

const MAX_LOGGED_SQL = 2000

/** SQL with its string literals blanked, for logs: values never leave the process. */
function redactLiterals(text: string): string {
  const blanked = text.replace(/'(?:[^']|'')*'/g, "'?'")
  return blanked.length > MAX_LOGGED_SQL ? `${blanked.slice(0, MAX_LOGGED_SQL)}…` : blanked
}

/**
 * Times every query of the connections it is attached to: counts, errors, a latency
 * histogram, and a warning through the logger for each query slower than the threshold,
 * with string literals blanked and parameters reduced to their count.
 * @internal
 */
export class QueryObserver {
  readonly #slowMs: number
  readonly #logger: Logger | undefined
  readonly #buckets = new Array<number>(LATENCY_BUCKETS_MS.length + 1).fill(0)
  #total = 0
  #errors = 0
  #slow = 0
  #sum = 0
  #instrumented = false

  constructor(options: { slowQueryMs: number; logger?: Logger | undefined }) {
    this.#slowMs = options.slowQueryMs
    this.#logger = options.logger
  }

  /** Marks that at least one connection reports here. */
  attached(): void {
    this.#instrumented = true
  }

  /** Records one finished query; its arguments are only looked at when it was slow. */
  record(args: readonly unknown[], started: number, failed: boolean): void {
    const ms = performance.now() - started
    this.#total += 1
    this.#sum += ms
    if (failed) this.#errors += 1
    let i = 0
    while (i < LATENCY_BUCKETS_MS.length && ms > LATENCY_BUCKETS_MS[i]!) i++
    this.#buckets[i]! += 1
    if (this.#slowMs > 0 && ms >= this.#slowMs) {
      this.#slow += 1
      const { text, params: paramCount } = describeQuery(args)
      this.#logger?.warn(
        {
          durationMs: Math.round(ms * 10) / 10,
          sql: redactLiterals(text ?? '(unknown)'),
          params: `${paramCount} redacted`,
          failed,
        },
        'stratum-data: slow query',
      )
    }
  }

  /**
   * Times `result` (a query's promise) and returns it unchanged. Only promises are timed;
   * anything else (a COPY stream, a callback query) passes through.
   */
  time<T>(args: readonly unknown[], started: number, result: T): T {
    if (!(result instanceof Promise)) return result
    result.then(
      () => this.record(args, started, false),
      () => this.record(args, started, true),
    )
    return result
  }

  metrics(): QueryMetrics {
    let cumulative = 0
    const buckets = this.#buckets.map((count, i) => {
      cumulative += count
      return {
        le: i < LATENCY_BUCKETS_MS.length ? LATENCY_BUCKETS_MS[i]! : ('+Inf' as const),
        count: cumulative,
      }
    })
    return {
      instrumented: this.#instrumented,
      total: this.#total,
      errors: this.#errors,
      slow: this.#slow,
      slowThresholdMs: this.#slowMs,
      durationMs: { buckets, sum: Math.round(this.#sum * 1000) / 1000, count: this.#total },
    }
  }
}

/** The SQL text and parameter count of a `query(...)` call's arguments (string or config). */
export function describeQuery(args: readonly unknown[]): {
  text: string | undefined
  params: number
} {
  const first = args[0] as { text?: string; values?: unknown[] } | string | undefined
  if (typeof first === 'string')
    return { text: first, params: Array.isArray(args[1]) ? args[1].length : 0 }
  return {
    text: first?.text,
    params: Array.isArray(first?.values)
      ? first.values.length
      : Array.isArray(args[1])
        ? args[1].length
        : 0,
  }
}

/**
 * Replaces `target.query` (and any other listed method) with one that times each call.
 * @internal
 */
export function instrument(
  target: object,
  methods: readonly string[],
  observer: QueryObserver,
): void {
  for (const method of methods) {
    const original = (target as Record<string, unknown>)[method]
    if (typeof original !== 'function') continue
    ;(target as Record<string, unknown>)[method] = function (this: unknown, ...args: unknown[]) {
      const started = performance.now()
      return observer.time(
        args,
        started,
        (original as (...a: unknown[]) => unknown).apply(this, args),
      )
    }
  }
  observer.attached()
}
