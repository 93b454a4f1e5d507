import { z } from 'zod'
import { jsonValueField, MAX_CONTENT_LENGTH, textField } from './fields.js'
import type { JsonObject, JsonValue } from './json-value.js'

/** Most parts one message may have. */
export const MAX_MESSAGE_PARTS = 4096
/** Largest message, all its parts together, in characters of their JSON text. */
export const MAX_PARTS_JSON_LENGTH = 4 * 1024 * 1024
/** Longest id, name, URL or media type in a part, in characters. */
export const MAX_PART_FIELD_LENGTH = 8192

/** Where a text or reasoning part is: still arriving, or complete. */
export type PartState = 'streaming' | 'done'

/** The life of a tool call, as the AI SDK names its states. */
export const TOOL_STATES = [
  'input-streaming',
  'input-available',
  'approval-requested',
  'approval-responded',
  'output-available',
  'output-error',
  'output-denied',
] as const
/** One of {@link TOOL_STATES}. */
export type ToolState = (typeof TOOL_STATES)[number]

/**
 * Fields of the AI SDK's part that this library does not model (for example `citations` on
 * text, `toolMetadata` on a tool call), kept as they came and given back on the way out.
 */
interface WithExtra {
  readonly extra?: JsonObject
}

/** Text the model or the user wrote. */
export interface TextPart extends WithExtra {
  readonly type: 'text'
  readonly text: string
  readonly state?: PartState
  readonly providerMetadata?: JsonObject
}

/** The model's reasoning, shown apart from its answer. */
export interface ReasoningPart extends WithExtra {
  readonly type: 'reasoning'
  readonly text: string
  readonly state?: PartState
  readonly providerMetadata?: JsonObject
}

/** A tool's approval: asked for (`approved` unset) or answered. */
export interface ToolApproval extends WithExtra {
  readonly id: string
  readonly approved?: boolean
  readonly reason?: string
}

/**
 * A tool call in any state: a static tool (the SDK's `tool-<name>` parts) or a dynamic one
 * (`dynamic-tool`, whose tools are known only at run time).
 */
export interface ToolPart extends WithExtra {
  readonly type: 'tool'
  readonly toolName: string
  readonly dynamic: boolean
  readonly toolCallId: string
  readonly state: ToolState
  readonly title?: string
  readonly input?: JsonValue
  readonly output?: JsonValue
  readonly errorText?: string
  readonly approval?: ToolApproval
  readonly providerExecuted?: boolean
  readonly callProviderMetadata?: JsonObject
}

/**
 * A file: an image, a PDF, any media type. Either by `url` (a data: URL, or a link), or by
 * `attachmentId`, an upload in the layer's blob store (`data.attachments.upload`) whose URL is
 * made anew on every read: exactly one of the two.
 */
export interface FilePart extends WithExtra {
  readonly type: 'file'
  readonly mediaType: string
  readonly url?: string
  readonly attachmentId?: string
  readonly filename?: string
  readonly providerMetadata?: JsonObject
}

/** A web source the answer used. */
export interface SourceUrlPart extends WithExtra {
  readonly type: 'source-url'
  readonly sourceId: string
  readonly url: string
  readonly title?: string
  readonly providerMetadata?: JsonObject
}

/** A document the answer used. */
export interface SourceDocumentPart extends WithExtra {
  readonly type: 'source-document'
  readonly sourceId: string
  readonly mediaType: string
  readonly title: string
  readonly filename?: string
  readonly providerMetadata?: JsonObject
}

/** Where one step of a multi-step answer begins. */
export interface StepStartPart extends WithExtra {
  readonly type: 'step-start'
}

/** An application's own data (the SDK's `data-<name>` parts). */
export interface DataPart extends WithExtra {
  readonly type: 'data'
  readonly name: string
  readonly id?: string
  readonly data: JsonValue
}

/**
 * A part of a type this library does not know (one a newer AI SDK added), kept verbatim so
 * that it is given back exactly as it came. It counts as no text.
 */
export interface UnknownPart {
  readonly type: 'unknown'
  readonly original: JsonObject
}

/** One part of a message, in the order the message shows them. */
export type MessagePart =
  | TextPart
  | ReasoningPart
  | ToolPart
  | FilePart
  | SourceUrlPart
  | SourceDocumentPart
  | StepStartPart
  | DataPart
  | UnknownPart

const field = textField(MAX_PART_FIELD_LENGTH)
const nonEmptyField = field.refine((v) => v.length > 0, 'must not be empty')
const content = textField(MAX_CONTENT_LENGTH)

const jsonValue = jsonValueField
const jsonObject = jsonValue.refine(
  (v) => typeof v === 'object' && v !== null && !Array.isArray(v),
  'must be a JSON object',
) as unknown as z.ZodType<JsonObject>

const withExtra = { extra: jsonObject.optional() }
const partState = z.enum(['streaming', 'done']).optional()

/** Text and reasoning parts have the same fields. */
const textLike = <T extends 'text' | 'reasoning'>(type: T) =>
  z
    .object({
      type: z.literal(type),
      text: content,
      state: partState,
      providerMetadata: jsonObject.optional(),
      ...withExtra,
    })
    .strict()

/** Validates one stored part. */
export const messagePartSchema: z.ZodType<MessagePart> = z.discriminatedUnion('type', [
  textLike('text'),
  textLike('reasoning'),
  z
    .object({
      type: z.literal('tool'),
      toolName: nonEmptyField,
      dynamic: z.boolean(),
      toolCallId: nonEmptyField,
      state: z.enum(TOOL_STATES),
      title: field.optional(),
      input: jsonValue.optional(),
      output: jsonValue.optional(),
      errorText: content.optional(),
      approval: z
        .object({
          id: nonEmptyField,
          approved: z.boolean().optional(),
          reason: content.optional(),
          ...withExtra,
        })
        .strict()
        .optional(),
      providerExecuted: z.boolean().optional(),
      callProviderMetadata: jsonObject.optional(),
      ...withExtra,
    })
    .strict(),
  z
    .object({
      type: z.literal('file'),
      mediaType: nonEmptyField,
      // data: URLs carry the file itself, so they may be as long as message content.
      url: content.refine((v) => v.length > 0, 'must not be empty').optional(),
      attachmentId: z.uuid('must be the id of an attachment (a UUID)').optional(),
      filename: field.optional(),
      providerMetadata: jsonObject.optional(),
      ...withExtra,
    })
    .strict()
    .refine((part) => (part.url === undefined) !== (part.attachmentId === undefined), {
      message: 'must have either a url or an attachmentId',
      path: ['url'],
    })
    // On the way out the attachment's id joins providerMetadata, so an empty one could not
    // be told from none on the way back.
    .refine(
      (part) =>
        part.attachmentId === undefined ||
        part.providerMetadata === undefined ||
        Object.keys(part.providerMetadata).length > 0,
      {
        message: 'must be left out rather than empty on a file part of an attachment',
        path: ['providerMetadata'],
      },
    ),
  z
    .object({
      type: z.literal('source-url'),
      sourceId: nonEmptyField,
      url: nonEmptyField,
      title: field.optional(),
      providerMetadata: jsonObject.optional(),
      ...withExtra,
    })
    .strict(),
  z
    .object({
      type: z.literal('source-document'),
      sourceId: nonEmptyField,
      mediaType: nonEmptyField,
      title: field,
      filename: field.optional(),
      providerMetadata: jsonObject.optional(),
      ...withExtra,
    })
    .strict(),
  z.object({ type: z.literal('step-start'), ...withExtra }).strict(),
  z
    .object({
      type: z.literal('data'),
      name: nonEmptyField,
      id: field.optional(),
      data: jsonValue,
      ...withExtra,
    })
    .strict(),
  z.object({ type: z.literal('unknown'), original: jsonObject }).strict(),
]) as unknown as z.ZodType<MessagePart>

/** Validates the parts of one message: at most {@link MAX_MESSAGE_PARTS}, within the size limit. */
export const messagePartsSchema = z
  .array(messagePartSchema)
  .max(MAX_MESSAGE_PARTS)
  .superRefine((parts, ctx) => {
    let length: number
    try {
      length = JSON.stringify(parts).length
    } catch {
      return // nesting too deep for JSON.stringify: already an issue of its part (depth limit)
    }
    if (length > MAX_PARTS_JSON_LENGTH) {
      ctx.addIssue({
        code: 'custom',
        message: `must be at most ${MAX_PARTS_JSON_LENGTH} characters as JSON altogether`,
      })
    }
  })

/**
 * The plain text of a message for full-text search and embeddings: its text parts, in
 * order, one paragraph each. Reasoning, tool calls and files are not part of it.
 */
export function messagePartsText(parts: readonly MessagePart[]): string {
  return parts
    .filter((part): part is TextPart => part.type === 'text')
    .map((part) => part.text)
    .join('\n\n')
}
