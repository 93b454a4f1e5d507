import type { TokenCounter } from '../tokens/token-counter.js'

const NOTES_HEADER = 'Pinned notes:'
const SUMMARY_HEADER = 'Summary of the conversation before the messages below:'
const RELEVANT_HEADER = 'Relevant earlier messages:'

/**
 * The system text of a built context, in the order a model reads it: the instructions, the
 * pinned notes, the summary, then the relevant earlier messages. Each `with…` returns a new
 * text, so the builder can cost an addition before it keeps it.
 * @internal
 */
export class SystemText {
  constructor(
    readonly instructions: string,
    readonly notes: readonly string[] = [],
    readonly summary: string | undefined = undefined,
    readonly relevant: readonly string[] = [],
  ) {}

  withNote(note: string): SystemText {
    return new SystemText(this.instructions, [...this.notes, note], this.summary, this.relevant)
  }

  withSummary(summary: string): SystemText {
    return new SystemText(this.instructions, this.notes, summary, this.relevant)
  }

  withRelevant(content: string): SystemText {
    const line = content.replace(/\s+/g, ' ').trim()
    return new SystemText(this.instructions, this.notes, this.summary, [...this.relevant, line])
  }

  toString(): string {
    const sections = [this.instructions]
    if (this.notes.length > 0) {
      sections.push([NOTES_HEADER, ...this.notes.map((note) => `- ${note}`)].join('\n'))
    }
    if (this.summary !== undefined) sections.push(`${SUMMARY_HEADER}\n${this.summary}`)
    if (this.relevant.length > 0) {
      sections.push([RELEVANT_HEADER, ...this.relevant.map((line) => `- ${line}`)].join('\n'))
    }
    return sections.filter((section) => section !== '').join('\n\n')
  }

  /** Its tokens as one system message: its count and the message overhead; 0 when empty. */
  cost(counter: TokenCounter, overhead: number): number {
    const text = this.toString()
    return text === '' ? 0 : counter.count(text) + overhead
  }
}
