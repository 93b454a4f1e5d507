import type { MessagePart } from '../schema/message-parts.js'
import type { TokenCounter } from './token-counter.js'

/** A message's token counts: per part (a plain-text message is one text part), and their sum. */
export interface MessageTokens {
  /** The counter that made them (`TokenCounter.name`). */
  readonly counter: string
  readonly parts: number[]
  readonly total: number
}

const json = (value: unknown) => (value === undefined ? '' : JSON.stringify(value))

/**
 * The text of a part as a model is given it. Sources and step boundaries are not sent (the
 * AI SDK's `convertToModelMessages` leaves them out); a file's bytes are not text, so only
 * its name and type count here (the context builder adds a cost per file); data parts are
 * sent only when the application converts them, and count as their JSON so that they fit
 * when it does.
 */
export function modelTextOfPart(part: MessagePart): string {
  switch (part.type) {
    case 'text':
    case 'reasoning':
      return part.text
    case 'tool':
      return [
        part.toolName,
        json(part.input),
        part.output === undefined ? '' : json(part.output),
        part.errorText ?? '',
        part.approval?.reason ?? '',
      ].join('\n')
    case 'file':
      return [part.filename ?? '', part.mediaType].join('\n')
    case 'data':
      return json(part.data)
    case 'unknown':
      return json(part.original)
    case 'source-url':
    case 'source-document':
    case 'step-start':
      return ''
  }
}

/** Counts a message's parts, or its content when it has none. */
export function countMessageTokens(
  message: { readonly parts?: readonly MessagePart[] | null; readonly content: string },
  counter: TokenCounter,
): MessageTokens {
  const parts = message.parts
    ? message.parts.map((part) => {
        const text = modelTextOfPart(part)
        return text === '' ? 0 : counter.count(text)
      })
    : [message.content === '' ? 0 : counter.count(message.content)]
  return { counter: counter.name, parts, total: parts.reduce((sum, n) => sum + n, 0) }
}
