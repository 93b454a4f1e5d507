import type { ChatNote } from '../schema/chat-notes.js'
import { type BuiltContext, ContextBuilder, type ContextBuilderParts } from './context-builder.js'
import type { BuildContextOptions } from './context-options.js'
import type { ContextUIMessage } from './message-cost.js'
import { type ChatOfUser, type PinNoteOptions, PinnedNotes } from './pinned-notes.js'
import { type SummarizeResult, Summarizer } from './summarizer.js'
import type { SummarizeOptions } from './summary-options.js'

/**
 * What a model sees of a chat: `build` assembles the next turn's context within a token
 * budget, from the instructions, the pinned notes (`pin`), the rolling summary
 * (`summarize`), relevant older messages and the recent ones.
 *
 * @example
 * ```ts
 * await data.context.pin({ chatId, userId, content: 'Answer in metric units.' })
 * const context = await data.context.build({ chatId, userId, budget: 8000, system: 'Be brief.' })
 * ```
 */
export class ChatContext {
  readonly #builder: ContextBuilder
  readonly #summarizer: Summarizer
  readonly #notes: PinnedNotes

  /** @internal */
  constructor(parts: ContextBuilderParts) {
    this.#builder = new ContextBuilder(parts)
    this.#summarizer = new Summarizer(parts.context)
    this.#notes = new PinnedNotes(parts.context)
  }

  /** {@inheritDoc ContextBuilder.build} */
  build<M = ContextUIMessage>(options: BuildContextOptions): Promise<BuiltContext<M>> {
    return this.#builder.build<M>(options)
  }

  /** {@inheritDoc Summarizer.summarize} */
  summarize<M = ContextUIMessage>(options: SummarizeOptions<M>): Promise<SummarizeResult> {
    return this.#summarizer.summarize<M>(options)
  }

  /** {@inheritDoc PinnedNotes.pin} */
  pin(options: PinNoteOptions): Promise<ChatNote> {
    return this.#notes.pin(options)
  }

  /** {@inheritDoc PinnedNotes.unpin} */
  unpin(options: ChatOfUser & { noteId: string }): Promise<boolean> {
    return this.#notes.unpin(options)
  }

  /** {@inheritDoc PinnedNotes.notes} */
  notes(options: ChatOfUser): Promise<ChatNote[]> {
    return this.#notes.notes(options)
  }
}
