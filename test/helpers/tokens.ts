import { countTokens } from 'gpt-tokenizer/encoding/o200k_base'

const ordinary = { disallowedSpecial: new Set<string>(), allowedSpecial: new Set<string>() }

/**
 * The o200k_base count of `text` straight from gpt-tokenizer (special-token markers as
 * text), independently of the library's counter.
 */
export const o200k = (text: string): number => (text === '' ? 0 : countTokens(text, ordinary))
