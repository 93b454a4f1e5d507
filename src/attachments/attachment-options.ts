import { z } from 'zod'
import type { ChatAttachment } from '../schema/chat-attachments.js'

/** How a URL for an attachment is made, when the application serves them itself. */
export type AttachmentUrlOf = (attachment: ChatAttachment) => string | Promise<string>

/** The attachments' defaults, stated once. */
export const ATTACHMENT_DEFAULTS = Object.freeze({
  /** 25 MiB: above what the major model APIs take for one image or PDF. */
  maxBytes: 25 * 1024 * 1024,
  /** Images, PDFs and plain text formats: what chat models read, and nothing a browser runs. */
  mediaTypes: Object.freeze([
    'image/png',
    'image/jpeg',
    'image/gif',
    'image/webp',
    'application/pdf',
    'text/plain',
    'text/markdown',
    'text/csv',
    'application/json',
  ]),
  /** Lifetime of a signed URL, in seconds (15 minutes). */
  urlExpiresInSeconds: 900,
  /** An upload that no message shows is deleted by `sweep` after a day. */
  orphanAfterMs: 24 * 60 * 60 * 1000,
  verifyContent: true,
} as const)

const MEDIA_RANGE = /^([\w!#$&^.+-]+|\*)\/([\w!#$&^.+-]+|\*)$/

/** The `attachments` options of `createDataLayer()`. */
export const attachmentsSchema = z
  .object({
    /** Largest upload in bytes (default 25 MiB). */
    maxBytes: z
      .number()
      .int()
      .min(1)
      .max(5 * 1024 ** 3)
      .default(ATTACHMENT_DEFAULTS.maxBytes),
    /**
     * Media types an upload may have; `image/*` takes every image, `*\/*` anything (default:
     * PNG, JPEG, GIF, WebP, PDF, plain text, Markdown, CSV, JSON).
     */
    mediaTypes: z
      .array(
        z
          .string()
          .toLowerCase()
          .regex(MEDIA_RANGE, 'must be a media type such as image/png or image/*'),
      )
      .min(1)
      .default([...ATTACHMENT_DEFAULTS.mediaTypes]),
    /** Whether the bytes are checked against the media type (default true). */
    verifyContent: z.boolean().default(ATTACHMENT_DEFAULTS.verifyContent),
    /** Lifetime of the signed URLs made on S3, in seconds (default 900). */
    urlExpiresInSeconds: z
      .number()
      .int()
      .min(1)
      .max(604_800)
      .default(ATTACHMENT_DEFAULTS.urlExpiresInSeconds),
    /** Age after which `sweep` deletes an upload that no message shows (default one day). */
    orphanAfterMs: z.number().int().min(0).default(ATTACHMENT_DEFAULTS.orphanAfterMs),
    /**
     * Makes the URL of an attachment, instead of a signed S3 URL or (on the filesystem and
     * memory drivers) a data: URL: for an application that serves attachments from a route of
     * its own with `data.attachments.open`.
     */
    url: z
      .custom<AttachmentUrlOf>((v) => typeof v === 'function', { message: 'must be a function' })
      .optional(),
  })
  .strict()
  .prefault({})

/** The resolved `attachments` options. */
export type AttachmentOptions = z.output<typeof attachmentsSchema>
