import { createHash } from 'node:crypto'
import { Readable } from 'node:stream'
import { convertToModelMessages, type UIMessage, validateUIMessages } from 'ai'
import { sql } from 'drizzle-orm'
import { beforeAll, describe, expect, it } from 'vitest'
import type { Chat, DataLayer, User } from '../../src/index.js'
import { backends, backendTitle, uniqueEmail } from '../helpers/backends.js'
import { failure } from '../helpers/failure.js'
import { testS3Options } from '../helpers/s3.js'

/** A 1x1 PNG. */
const PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==',
  'base64',
)
const PDF = Buffer.from(
  '%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n',
)
const MAX_BYTES = 256 * 1024

/** The bytes behind a URL the layer made: a data: URL, or a signed S3 URL fetched. */
async function bytesAt(url: string): Promise<Buffer> {
  if (url.startsWith('data:')) return Buffer.from(url.slice(url.indexOf(',') + 1), 'base64')
  const response = await fetch(url)
  expect(response.status).toBe(200)
  return Buffer.from(await response.arrayBuffer())
}

for (const backend of backends) {
  // The embedded default keeps blobs on the filesystem; the server runs against S3.
  const blobStore = backend.server ? 's3' : 'fs'
  describe(`attachments [${backendTitle(backend)}, ${blobStore}]`, () => {
    let data: DataLayer
    let user: User
    beforeAll(async () => {
      data = await backend.open({
        attachments: { maxBytes: MAX_BYTES },
        ...(backend.server ? { s3: testS3Options() } : {}),
      })
      user = await data.users.create({ email: uniqueEmail() })
    })
    const newChat = () => data.chats.create({ userId: user.id, title: 'files' })
    /** Every blob key under the chat, listed from the store (the bucket on S3). */
    const blobsOf = async (chat: Chat) => {
      const keys: string[] = []
      for await (const item of data.blobs.listAll({ prefix: `users/${user.id}/chats/${chat.id}/` }))
        keys.push(item.key)
      return keys
    }
    const rowsOf = async (chat: Chat) =>
      (
        await data.db.execute<{ n: number }>(
          sql`SELECT count(*)::int AS n FROM chat_attachments WHERE chat_id = ${chat.id}`,
        )
      ).rows[0]!.n
    const queued = async () =>
      (await data.db.execute<{ n: number }>(sql`SELECT count(*)::int AS n FROM blob_deletions`))
        .rows[0]!.n

    it('uploads a file, shows it in a message, and reloads it with a fresh URL that the AI SDK accepts', async () => {
      const chat = await newChat()
      const file = await data.attachments.upload({
        chatId: chat.id,
        body: PNG,
        mediaType: 'image/png',
        filename: 'dot.png',
      })
      expect(file).toMatchObject({
        chatId: chat.id,
        userId: user.id,
        key: `users/${user.id}/chats/${chat.id}/attachments/${file.id}`,
        mediaType: 'image/png',
        filename: 'dot.png',
        size: PNG.byteLength,
        sha256: createHash('sha256').update(PNG).digest('hex'),
      })
      expect(await data.blobs.get(file.key)).toEqual(PNG)
      expect((await data.blobs.head(file.key)).contentType).toBe('image/png')

      const part = await data.attachments.filePart(file)
      expect(part).toMatchObject({
        type: 'file',
        mediaType: 'image/png',
        filename: 'dot.png',
        providerMetadata: { stratum: { attachmentId: file.id } },
      })
      expect(part.url.startsWith(blobStore === 's3' ? 'http' : 'data:image/png;base64,')).toBe(true)
      expect(await bytesAt(part.url)).toEqual(PNG)

      const sent: UIMessage[] = [
        { id: 'u1', role: 'user', parts: [part, { type: 'text', text: 'What is this?' }] },
      ]
      await data.messages.saveUIMessages(chat.id, sent)
      const stored = await data.db.execute<{ parts: unknown }>(
        sql`SELECT parts FROM chat_messages WHERE chat_id = ${chat.id}`,
      )
      expect(stored.rows[0]!.parts).toEqual([
        { type: 'file', mediaType: 'image/png', filename: 'dot.png', attachmentId: file.id },
        { type: 'text', text: 'What is this?' },
      ])

      const loaded = await data.messages.loadUIMessages(chat.id)
      expect(loaded).toEqual([
        {
          id: 'u1',
          role: 'user',
          parts: [
            { ...part, url: expect.any(String) },
            { type: 'text', text: 'What is this?' },
          ],
        },
      ])
      const url = loaded[0]!.parts[0]!.url as string
      expect(await bytesAt(url)).toEqual(PNG)
      const valid = await validateUIMessages({ messages: loaded })
      const model = await convertToModelMessages(valid)
      expect(model[0]!.content[0]).toMatchObject({ type: 'file', mediaType: 'image/png' })

      // The client sends the loaded history back: the same message, nothing new.
      await data.messages.saveUIMessages(chat.id, loaded as UIMessage[])
      const again = await data.db.execute<{ parts: unknown }>(
        sql`SELECT parts FROM chat_messages WHERE chat_id = ${chat.id}`,
      )
      expect(again.rows).toEqual(stored.rows)
      const links = await data.db.execute(
        sql`SELECT attachment_id FROM chat_message_attachments WHERE attachment_id = ${file.id}`,
      )
      expect(links.rows).toHaveLength(1)
    })

    it('refuses what it must not keep, before writing or as the stream arrives, and leaves nothing', async () => {
      const chat = await newChat()
      const upload = (input: Partial<Parameters<DataLayer['attachments']['upload']>[0]>) =>
        failure(() =>
          data.attachments.upload({ chatId: chat.id, body: PNG, mediaType: 'image/png', ...input }),
        )
      const cases: [Partial<Parameters<DataLayer['attachments']['upload']>[0]>, string, RegExp][] =
        [
          [{ mediaType: 'image/jpeg' }, 'body', /holds image\/png content, not image\/jpeg/],
          [{ body: 'hello', mediaType: 'image/png' }, 'body', /not recognisable as image\/png/],
          [{ body: Buffer.from([0xc3, 0x28]), mediaType: 'text/plain' }, 'body', /not valid UTF-8/],
          [{ body: PNG, mediaType: 'text/plain' }, 'body', /holds image\/png content/],
          [{ body: '', mediaType: 'text/plain' }, 'body', /is empty/],
          [
            { body: 'x'.repeat(MAX_BYTES + 1), mediaType: 'text/plain' },
            'body',
            /larger than 262144 bytes/,
          ],
          [
            { mediaType: 'image/svg+xml', body: '<svg/>' },
            'mediaType',
            /not an allowed attachment type/,
          ],
          [{ mediaType: 'png' }, 'mediaType', /media type/],
          [{ filename: 'a\u0000b.png' }, 'filename', /printable/],
          [{ chatId: 'chat-1' }, 'chatId', /UUID/],
          [{ body: 42 as never }, 'body', /must be a string, Uint8Array/],
        ]
      for (const [input, path, message] of cases) {
        const error = await upload(input)
        expect(error.code, JSON.stringify(input).slice(0, 80)).toBe('VALIDATION')
        expect(error.issues?.[0]).toMatchObject({ path, message: expect.stringMatching(message) })
      }
      // Streams: refused at the chunk that breaks a rule, the upload stopped.
      const tooLong = Readable.from(
        (function* () {
          for (let i = 0; i < 8; i++) yield Buffer.alloc(64 * 1024, 'a')
        })(),
      )
      const long = await upload({ body: tooLong, mediaType: 'text/plain' })
      expect(long.issues?.[0]?.message).toMatch(/larger than/)
      const lying = new Blob([PNG]).stream()
      expect((await upload({ body: lying, mediaType: 'image/webp' })).issues?.[0]?.message).toMatch(
        /holds image\/png content, not image\/webp/,
      )
      const controller = new AbortController()
      const slow = Readable.from(
        (async function* () {
          yield Buffer.from('first line\n')
          controller.abort()
          await new Promise((resolve) => setTimeout(resolve, 20))
          yield Buffer.from('second line\n')
        })(),
      )
      const aborted = await upload({
        body: slow,
        mediaType: 'text/plain',
        signal: controller.signal,
      })
      expect(aborted.code).toBe('ABORTED')

      expect(await rowsOf(chat)).toBe(0)
      expect(await blobsOf(chat)).toEqual([])
      expect(await queued()).toBe(0)

      expect(
        (
          await failure(() =>
            data.attachments.upload({
              chatId: crypto.randomUUID(),
              body: PNG,
              mediaType: 'image/png',
            }),
          )
        ).code,
      ).toBe('NOT_FOUND')
      const trash = await newChat()
      await data.chats.softDelete(trash.id)
      expect(
        (
          await failure(() =>
            data.attachments.upload({ chatId: trash.id, body: PNG, mediaType: 'image/png' }),
          )
        ).code,
      ).toBe('CONFLICT')
    })

    it('takes a stream of text and a PDF; a file part may show only an attachment of its own chat, as it is', async () => {
      const chat = await newChat()
      const other = await newChat()
      const notes = await data.attachments.upload({
        chatId: chat.id,
        body: new Blob(['# Notes\n', 'Grüße ✓\n']).stream(),
        mediaType: 'text/markdown; charset=utf-8',
      })
      expect(notes.size).toBe(Buffer.byteLength('# Notes\nGrüße ✓\n'))
      expect((await data.attachments.open(notes.id)).stream).toBeInstanceOf(Readable)
      const pdf = await data.attachments.upload({
        chatId: other.id,
        body: PDF,
        mediaType: 'application/pdf',
      })

      const save = (part: Record<string, unknown>) =>
        failure(() =>
          data.messages.saveUIMessages(chat.id, [
            { id: crypto.randomUUID(), role: 'user', parts: [part as never] },
          ]),
        )
      const reference = (id: string, extra: Record<string, unknown> = {}) => ({
        type: 'file',
        mediaType: 'application/pdf',
        url: 'https://example.com/ignored',
        providerMetadata: { stratum: { attachmentId: id, ...extra } },
      })
      const cases: [Record<string, unknown>, string, RegExp][] = [
        [reference(pdf.id), 'parts[0].attachmentId', /another chat/],
        [reference(crypto.randomUUID()), 'parts[0].attachmentId', /no attachment/],
        [{ ...reference(notes.id) }, 'parts[0].mediaType', /text\/markdown; charset=utf-8/],
        [
          reference(notes.id, { more: 1 }),
          '[0].parts[0].providerMetadata.stratum',
          /library's own/,
        ],
        [reference('not-a-uuid'), '[0].parts[0].attachmentId', /UUID/],
      ]
      for (const [part, path, message] of cases) {
        const error = await save(part)
        expect(error.code).toBe('VALIDATION')
        expect(error.issues?.[0]).toMatchObject({ path, message: expect.stringMatching(message) })
      }
      expect(await data.messages.listByChat(chat.id)).toMatchObject({ items: [] })
      const appended = await failure(() =>
        data.messages.append({
          chatId: chat.id,
          role: 'user',
          content: '',
          parts: [{ type: 'file', mediaType: 'application/pdf', attachmentId: pdf.id }],
        }),
      )
      expect(appended.issues?.[0]).toMatchObject({ path: 'parts[0].attachmentId' })
      // A write that checks nothing (a plain update) meets the trigger, which refuses the same.
      const plain = await data.messages.append({ chatId: chat.id, role: 'user', content: 'x' })
      const updated = await failure(() =>
        data.messages.update(plain.id, {
          parts: [{ type: 'file', mediaType: 'application/pdf', attachmentId: pdf.id }],
        }),
      )
      expect(updated.code).toBe('NOT_FOUND')
      await data.messages.delete(plain.id)
      // A stratum-attachment: URL is a reference too.
      await data.messages.saveUIMessages(chat.id, [
        {
          id: 'm1',
          role: 'user',
          parts: [
            { type: 'file', mediaType: notes.mediaType, url: `stratum-attachment:${notes.id}` },
          ],
        },
      ])
      const [message] = await data.messages.loadUIMessages(chat.id)
      expect(await bytesAt(message!.parts[0]!.url as string)).toEqual(
        Buffer.from('# Notes\nGrüße ✓\n'),
      )
    })

    it('deletes the blobs with the last message that shows them (a branch), with the chat, and on purge; nothing is orphaned', async () => {
      const chat = await newChat()
      const a = await data.attachments.upload({
        chatId: chat.id,
        body: PNG,
        mediaType: 'image/png',
      })
      const b = await data.attachments.upload({
        chatId: chat.id,
        body: PDF,
        mediaType: 'application/pdf',
      })
      const partA = await data.attachments.filePart(a)
      const partB = await data.attachments.filePart(b)
      const [, first] = await data.messages.saveUIMessages(chat.id, [
        { id: 'u0', role: 'user', parts: [{ type: 'text', text: 'hello' }] },
        { id: 'u1', role: 'user', parts: [partA, { type: 'text', text: 'look' }] },
        { id: 'a1', role: 'assistant', parts: [{ type: 'text', text: 'a dot' }] },
      ])
      // An edit of the second message keeps the file and adds one: a sibling branch.
      const [edit] = await data.messages.saveUIMessages(
        chat.id,
        [{ id: 'u1b', role: 'user', parts: [partA, partB, { type: 'text', text: 'and this?' }] }],
        { parentId: 'u0' },
      )
      expect((await failure(() => data.attachments.delete(a.id))).code).toBe('CONFLICT')
      expect(await blobsOf(chat)).toHaveLength(2)

      await data.messages.delete(first!.id)
      expect(await blobsOf(chat)).toEqual([a.key, b.key].sort())
      await data.messages.delete(edit!.id)
      expect(await blobsOf(chat)).toEqual([])
      expect(await rowsOf(chat)).toBe(0)

      const shown = await data.attachments.upload({
        chatId: chat.id,
        body: PNG,
        mediaType: 'image/png',
      })
      await data.attachments.upload({ chatId: chat.id, body: PDF, mediaType: 'application/pdf' })
      await data.messages.saveUIMessages(chat.id, [
        { id: 'u2', role: 'user', parts: [await data.attachments.filePart(shown)] },
      ])
      expect(await blobsOf(chat)).toHaveLength(2)
      await data.chats.delete(chat.id)
      expect(await blobsOf(chat)).toEqual([])
      expect(await rowsOf(chat)).toBe(0)

      const trash = await newChat()
      await data.attachments.upload({ chatId: trash.id, body: PNG, mediaType: 'image/png' })
      await data.chats.softDelete(trash.id)
      expect(await blobsOf(trash)).toHaveLength(1)
      await data.chats.purgeDeleted({ olderThanMs: 0 })
      expect(await blobsOf(trash)).toEqual([])
      expect(await queued()).toBe(0)
    })

    it('sweeps uploads no message shows and blobs a crash left queued; reads are scoped to their user', async () => {
      const chat = await newChat()
      const unused = await data.attachments.upload({
        chatId: chat.id,
        body: PNG,
        mediaType: 'image/png',
      })
      expect(await data.attachments.sweep()).toEqual({ attachments: 0, blobs: 0, failed: 0 })
      expect(await data.attachments.get(unused.id)).toEqual(unused)
      const stranger = await data.users.create({ email: uniqueEmail('stranger') })
      expect(
        (await failure(() => data.attachments.get(unused.id, { userId: stranger.id }))).code,
      ).toBe('NOT_FOUND')
      expect((await data.attachments.get(unused.id, { userId: user.id })).id).toBe(unused.id)

      // A crash after a delete committed and before its blob went: the key is still queued.
      const leftover = `users/${user.id}/chats/${chat.id}/attachments/${crypto.randomUUID()}`
      await data.blobs.put(leftover, PNG)
      await data.db.execute(sql`INSERT INTO blob_deletions (key) VALUES (${leftover})`)

      // Earlier tests of this file left unshown uploads too; the sweep takes all of them.
      const unshown = await data.db.execute<{ n: number }>(
        sql`SELECT count(*)::int AS n FROM chat_attachments a
            WHERE NOT EXISTS (SELECT 1 FROM chat_message_attachments r WHERE r.attachment_id = a.id)`,
      )
      const expected = unshown.rows[0]!.n
      expect(expected).toBeGreaterThanOrEqual(1)
      expect(await data.attachments.sweep({ olderThanMs: 0 })).toEqual({
        attachments: expected,
        blobs: expected + 1,
        failed: 0,
      })
      expect(await blobsOf(chat)).toEqual([])
      expect(await queued()).toBe(0)
      expect(await data.attachments.listByChat(chat.id)).toEqual([])
    })
  })
}
