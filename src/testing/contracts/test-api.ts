/** The matchers the contract suites use; Vitest's and Jest's `expect` both provide them. */
export interface Matchers<R = void> {
  toBe(expected: unknown): R
  toEqual(expected: unknown): R
  toMatchObject(expected: object): R
  toBeInstanceOf(expected: unknown): R
  toMatch(expected: RegExp | string): R
  toBeDefined(): R
  toBeUndefined(): R
  toBeNull(): R
  toBeGreaterThan(expected: number | bigint): R
  toBeGreaterThanOrEqual(expected: number | bigint): R
  toBeLessThan(expected: number | bigint): R
  toBeLessThanOrEqual(expected: number | bigint): R
  toHaveLength(expected: number): R
  toThrow(expected?: unknown): R
  readonly not: Matchers<R>
}

/** What `expect(value)` returns, with the promise forms. */
export interface Assertion extends Matchers {
  readonly rejects: Matchers<Promise<void>>
  readonly resolves: Matchers<Promise<void>>
}

/** A test body; a returned promise is awaited. */
export type TestBody = () => Promise<unknown> | unknown

/**
 * The test runner functions a contract suite needs, passed in so that the suites run
 * under Vitest or Jest alike (this package depends on neither).
 *
 * @example
 * ```ts
 * import { afterAll, beforeAll, describe, expect, it } from 'vitest'
 * const api = { afterAll, beforeAll, describe, expect, it }
 * ```
 */
export interface TestApi {
  describe(name: string, body: () => void): void
  it: {
    (name: string, body: TestBody, timeout?: number): void
    skip(name: string, body: TestBody, timeout?: number): void
  }
  beforeAll(body: TestBody, timeout?: number): void
  afterAll(body: TestBody, timeout?: number): void
  expect(actual: unknown, message?: string): Assertion
}
