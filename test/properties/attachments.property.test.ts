import { sql } from 'drizzle-orm'
import fc from 'fast-check'
import { beforeAll, describe, expect, it } from 'vitest'
import { type Chat, type DataLayer, fromUIMessage, toUIMessage } from '../../src/index.js'
import { messagePartsSchema } from '../../src/schema/index.js'
import { backends, backendTitle, uniqueEmail } from '../helpers/backends.js'
import { anyInput, anyText, propertyOptions, settle } from '../helpers/property.js'
import { testS3Options } from '../helpers/s3.js'

// Issue #19, attachments: generated uploads. Each is stored exactly as given (its bytes,
// media type and name) or refused with VALIDATION or NOT_FOUND, leaving no row and no blob.

const PNG_SIGNATURE = Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex')

const body = fc.oneof(
  fc.uint8Array({ maxLength: 64 }).map((bytes) => Buffer.from(bytes)),
  fc.uint8Array({ maxLength: 32 }).map((bytes) => Buffer.concat([PNG_SIGNATURE, bytes])),
  fc.string({ maxLength: 64 }),
  anyText,
  anyInput,
)
const mediaType = fc.oneof(
  fc.constantFrom('image/png', 'text/plain', 'text/csv; charset=utf-8', 'application/json'),
  fc.constantFrom('image/svg+xml', 'text/html', 'IMAGE/PNG', 'image/png;', ' image/png'),
  anyText,
  anyInput,
)
const filename = fc.option(fc.oneof(fc.string({ maxLength: 20 }), anyText, anyInput), {
  nil: undefined,
})

for (const backend of backends) {
  describe(`attachments, generated [${backendTitle(backend)}]`, () => {
    let data: DataLayer
    let chat: Chat
    beforeAll(async () => {
      data = await backend.open(backend.server ? { s3: testS3Options() } : {})
      const user = await data.users.create({ email: uniqueEmail() })
      chat = await data.chats.create({ userId: user.id })
    })

    it('an upload is kept exactly as given or refused, leaving nothing behind', async () => {
      const countRows = async () =>
        (
          await data.db.execute<{ n: number }>(
            sql`SELECT count(*)::int AS n FROM chat_attachments WHERE chat_id = ${chat.id}`,
          )
        ).rows[0]!.n
      const countBlobs = async () => {
        let n = 0
        for await (const _ of data.blobs.listAll({ prefix: 'users/' })) n += 1
        return n
      }
      await fc.assert(
        fc.asyncProperty(
          body,
          mediaType,
          filename,
          fc.boolean(),
          async (bytes, type, name, ownChat) => {
            const rows = await countRows()
            const blobs = await countBlobs()
            const outcome = await settle(
              () =>
                data.attachments.upload({
                  chatId: ownChat ? chat.id : '00000000-0000-4000-8000-000000000000',
                  body: bytes as never,
                  mediaType: type as string,
                  ...(name === undefined ? {} : { filename: name as string }),
                }),
              ['VALIDATION', 'NOT_FOUND'],
            )
            if (!outcome.ok) {
              expect(await countRows()).toBe(rows)
              expect(await countBlobs()).toBe(blobs)
              return
            }
            const stored = outcome.value
            const given =
              typeof bytes === 'string'
                ? Buffer.from(bytes, 'utf8')
                : Buffer.from(bytes as Uint8Array)
            expect(await data.blobs.get(stored.key)).toEqual(given)
            expect(stored).toMatchObject({
              size: given.byteLength,
              mediaType: type,
              filename: name ?? null,
            })
            expect(await countRows()).toBe(rows + 1)
          },
        ),
        propertyOptions(60),
      )
    })
  })
}

describe('attachment file parts, generated', () => {
  it('a stored part of an attachment reads back as the AI SDK shape and saves back to itself', () => {
    fc.assert(
      fc.property(
        fc.uuid({ version: 7 }),
        fc.constantFrom('image/png', 'application/pdf'),
        fc.option(fc.string({ minLength: 1, maxLength: 20 }), { nil: undefined }),
        fc.option(
          fc.dictionary(
            fc
              .string({ minLength: 1, maxLength: 8 })
              .filter((k) => k !== 'stratum' && k !== '__proto__'),
            fc.dictionary(fc.string({ maxLength: 4 }), fc.string({ maxLength: 4 }), { maxKeys: 2 }),
            { maxKeys: 2 },
          ),
          { nil: undefined },
        ),
        fc.option(fc.webUrl(), { nil: undefined }),
        (attachmentId, mediaType, name, providerMetadata, url) => {
          const stored = {
            id: 'm1',
            role: 'user' as const,
            parts: [
              {
                type: 'file' as const,
                mediaType,
                attachmentId,
                ...(name === undefined ? {} : { filename: name }),
                ...(providerMetadata === undefined ? {} : { providerMetadata }),
              },
            ],
          }
          if (providerMetadata !== undefined && Object.keys(providerMetadata).length === 0) {
            const refused = messagePartsSchema.safeParse(stored.parts)
            expect(refused.error?.issues[0]?.message).toMatch(/left out rather than empty/)
            return
          }
          const urls = url === undefined ? undefined : new Map([[attachmentId, url]])
          const ui = toUIMessage(stored, urls)
          expect(ui.parts[0]!.url).toBe(url ?? `stratum-attachment:${attachmentId}`)
          expect(fromUIMessage(ui)).toEqual(stored)
        },
      ),
      propertyOptions(200),
    )
  })
})
