/**
 * Hooks for the project's own tests and bench, never an option and not exported from the
 * package: `fencing: false` fills without fence checks (the classic race comes back), and
 * `beforeFill` runs between the source read and the fill. A data layer takes them from its
 * options object under {@link CACHE_TEST_HOOKS}, a symbol no options schema sees.
 * @internal
 */
export interface CacheTestHooks {
  readonly fencing?: boolean
  readonly beforeFill?: (key: string) => Promise<void>
}

/** The options key of {@link CacheTestHooks}. @internal */
export const CACHE_TEST_HOOKS: unique symbol = Symbol('stratum-data.cacheTestHooks')
