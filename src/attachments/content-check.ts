import { createHash, type Hash } from 'node:crypto'
import { TextDecoder } from 'node:util'
import { ValidationError } from '../errors.js'

/** Bytes `file-type` needs to recognise every format it knows. */
const SNIFF_BYTES = 4100

/** Types read as text: checked as UTF-8 instead of by their first bytes. */
const TEXT_TYPE =
  /^(text\/[\w.+-]+|application\/(json|x-ndjson|xml|yaml)|[\w.-]+\/[\w.-]+\+(json|xml))$/

/** Names `file-type` reports for a type that is also known by another one. */
const ALIASES: Readonly<Record<string, string>> = {
  'image/jpg': 'image/jpeg',
  'audio/x-wav': 'audio/wav',
  'audio/mp3': 'audio/mpeg',
}

/** A media type without its parameters, lower case: `text/plain; charset=utf-8` is `text/plain`. */
export function mediaTypeEssence(mediaType: string): string {
  const essence = mediaType.split(';')[0]!.trim().toLowerCase()
  return ALIASES[essence] ?? essence
}

/** Whether `essence` is a text type (its bytes must be UTF-8). */
export function isTextType(essence: string): boolean {
  return TEXT_TYPE.test(essence)
}

/** What an upload's bytes turned out to be. */
export interface CheckedContent {
  readonly size: number
  /** SHA-256 of the bytes, hex. */
  readonly sha256: string
}

/** The limits one upload is held to. */
export interface ContentRules {
  readonly maxBytes: number
  /** Check the bytes against the media type (`false`: trust the declared type). */
  readonly verifyContent: boolean
}

/**
 * Checks an upload's bytes as they arrive, so a stream is refused at the first byte too
 * many or the first byte that contradicts its media type, before it is all sent: at most
 * `maxBytes`; a text type valid UTF-8 and not a binary format; any other type recognised
 * from its first bytes (by `file-type`) as what it claims to be. Also hashes the bytes.
 * Each refusal is a `VALIDATION` error on `body`.
 * @internal
 */
export class ContentCheck {
  readonly #rules: ContentRules
  readonly #essence: string
  readonly #context: string
  readonly #hash: Hash = createHash('sha256')
  readonly #decoder: TextDecoder | undefined
  #size = 0
  #head: Buffer[] = []
  #headBytes = 0
  #recognised = false

  constructor(rules: ContentRules, mediaType: string, context: string) {
    this.#rules = rules
    this.#essence = mediaTypeEssence(mediaType)
    this.#context = context
    this.#decoder =
      rules.verifyContent && isTextType(this.#essence)
        ? new TextDecoder('utf-8', { fatal: true })
        : undefined
    if (!rules.verifyContent) this.#recognised = true
  }

  /** Takes the next bytes; throws `VALIDATION` when they break a rule. */
  async write(chunk: Uint8Array): Promise<void> {
    this.#size += chunk.byteLength
    if (this.#size > this.#rules.maxBytes)
      throw this.#refuse(
        `is larger than ${this.#rules.maxBytes} bytes, the most an attachment may have`,
      )
    this.#hash.update(chunk)
    if (!this.#recognised) {
      this.#head.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength))
      this.#headBytes += chunk.byteLength
    }
    await this.#utf8(() => this.#decoder?.decode(chunk, { stream: true }))
    if (!this.#recognised && this.#headBytes >= SNIFF_BYTES) await this.#recognise()
  }

  /** Ends the bytes; throws `VALIDATION` when what came breaks a rule. */
  async end(): Promise<CheckedContent> {
    if (this.#size === 0) throw this.#refuse('is empty; an attachment has at least one byte')
    if (!this.#recognised) await this.#recognise()
    await this.#utf8(() => this.#decoder?.decode())
    return { size: this.#size, sha256: this.#hash.digest('hex') }
  }

  async #recognise(): Promise<void> {
    this.#recognised = true
    const head = Buffer.concat(this.#head)
    this.#head = []
    if (head.byteLength === 0) return
    const { fileTypeFromBuffer } = await import('file-type')
    const found = await fileTypeFromBuffer(head)
    const detected = found ? mediaTypeEssence(found.mime) : undefined
    if (this.#decoder) {
      if (detected && !isTextType(detected))
        throw this.#refuse(`holds ${detected} content, not ${this.#essence}`)
      return
    }
    if (detected === undefined)
      throw this.#refuse(
        `is not recognisable as ${this.#essence}; upload it with its real media type`,
      )
    if (detected !== this.#essence)
      throw this.#refuse(`holds ${detected} content, not ${this.#essence}`)
  }

  async #utf8(decode: () => void): Promise<void> {
    try {
      decode()
    } catch {
      // A binary format says more about the mistake than its first invalid byte does.
      if (!this.#recognised) await this.#recognise()
      throw this.#refuse(`is not valid UTF-8, which ${this.#essence} must be`)
    }
  }

  #refuse(message: string): ValidationError {
    return new ValidationError(this.#context, [{ path: 'body', message }])
  }
}
