import type { TokenCounter } from '../tokens/token-counter.js'

const NOTES_HEADER = 'Pinned notes:'
const SUMMARY_HEADER = 'Summary of the conversation before the messages below:'
const MEMORIES_HEADER = 'Known about the user:'
const RELEVANT_HEADER = 'Relevant earlier messages:'

/**
 * The system text of a built context, in the order a model reads it: the instructions, the
 * pinned notes, the summary, what is known about the user, then the relevant earlier
 * messages. Each `with…` returns a new
 * text, so the builder can cost an addition before it keeps it.
 * @internal
 */
export class SystemText {
  constructor(
    readonly instructions: string,
    readonly notes: readonly string[] = [],
    readonly summary: string | undefined = undefined,
    readonly relevant: readonly string[] = [],
    readonly memories: readonly string[] = [],
  ) {}

  withNote(note: string): SystemText {
    return this.#with({ notes: [...this.notes, note] })
  }

  withSummary(summary: string): SystemText {
    return this.#with({ summary })
  }

  withMemory(content: string): SystemText {
    return this.#with({ memories: [...this.memories, oneLine(content)] })
  }

  withRelevant(content: string): SystemText {
    return this.#with({ relevant: [...this.relevant, oneLine(content)] })
  }

  #with(change: Partial<Pick<SystemText, 'notes' | 'summary' | 'relevant' | 'memories'>>) {
    const next = { ...this, ...change }
    return new SystemText(this.instructions, next.notes, next.summary, next.relevant, next.memories)
  }

  toString(): string {
    const sections = [this.instructions]
    if (this.notes.length > 0) {
      sections.push([NOTES_HEADER, ...this.notes.map((note) => `- ${note}`)].join('\n'))
    }
    if (this.summary !== undefined) sections.push(`${SUMMARY_HEADER}\n${this.summary}`)
    if (this.memories.length > 0) {
      sections.push([MEMORIES_HEADER, ...this.memories.map((line) => `- ${line}`)].join('\n'))
    }
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

const oneLine = (text: string) => text.replace(/\s+/g, ' ').trim()
