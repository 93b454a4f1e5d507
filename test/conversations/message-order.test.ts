import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { sql } from 'drizzle-orm'
import { describe, expect, it } from 'vitest'
import { backends, backendTitle, databaseUrlOf, uniqueEmail } from '../helpers/backends.js'

const run = promisify(execFile)
const worker = fileURLToPath(new URL('./workers/save-worker.ts', import.meta.url))
const server = backends.find((b) => b.name === 'postgres')!
const WRITERS = 4
const EACH = 500

describe(`a chat's message order under concurrent writers [${backendTitle(server)}]`, () => {
  it(`${WRITERS} processes save and retry ${WRITERS * EACH} messages: no duplicates, no gaps, one order`, async () => {
    const data = await server.open()
    const user = await data.users.create({ email: uniqueEmail('order') })
    const chat = await data.chats.create({ userId: user.id, title: 'busy' })
    const names = Array.from({ length: WRITERS }, (_, i) => `w${i}`)
    const outputs = await Promise.all(
      names.map((name) =>
        run(
          process.execPath,
          [
            '--import',
            'tsx',
            worker,
            JSON.stringify({
              databaseUrl: databaseUrlOf(data),
              chatId: chat.id,
              name,
              count: EACH,
            }),
          ],
          { timeout: 240_000 },
        ),
      ),
    )
    expect(outputs.map((o) => o.stdout.trim())).toEqual(names.map(() => 'done'))

    const rows = (
      await data.db.execute<{ client_id: string; seq: string }>(
        sql`SELECT client_id, seq::text AS seq FROM chat_messages WHERE chat_id = ${chat.id} ORDER BY chat_messages.seq`,
      )
    ).rows
    expect(rows).toHaveLength(WRITERS * EACH)
    // No gaps and no duplicates: exactly 1..N.
    expect(rows.map((r) => Number(r.seq))).toEqual(rows.map((_, i) => i + 1))
    expect(new Set(rows.map((r) => r.client_id)).size).toBe(WRITERS * EACH)
    // Each writer's messages in the order it wrote them, and the writers interleaved.
    for (const name of names) {
      const own = rows.filter((r) => r.client_id.startsWith(`${name}-`)).map((r) => r.client_id)
      expect(own).toEqual(Array.from({ length: EACH }, (_, i) => `${name}-${i}`))
    }
    const firstHalf = new Set(
      rows.slice(0, (WRITERS * EACH) / 2).map((r) => r.client_id.split('-')[0]),
    )
    expect(firstHalf.size).toBeGreaterThan(1)
    // Paging by sequence number goes through the same order.
    const listed: string[] = []
    let cursor: string | undefined
    do {
      const page = await data.messages.findPage({
        where: { chatId: chat.id },
        orderBy: { seq: 'asc' },
        limit: 500,
        ...(cursor ? { cursor } : {}),
      })
      listed.push(...page.items.map((m) => m.clientId!))
      cursor = page.nextCursor ?? undefined
    } while (cursor)
    expect(listed).toEqual(rows.map((r) => r.client_id))
    // Each writer sent its own history, so each wrote its own branch (what its model saw):
    // its messages follow one another. The chat shows the branch of the last new message.
    const all = (
      await data.db.execute<{ id: string; parent_id: string | null; client_id: string }>(
        sql`SELECT id, parent_id, client_id FROM chat_messages WHERE chat_id = ${chat.id}`,
      )
    ).rows.map((r) => ({ id: r.id, parentId: r.parent_id, clientId: r.client_id }))
    const byId = new Map(all.map((m) => [m.id, m]))
    for (const message of all) {
      const parent = message.parentId ? byId.get(message.parentId) : undefined
      const [writer, n] = message.clientId!.split('-')
      if (n !== '0') expect(parent?.clientId).toBe(`${writer}-${Number(n) - 1}`)
    }
    const active = byId.get((await data.chats.getById(chat.id)).activeMessageId!)!
    const shown = await data.messages.loadUIMessages(chat.id)
    const activeWriter = active.clientId!.split('-')[0]
    expect(shown.map((m) => m.id).slice(-EACH)).toEqual(
      Array.from({ length: EACH }, (_, i) => `${activeWriter}-${i}`),
    )
    expect((await data.chats.getById(chat.id)).lastMessageSeq).toBe(WRITERS * EACH)
  }, 300_000)
})
