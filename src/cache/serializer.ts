import { deserialize, serialize } from 'node:v8'
import type { ValueCodec } from './value-codec.js'

const V8 = 0x01
const CODEC = 0x02

/**
 * Serializes a value for the cache. Without a codec: Node's structured clone (V8's
 * serializer), which keeps Date, bigint, Buffer, Uint8Array, Map, Set, null and nested
 * objects as they are, and refuses functions and symbols. With a codec: the codec's JSON
 * text, tagged with its id. A leading format byte tells the two apart.
 * @internal
 */
export function encodeValue(value: unknown, codec?: ValueCodec): Buffer {
  if (codec) {
    const id = Buffer.from(codec.id)
    const text = codec.encode(value)
    const out = Buffer.allocUnsafe(2 + id.length + Buffer.byteLength(text))
    out[0] = CODEC
    out[1] = id.length
    id.copy(out, 2)
    out.write(text, 2 + id.length)
    return out
  }
  const body = serialize(value)
  const out = Buffer.allocUnsafe(body.length + 1)
  out[0] = V8
  body.copy(out, 1)
  return out
}

/** Why a value could not be decoded: unreadable bytes, or a codec this reader lacks. */
export class UndecodableValue extends Error {
  constructor(
    message: string,
    /** True when another writer's codec (say, another deploy's) wrote it: keep it. */
    readonly foreign: boolean,
  ) {
    super(message)
  }
}

/**
 * Reverses {@link encodeValue} with the codecs this reader knows; throws
 * {@link UndecodableValue} otherwise (the caller treats that as a miss). V8's format is
 * read by the same or a newer Node; a fleet mixing Node versions may see misses for values
 * written by the newer one.
 * @internal
 */
export function decodeValue(bytes: Buffer, codecs: ReadonlyMap<string, ValueCodec>): unknown {
  if (bytes[0] === V8) return deserialize(bytes.subarray(1))
  if (bytes[0] === CODEC && bytes.length >= 2) {
    const end = 2 + bytes[1]!
    const id = bytes.toString('utf8', 2, end)
    const codec = codecs.get(id)
    if (!codec) throw new UndecodableValue(`no codec ${id} here`, true)
    return codec.decode(bytes.toString('utf8', end))
  }
  throw new UndecodableValue('unknown cache value format', false)
}
