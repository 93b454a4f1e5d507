import { ValidationError } from '../errors.js'
import { clip } from '../util/clip.js'
import { encodeValue } from './serializer.js'
import type { ValueCodec } from './value-codec.js'

/** `ttlMs`, or `fallback` when it is not given; `VALIDATION` unless a positive number. */
export function checkedTtl(ttlMs: number | undefined, fallback: number, context: string): number {
  const ttl = ttlMs ?? fallback
  if (!Number.isFinite(ttl) || ttl <= 0) {
    throw new ValidationError(context, [
      { path: 'ttlMs', message: 'must be a positive number of milliseconds' },
    ])
  }
  return ttl
}

/**
 * The stored bytes of `value`, or `VALIDATION` when it cannot be serialized (the
 * serializer's error is the `cause`) or is larger than `maxValueBytes`.
 */
export function encodeWithin(
  key: string,
  value: unknown,
  codec: ValueCodec | undefined,
  maxValueBytes: number,
): Buffer {
  let bytes: Buffer
  try {
    bytes = encodeValue(value, codec)
  } catch (error) {
    throw new ValidationError(
      `cache value for ${clip(key)}`,
      [{ path: 'value', message: `cannot be serialized (${clip((error as Error).message)})` }],
      { cause: error },
    )
  }
  if (bytes.byteLength > maxValueBytes) {
    throw new ValidationError(`cache value for ${clip(key)}`, [
      {
        path: 'value',
        message: `is ${bytes.byteLength} bytes, over the limit of ${maxValueBytes} (maxValueBytes)`,
      },
    ])
  }
  return bytes
}
