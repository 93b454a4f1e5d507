import { ValidationError, type ValidationIssue } from '../errors.js'
import { formatPath } from '../util/format-path.js'
import { textField } from './fields.js'
import { type JsonObject, type JsonValue, jsonProblem } from './json-value.js'
import { MAX_PART_FIELD_LENGTH, type MessagePart, messagePartsSchema } from './message-parts.js'

/** Who wrote a message, as the AI SDK's `UIMessage` names it. */
export type UIMessageRole = 'system' | 'user' | 'assistant'

/**
 * A message in the shape of the AI SDK's `UIMessage` (the `ai` package): an id, a role,
 * optional metadata and its parts. Structural, so that this library needs no version of the
 * SDK; a `UIMessage` of the SDK is one, and what {@link toUIMessage} returns is one.
 */
export interface UIMessageLike {
  readonly id: string
  readonly role: UIMessageRole
  readonly metadata?: unknown
  readonly parts: readonly unknown[]
}

/** A UI message as this library keeps it: its parts in the library's own schema. */
export interface StoredUIMessage {
  readonly id: string
  readonly role: UIMessageRole
  readonly metadata?: JsonValue
  readonly parts: MessagePart[]
}

/** The SDK's fields that each part type maps one to one; anything else goes to `extra`. */
const KNOWN_FIELDS: Record<string, readonly string[]> = {
  text: ['text', 'state', 'providerMetadata'],
  reasoning: ['text', 'state', 'providerMetadata'],
  tool: [
    'toolCallId',
    'state',
    'title',
    'input',
    'output',
    'errorText',
    'approval',
    'providerExecuted',
    'callProviderMetadata',
  ],
  file: ['mediaType', 'url', 'filename', 'providerMetadata'],
  'source-url': ['sourceId', 'url', 'title', 'providerMetadata'],
  'source-document': ['sourceId', 'mediaType', 'title', 'filename', 'providerMetadata'],
  'step-start': [],
  data: ['id', 'data'],
}
const APPROVAL_FIELDS = ['id', 'approved', 'reason']
const ROLES: readonly string[] = ['system', 'user', 'assistant']
const messageId = textField(MAX_PART_FIELD_LENGTH).refine((v) => v.length > 0, 'must not be empty')

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value)

/** `source`'s fields named in `known`, and the rest as `extra` (when there is any). */
function split(
  source: Record<string, unknown>,
  known: readonly string[],
  skip: readonly string[],
): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  const extra: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(source)) {
    if (value === undefined || skip.includes(key)) continue
    if (known.includes(key)) out[key] = value
    else extra[key] = value
  }
  if (Object.keys(extra).length > 0) out.extra = extra
  return out
}

/**
 * The URL scheme of a file part that points at an attachment before its URL is made (what
 * `toUIMessage` gives without URLs): `stratum-attachment:<attachment id>`.
 */
export const ATTACHMENT_URL_SCHEME = 'stratum-attachment:'

/**
 * A file part of the SDK that shows an attachment, in the stored shape: the attachment id
 * (from `providerMetadata.stratum.attachmentId`, or a `stratum-attachment:` URL) in place of
 * the URL, which is the library's own and made anew on every read. Other file parts, and
 * any part of another type, come back unchanged.
 */
function fileReference(
  fields: Record<string, unknown>,
  index: number,
  issues: ValidationIssue[],
): Record<string, unknown> {
  if (fields.type !== 'file') return fields
  const metadata = fields.providerMetadata
  if (isObject(metadata) && Object.hasOwn(metadata, 'stratum')) {
    const ours = metadata.stratum
    if (!isObject(ours) || Object.keys(ours).join() !== 'attachmentId') {
      issues.push({
        path: `parts[${index}].providerMetadata.stratum`,
        message:
          "is the library's own: only { attachmentId } as a file part of an attachment has it",
      })
      return fields
    }
    const { stratum: _, ...rest } = metadata
    const { url: _url, providerMetadata: _m, ...others } = fields
    return {
      ...others,
      attachmentId: ours.attachmentId,
      ...(Object.keys(rest).length > 0 ? { providerMetadata: rest } : {}),
    }
  }
  if (typeof fields.url === 'string' && fields.url.startsWith(ATTACHMENT_URL_SCHEME)) {
    const { url, ...others } = fields
    return { ...others, attachmentId: url.slice(ATTACHMENT_URL_SCHEME.length) }
  }
  return fields
}

/** One of the SDK's parts in the library's schema (not yet validated). */
function fromUIPart(part: Record<string, unknown>): Record<string, unknown> {
  const type = part.type as string
  if (type.startsWith('tool-') || type === 'dynamic-tool') {
    const dynamic = type === 'dynamic-tool'
    const fields = split(part, KNOWN_FIELDS.tool!, dynamic ? ['type', 'toolName'] : ['type'])
    if (isObject(fields.approval)) fields.approval = split(fields.approval, APPROVAL_FIELDS, [])
    return {
      type: 'tool',
      toolName: dynamic ? part.toolName : type.slice('tool-'.length),
      dynamic,
      ...fields,
    }
  }
  if (type.startsWith('data-')) {
    return {
      type: 'data',
      name: type.slice('data-'.length),
      ...split(part, KNOWN_FIELDS.data!, ['type']),
    }
  }
  const known = Object.hasOwn(KNOWN_FIELDS, type) ? KNOWN_FIELDS[type] : undefined
  if (known === undefined) return { type: 'unknown', original: part }
  return { type, ...split(part, known, ['type']) }
}

/** One stored part in the SDK's shape; an attachment's URL from `fileUrls` when it is there. */
function toUIPart(
  part: MessagePart,
  fileUrls: ReadonlyMap<string, string> | undefined,
): Record<string, unknown> {
  if (part.type === 'unknown') return { ...part.original }
  const { extra, ...fields } = part as MessagePart & { extra?: JsonObject }
  if (fields.type === 'file' && fields.attachmentId !== undefined) {
    const { attachmentId, providerMetadata, ...rest } = fields
    return {
      ...extra,
      ...rest,
      url: fileUrls?.get(attachmentId) ?? `${ATTACHMENT_URL_SCHEME}${attachmentId}`,
      providerMetadata: { ...providerMetadata, stratum: { attachmentId } },
    }
  }
  if (fields.type === 'tool') {
    const { toolName, dynamic, type: _, approval, ...rest } = fields
    const ui: Record<string, unknown> = dynamic
      ? { ...extra, type: 'dynamic-tool', toolName, ...rest }
      : { ...extra, type: `tool-${toolName}`, ...rest }
    if (approval) {
      const { extra: approvalExtra, ...approvalFields } = approval
      ui.approval = { ...approvalExtra, ...approvalFields }
    }
    return ui
  }
  if (fields.type === 'data') {
    const { name, type: _, ...rest } = fields
    return { ...extra, type: `data-${name}`, ...rest }
  }
  return { ...extra, ...fields }
}

/**
 * A UI message of the AI SDK (from a client or `onFinish`) in the library's own schema,
 * validated: every part type the SDK has today maps to a typed part, fields the library does
 * not model are kept in `extra`, and a part type it does not know is kept verbatim. Throws
 * `VALIDATION` (issues on `id`, `role`, `metadata` or `parts.<i>.<field>`) for anything that
 * cannot be stored exactly.
 *
 * @example
 * ```ts
 * const stored = fromUIMessage({ id: 'm1', role: 'user', parts: [{ type: 'text', text: 'Hi' }] })
 * ```
 */
export function fromUIMessage(message: UIMessageLike, context = 'fromUIMessage'): StoredUIMessage {
  const issues: ValidationIssue[] = []
  if (!isObject(message)) {
    throw new ValidationError(context, [{ path: '', message: 'must be a UI message object' }])
  }
  const id = messageId.safeParse(message.id)
  if (!id.success) issues.push({ path: 'id', message: id.error.issues[0]!.message })
  if (!ROLES.includes(message.role as string)) {
    issues.push({ path: 'role', message: "must be 'system', 'user' or 'assistant'" })
  }
  if (message.metadata !== undefined) {
    const problem = jsonProblem(message.metadata)
    if (problem) {
      issues.push({
        path: `metadata${problem.path.startsWith('[') || !problem.path ? '' : '.'}${problem.path}`,
        message: problem.message,
      })
    }
  }
  const candidates: Record<string, unknown>[] = []
  if (!Array.isArray(message.parts)) {
    issues.push({ path: 'parts', message: 'must be an array of parts' })
  } else {
    message.parts.forEach((part, index) => {
      if (!isObject(part) || typeof part.type !== 'string') {
        issues.push({ path: `parts[${index}]`, message: 'must be an object with a string type' })
        return
      }
      candidates.push(fileReference(fromUIPart(part), index, issues))
    })
  }
  if (issues.length === 0) {
    const parts = messagePartsSchema.safeParse(candidates)
    if (!parts.success) {
      for (const issue of parts.error.issues.slice(0, 20)) {
        issues.push({
          path: formatPath(['parts', ...issue.path]),
          message: issue.message,
        })
      }
    } else {
      return {
        id: message.id,
        role: message.role,
        ...(message.metadata === undefined ? {} : { metadata: message.metadata as JsonValue }),
        parts: parts.data,
      }
    }
  }
  throw new ValidationError(context, issues)
}

/**
 * A stored message in the AI SDK's `UIMessage` shape: what {@link fromUIMessage} took,
 * field for field (JSON values as JSON gives them back: no `undefined` properties). A file
 * part of an attachment gets its URL from `fileUrls` (by attachment id), or a
 * `stratum-attachment:` URL when it is not there, and carries the attachment's id in
 * `providerMetadata.stratum.attachmentId`, so that saving it back stores the reference.
 */
export function toUIMessage(
  message: StoredUIMessage,
  fileUrls?: ReadonlyMap<string, string>,
): {
  id: string
  role: UIMessageRole
  metadata?: JsonValue
  parts: Record<string, unknown>[]
} {
  return {
    id: message.id,
    role: message.role,
    ...(message.metadata === undefined ? {} : { metadata: message.metadata }),
    parts: message.parts.map((part) => toUIPart(part, fileUrls)),
  }
}
