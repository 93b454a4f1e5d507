/**
 * Opens after `failureThreshold` backend failures in a row; while open (for `cooldownMs`)
 * the cache skips the backend. Any success closes it.
 */
export class CircuitBreaker {
  readonly #failureThreshold: number
  readonly #cooldownMs: number
  #consecutiveFailures = 0
  #openUntil = 0

  constructor(settings: { failureThreshold: number; cooldownMs: number }) {
    this.#failureThreshold = settings.failureThreshold
    this.#cooldownMs = settings.cooldownMs
  }

  /** Whether calls should skip the backend now. */
  get open(): boolean {
    return this.#openUntil > 0 && performance.now() < this.#openUntil
  }

  /** Whether it has opened since the last success (the cooldown may be over). */
  get tripped(): boolean {
    return this.#openUntil > 0
  }

  succeeded(): void {
    this.#consecutiveFailures = 0
    this.#openUntil = 0
  }

  /** Records a failure; true when this one opened the circuit. */
  failed(): boolean {
    this.#consecutiveFailures++
    if (this.#consecutiveFailures < this.#failureThreshold) return false
    this.#openUntil = performance.now() + this.#cooldownMs
    return true
  }
}
