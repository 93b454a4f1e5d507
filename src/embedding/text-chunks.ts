import type { ChatMessage } from '../schema/chat-messages.js'

/** What a message says, as embedded: its text parts, in order, a blank line apart. */
export function embeddableText(row: Pick<ChatMessage, 'parts' | 'content'>): string {
  if (row.parts === null) return row.content
  return row.parts.flatMap((part) => (part.type === 'text' ? [part.text] : [])).join('\n\n')
}

const sentences = new Intl.Segmenter('und', { granularity: 'sentence' })
const words = new Intl.Segmenter('und', { granularity: 'word' })
const graphemes = new Intl.Segmenter('und', { granularity: 'grapheme' })

/**
 * Cuts `text` into chunks of at most `maxTokens` by `count`, at sentence boundaries where it
 * can, else at word boundaries, else between characters (a 10,000-letter token). Every chunk
 * is an exact piece of the text, in order; together they are the text, less the chunks that
 * are only white space. Empty or blank text has no chunks.
 */
export function chunkText(
  text: string,
  maxTokens: number,
  count: (text: string) => number,
): string[] {
  if (text.trim() === '') return []
  if (count(text) <= maxTokens) return [text]
  const chunks: string[] = []
  let current = ''
  const close = () => {
    if (current.trim() !== '') chunks.push(current)
    current = ''
  }
  const add = (piece: string, finer: readonly Intl.Segmenter[]) => {
    if (count(current + piece) <= maxTokens) {
      current += piece
      return
    }
    close()
    if (count(piece) <= maxTokens) {
      current = piece
      return
    }
    const [next, ...rest] = finer
    // A single character over the limit cannot be cut: it is a chunk of its own.
    if (!next) {
      current = piece
      close()
      return
    }
    for (const { segment } of next.segment(piece)) add(segment, rest)
  }
  for (const { segment } of sentences.segment(text)) add(segment, [words, graphemes])
  close()
  return chunks
}
