import { z } from 'zod'
import { StratumError } from '../errors.js'

/**
 * Counts the tokens of a text for one model family. `name` says which (`o200k_base`,
 * `claude`, your own): stored with every count, so counts made by another counter are
 * recounted rather than trusted. `count` must be pure and synchronous, and must not throw
 * on any string (special-token markers such as `<|endoftext|>` are ordinary text).
 */
export interface TokenCounter {
  readonly name: string
  count(text: string): number
}

/** The name stored with counts of the default counter: OpenAI's current encoding. */
export const DEFAULT_TOKEN_COUNTER_NAME = 'o200k_base'

/** A {@link TokenCounter} given as an option: a name of 1 to 64 safe characters and a count. */
export const tokenCounterField = z.custom<TokenCounter>(
  (v) =>
    typeof v === 'object' &&
    v !== null &&
    typeof (v as TokenCounter).count === 'function' &&
    typeof (v as TokenCounter).name === 'string' &&
    /^[\w.:/@-]{1,64}$/.test((v as TokenCounter).name),
  'must be { name, count(text) }, the name 1 to 64 letters, digits or . : / @ _ -',
)

/** The `tokens` options of `createDataLayer()`. */
export const tokensSchema = z
  .object({
    /**
     * The counter of message parts (default: `o200k_base`, the encoding of OpenAI's current
     * models, counted in-process by gpt-tokenizer, no network).
     */
    counter: tokenCounterField.optional(),
  })
  .strict()
  .default({})

/** The resolved `tokens` options. */
export type TokensOptions = z.output<typeof tokensSchema>

let defaultCounter: Promise<TokenCounter> | undefined

/** gpt-tokenizer's o200k_base, loaded on first use (its tables are a few MB). */
function loadDefaultCounter(): Promise<TokenCounter> {
  defaultCounter ??= import('gpt-tokenizer/encoding/o200k_base').then(({ countTokens }) => {
    // Special tokens in a user's text are text: never refused, never given their meaning.
    const ordinary = { disallowedSpecial: new Set<string>(), allowedSpecial: new Set<string>() }
    return {
      name: DEFAULT_TOKEN_COUNTER_NAME,
      count: (text: string) => countTokens(text, ordinary),
    }
  })
  return defaultCounter
}

/**
 * The layer's counter: the configured one, checked on every count, or the default, loaded
 * when first needed.
 * @internal
 */
export class TokenCounting {
  readonly #configured: TokenCounter | undefined

  constructor(options: TokensOptions) {
    this.#configured = options.counter
  }

  /** The counter's name, without loading anything. */
  get name(): string {
    return this.#configured?.name ?? DEFAULT_TOKEN_COUNTER_NAME
  }

  #checked: Promise<TokenCounter> | undefined

  /** The layer's counter, checked on every count (see {@link checkedCounter}); made once. */
  counter(): Promise<TokenCounter> {
    this.#checked ??= this.#configured
      ? Promise.resolve(checkedCounter(this.#configured))
      : loadDefaultCounter().then(checkedCounter)
    return this.#checked
  }
}

/**
 * `counter` with every count checked: a whole number of at least 0, or `CONFIG` naming the
 * counter and what it returned (a throw is `CONFIG` too, with the error as its cause).
 * @internal
 */
export function checkedCounter(counter: TokenCounter): TokenCounter {
  return {
    name: counter.name,
    count(text) {
      let n: number
      try {
        n = counter.count(text)
      } catch (error) {
        const kind = error instanceof Error ? error.name : typeof error
        throw new StratumError('CONFIG', `tokens.counter "${counter.name}" threw (${kind})`, {
          cause: error,
        })
      }
      if (!Number.isSafeInteger(n) || n < 0) {
        throw new StratumError(
          'CONFIG',
          `tokens.counter "${counter.name}" returned ${String(n)}; a count must be a whole number of at least 0`,
        )
      }
      return n
    },
  }
}
