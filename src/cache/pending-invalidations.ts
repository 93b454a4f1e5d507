/**
 * Keys whose invalidation failed: they bypass the cache until a retry succeeds. One retry
 * of all of them runs every `intervalMs` while any are left.
 */
export class PendingInvalidations {
  readonly #keys = new Set<string>()
  readonly #retry: (keys: string[]) => Promise<void>
  readonly #intervalMs: number
  #timer: NodeJS.Timeout | undefined

  /** `retry` invalidates the keys it is given, or rejects to keep them pending. */
  constructor(retry: (keys: string[]) => Promise<void>, intervalMs: number) {
    this.#retry = retry
    this.#intervalMs = intervalMs
  }

  has(key: string): boolean {
    return this.#keys.has(key)
  }

  get size(): number {
    return this.#keys.size
  }

  /** Keeps `keys` pending and makes sure a retry is coming. */
  add(keys: readonly string[]): void {
    for (const key of keys) this.#keys.add(key)
    this.#schedule()
  }

  /** Stops retrying (on close). */
  stop(): void {
    clearTimeout(this.#timer)
    this.#timer = undefined
  }

  #schedule(): void {
    if (this.#timer) return
    this.#timer = setTimeout(async () => {
      this.#timer = undefined
      const keys = [...this.#keys]
      try {
        await this.#retry(keys)
        for (const key of keys) this.#keys.delete(key)
      } catch {
        // Still unreachable: the keys keep bypassing the cache.
      }
      if (this.#keys.size > 0) this.#schedule()
    }, this.#intervalMs)
    this.#timer.unref()
  }
}
