import { z } from 'zod'
import { textField } from '../schema/fields.js'
import { MAX_PART_FIELD_LENGTH } from '../schema/message-parts.js'
import type { ReplyStreamOptions } from './reply-stream.js'

/** Options of `startReply`. */
export interface StartReplyOptions extends ReplyStreamOptions {
  /** The reply's AI SDK id (default: a new UUIDv7, which is then its row id too). */
  id?: string
  /** The AI SDK id of the message this reply answers (default: the chat's active message). */
  parentId?: string
  /** The model writing it, when known at the start. */
  model?: string
  /** The reply's metadata (a JSON object). */
  metadata?: Record<string, unknown>
  /** The id of the resumable stream carrying it, kept as the chat's active stream. */
  streamId?: string
}

/** How long a streaming reply may go unwritten before a sweep marks it `interrupted`. */
export const DEFAULT_SWEEP_IDLE_MS = 60_000

/** @internal */
export const startReplySchema = z
  .object({
    id: textField(MAX_PART_FIELD_LENGTH).min(1).optional(),
    parentId: z.string().optional(),
    model: z.string().optional(),
    metadata: z.record(z.string(), z.unknown()).optional(),
    streamId: textField(MAX_PART_FIELD_LENGTH).min(1).optional(),
    flushIntervalMs: z.number().int().min(0).max(60_000).optional(),
    heartbeatMs: z.number().int().min(100).max(600_000).optional(),
  })
  .strict()

/** @internal */
export const sweepSchema = z
  .object({
    idleMs: z
      .number()
      .int()
      .min(1_000)
      .max(7 * 24 * 3_600_000)
      .optional(),
  })
  .strict()
