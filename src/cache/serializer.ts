import { deserialize, serialize } from 'node:v8'

const FORMAT = 0x01

/**
 * Serializes a value for the cache with Node's structured clone (V8's serializer),
 * which keeps Date, bigint, Buffer, Uint8Array, Map, Set, null and nested objects as they
 * are, and refuses functions and symbols. A leading format byte lets a future format
 * coexist.
 * @internal
 */
export function encodeValue(value: unknown): Buffer {
  const body = serialize(value)
  const out = Buffer.allocUnsafe(body.length + 1)
  out[0] = FORMAT
  body.copy(out, 1)
  return out
}

/**
 * Reverses {@link encodeValue}; throws on bytes it cannot read (the caller treats that as
 * a miss). V8's format is read by the same or a newer Node; a fleet mixing Node versions
 * may see misses for values written by the newer one.
 * @internal
 */
export function decodeValue(bytes: Buffer): unknown {
  if (bytes[0] !== FORMAT) throw new Error('unknown cache value format')
  return deserialize(bytes.subarray(1))
}
