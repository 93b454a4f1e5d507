/**
 * A faster encoding for values whose shape is known, such as a table's rows: JSON text
 * plus whatever the codec needs to restore types JSON lacks. A value written with a codec
 * is read back only by a cache that has a codec of the same `id`; any other reader treats
 * it as a miss, so `id` must change whenever the encoding does (for example when the
 * table's columns change).
 */
export interface ValueCodec<T = unknown> {
  /** Names the codec and its layout; at most 255 bytes of UTF-8. */
  readonly id: string
  /** JSON text for `value`; throws if it cannot represent it. */
  encode(value: T): string
  /** The value back from {@link encode}'s text; throws on text it does not recognize. */
  decode(text: string): T
}
