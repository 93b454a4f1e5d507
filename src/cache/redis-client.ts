/**
 * A ready ioredis client, `Redis` or `Cluster`, described by the members the cache checks
 * for. ioredis is an optional peer: this keeps its types out of the public ones, so a project
 * without it still type-checks without `skipLibCheck`.
 */
export interface RedisClient {
  readonly status: string
  defineCommand(name: string, definition: { lua: string; numberOfKeys?: number }): void
  duplicate(...args: never[]): unknown
}

/** Whether `value` looks like an ioredis client. */
export const isRedisClient = (value: unknown): value is RedisClient =>
  typeof value === 'object' && value !== null && 'defineCommand' in value && 'status' in value
