import { sql } from 'drizzle-orm'
import { beforeAll, describe, expect, it } from 'vitest'
import type { Chat, DataLayer, SummarizeInput, SummarizeOptions, User } from '../../src/index.js'
import { backends, backendTitle, uniqueEmail } from '../helpers/backends.js'
import { failure } from '../helpers/failure.js'
import { o200k } from '../helpers/tokens.js'

// Issue #20, item 3: pinned notes and rolling summaries per chat and branch.

const turnText = (i: number, role: 'user' | 'assistant') =>
  role === 'user'
    ? `Question ${i}: which museum in Basel should I visit on day ${i}?`
    : `Answer ${i}: the Kunstmuseum, then a walk by the Rhine on day ${i}.`
/** What a text message costs by the documented rules: o200k_base and 4 a message. */
const cost = (text: string) => o200k(text) + 4
const textOf = (message: { parts: Record<string, unknown>[] }) =>
  message.parts.map((part) => String(part.text ?? '')).join('')

/** A promise and what resolves it. */
function signal(): [Promise<void>, () => void] {
  let resolve!: () => void
  const promise = new Promise<void>((r) => {
    resolve = r
  })
  return [promise, resolve]
}

/** A summarize function that records its calls and says what it was given. */
function recorder() {
  const calls: SummarizeInput[] = []
  const summarize = async (input: SummarizeInput) => {
    calls.push(input)
    const first = textOf(input.messages[0]!)
    const last = textOf(input.messages.at(-1)!)
    return `${input.previous ? `${input.previous} ` : ''}[${input.messages.length} messages: ${first.slice(0, 12)}… to ${last.slice(0, 12)}…]`
  }
  return { calls, summarize }
}

async function rowOf(data: DataLayer, chat: Chat, clientId: string) {
  const [row] = await data.messages.findMany({ where: { chatId: chat.id, clientId } })
  return row
}

async function chatWithTurns(data: DataLayer, user: User, turns: number, from = 0) {
  const chat = await data.chats.create({ userId: user.id, title: 'museums' })
  await addTurns(data, chat, turns, from)
  return chat
}

async function addTurns(data: DataLayer, chat: Chat, turns: number, from = 0) {
  const messages = Array.from({ length: turns * 2 }, (_, k) => {
    const i = from + Math.floor(k / 2)
    const role = k % 2 === 0 ? ('user' as const) : ('assistant' as const)
    return {
      id: `${role === 'user' ? 'q' : 'a'}${i}`,
      role,
      parts: [{ type: 'text', text: turnText(i, role) }],
    }
  })
  return data.messages.saveUIMessages(chat.id, messages)
}

for (const backend of backends) {
  describe(`pinned notes and summaries [${backendTitle(backend)}]`, () => {
    let data: DataLayer
    let user: User
    let other: User

    beforeAll(async () => {
      data = await backend.open()
      user = await data.users.create({ email: uniqueEmail('summaries') })
      other = await data.users.create({ email: uniqueEmail('summaries-other') })
    })

    it('puts pinned notes in the system text in pin order, each whole, as many as fit', async () => {
      const chat = await chatWithTurns(data, user, 3)
      const a = await data.context.pin({
        chatId: chat.id,
        userId: user.id,
        content: 'Use metric units.',
      })
      const b = await data.context.pin({
        chatId: chat.id,
        userId: user.id,
        content: 'The traveller uses a wheelchair:\nprefer step-free routes.',
      })
      expect(a).toMatchObject({ content: 'Use metric units.', tokens: o200k('Use metric units.') })
      expect(
        (await data.context.notes({ chatId: chat.id, userId: user.id })).map((n) => n.id),
      ).toEqual([a.id, b.id])
      const built = await data.context.build({
        chatId: chat.id,
        userId: user.id,
        budget: 4000,
        system: 'Be brief.',
      })
      expect(built.system).toBe(
        'Be brief.\n\nPinned notes:\n- Use metric units.\n- The traveller uses a wheelchair:\nprefer step-free routes.',
      )
      expect(built.notes.map((n) => n.id)).toEqual([a.id, b.id])
      expect(built.tokens.system).toBe(o200k(built.system!) + 4)
      expect(built.tokens.notes).toBe(built.tokens.system - cost('Be brief.'))

      // Room for the instructions, the turn and the first note only.
      const withFirst = o200k('Be brief.\n\nPinned notes:\n- Use metric units.') + 4
      const turn = cost(turnText(2, 'user')) + cost(turnText(2, 'assistant'))
      const tight = await data.context.build({
        chatId: chat.id,
        userId: user.id,
        budget: withFirst + turn,
        system: 'Be brief.',
      })
      expect(tight.notes.map((n) => n.id)).toEqual([a.id])
      expect(tight.excludedNotes.map((n) => n.id)).toEqual([b.id])
      expect(tight.tokens.used).toBe(withFirst + turn)

      expect(await data.context.unpin({ chatId: chat.id, userId: user.id, noteId: a.id })).toBe(
        true,
      )
      expect(await data.context.unpin({ chatId: chat.id, userId: user.id, noteId: a.id })).toBe(
        false,
      )
      expect(
        (await data.context.notes({ chatId: chat.id, userId: user.id })).map((n) => n.id),
      ).toEqual([b.id])
    })

    it('refuses notes of another user, blank or oversized ones and a 101st, storing nothing', async () => {
      const chat = await chatWithTurns(data, user, 1)
      const theirs = { chatId: chat.id, userId: other.id }
      expect(await failure(() => data.context.pin({ ...theirs, content: 'x' }))).toMatchObject({
        code: 'NOT_FOUND',
      })
      expect(await failure(() => data.context.notes(theirs))).toMatchObject({ code: 'NOT_FOUND' })
      const mine = { chatId: chat.id, userId: user.id }
      for (const content of ['', '   ', 'x'.repeat(10_001), 'a\u0000b', 42]) {
        expect(
          await failure(() => data.context.pin({ ...mine, content: content as string })),
        ).toMatchObject({
          code: 'VALIDATION',
        })
      }
      expect(await failure(() => data.context.unpin({ ...mine, noteId: 'nope' }))).toMatchObject({
        code: 'VALIDATION',
      })
      await Promise.all(
        Array.from({ length: 100 }, (_, i) => data.context.pin({ ...mine, content: `note ${i}` })),
      )
      const full = await failure(() => data.context.pin({ ...mine, content: 'one more' }))
      expect(full).toMatchObject({ code: 'CONFLICT' })
      expect(full.message).toContain('unpin one first')
      expect(await data.context.notes(mine)).toHaveLength(100)
    })

    it('summarises the oldest messages past the threshold, keeps the newest word for word, and build stops at the summary', async () => {
      const chat = await chatWithTurns(data, user, 20)
      const rows = await data.messages.loadUIMessages(chat.id)
      const costs = rows.map((m) => cost(textOf(m)))
      const total = costs.reduce((a, b) => a + b, 0)
      const { calls, summarize } = recorder()
      const below = await data.context.summarize({
        chatId: chat.id,
        userId: user.id,
        summarize,
        threshold: total,
      })
      expect(below).toEqual({ status: 'below-threshold', summary: null, tailTokens: total })
      expect(calls).toEqual([])

      const keepRecent = 200
      const done = await data.context.summarize({
        chatId: chat.id,
        userId: user.id,
        summarize,
        threshold: 500,
        keepRecent,
      })
      expect(done.status).toBe('refreshed')
      expect(calls).toHaveLength(1)
      const folded = calls[0]!.messages
      expect(calls[0]!.previous).toBeUndefined()
      // The oldest messages, in order, up to the newest that fit in keepRecent from a user message.
      expect(folded.map((m) => m.id)).toEqual(rows.slice(0, folded.length).map((m) => m.id))
      // The kept messages begin with a user message: all after it fit in keepRecent, and
      // one more message (the answer before it) would not have.
      const kept = costs.slice(folded.length)
      const sum = (list: number[]) => list.reduce((a, b) => a + b, 0)
      expect(rows[folded.length]!.role).toBe('user')
      expect(sum(kept.slice(1))).toBeLessThanOrEqual(keepRecent)
      expect(sum(costs.slice(folded.length - 1))).toBeGreaterThan(keepRecent)
      const summaryText = `[${folded.length} messages: ${turnText(0, 'user').slice(0, 12)}… to ${turnText(folded.length / 2 - 1, 'assistant').slice(0, 12)}…]`
      expect(done.summary).toMatchObject({
        coversMessageId: (await rowOf(data, chat, folded.at(-1)!.id))!.id,
        messageCount: folded.length,
        content: summaryText,
        tokens: o200k(summaryText),
      })
      expect(done.tailTokens).toBe(sum(kept))

      const again = await data.context.summarize({
        chatId: chat.id,
        userId: user.id,
        summarize,
        threshold: 500,
      })
      expect(again.status).toBe('below-threshold')
      expect(calls).toHaveLength(1)

      const built = await data.context.build({
        chatId: chat.id,
        userId: user.id,
        budget: 100_000,
        system: 'Be brief.',
      })
      expect(built.system).toBe(
        `Be brief.\n\nSummary of the conversation before the messages below:\n${summaryText}`,
      )
      expect(built.summary).toMatchObject({ id: done.summary!.id, included: true })
      expect(built.messages.map((m) => m.id)).toEqual(rows.slice(folded.length).map((m) => m.id))
      expect(built.unreadFrom).toBe(done.summary!.coversMessageId)
      expect(built.tokens.used).toBe(o200k(built.system!) + 4 + sum(kept))
      expect(built.tokens.summary).toBe(built.tokens.system - cost('Be brief.'))

      // More turns: the next refresh extends the summary, from where it stopped.
      await addTurns(data, chat, 10, 20)
      const next = await data.context.summarize({
        chatId: chat.id,
        userId: user.id,
        summarize,
        threshold: 500,
        keepRecent,
      })
      expect(next.status).toBe('refreshed')
      expect(calls[1]!.previous).toBe(summaryText)
      expect(calls[1]!.messages[0]!.id).toBe(rows[folded.length]!.id)
      expect(next.summary!.messageCount).toBe(folded.length + calls[1]!.messages.length)
      expect(next.summary!.content.startsWith(summaryText)).toBe(true)
    })

    it('serves every branch through what a summary covers, and forgets it when a covered message is edited', async () => {
      const chat = await chatWithTurns(data, user, 12)
      const { calls, summarize } = recorder()
      const first = await data.context.summarize({
        chatId: chat.id,
        userId: user.id,
        summarize,
        threshold: 100,
        keepRecent: 100,
      })
      expect(first.status).toBe('refreshed')
      // A regenerated last answer is a sibling branch; the summary covers their common past.
      const [sibling] = await data.messages.saveUIMessages(
        chat.id,
        [
          {
            id: 'a11-again',
            role: 'assistant',
            parts: [{ type: 'text', text: 'Another answer.' }],
          },
        ],
        { parentId: 'q11' },
      )
      const onSibling = await data.context.build({
        chatId: chat.id,
        userId: user.id,
        budget: 100_000,
        leafId: sibling!.clientId!,
      })
      expect(onSibling.summary?.id).toBe(first.summary!.id)
      expect(onSibling.messages.at(-1)!.id).toBe('a11-again')

      // Editing a covered message in place drops the summary: it no longer says what was said.
      const covered = await rowOf(data, chat, 'q1')
      await data.messages.update(covered!.id, {
        content: 'Question 1, edited.',
        parts: [{ type: 'text', text: 'Question 1, edited.' }],
      })
      const after = await data.context.build({ chatId: chat.id, userId: user.id, budget: 100_000 })
      expect(after.summary).toBeNull()
      expect(after.messages[0]!.id).toBe('q0')
      const redone = await data.context.summarize({
        chatId: chat.id,
        userId: user.id,
        summarize,
        threshold: 100,
        keepRecent: 100,
      })
      expect(redone.status).toBe('refreshed')
      expect(textOf(calls[1]!.messages[2]!)).toBe('Question 1, edited.')
      // Editing a message after what a summary covers keeps it.
      await data.messages.update((await rowOf(data, chat, 'a11-again'))!.id, {
        content: 'Edited answer.',
        parts: [{ type: 'text', text: 'Edited answer.' }],
      })
      expect(
        (await data.context.build({ chatId: chat.id, userId: user.id, budget: 100_000 })).summary
          ?.id,
      ).toBe(redone.summary!.id)
    })

    it('runs one refresh for concurrent callers, across data layers; a throw or a bad return stores nothing', async () => {
      const chat = await chatWithTurns(data, user, 12)
      const second = await backend.reopen(data)
      const [gate, release] = signal()
      const [running, started] = signal()
      let calls = 0
      const slow: SummarizeOptions['summarize'] = async () => {
        calls++
        started()
        await gate
        return 'the slow summary'
      }
      const options = {
        chatId: chat.id,
        userId: user.id,
        summarize: slow,
        threshold: 100,
        keepRecent: 100,
      }
      const winner = data.context.summarize(options)
      await running
      const others = await Promise.all([
        second.context.summarize(options),
        data.context.summarize(options),
      ])
      expect(others.map((r) => r.status)).toEqual(['claimed-elsewhere', 'claimed-elsewhere'])
      release()
      expect((await winner).status).toBe('refreshed')
      expect(calls).toBe(1)
      const count = async () =>
        (
          await data.db.execute<{ n: number }>(
            sql`SELECT count(*)::int AS n FROM chat_summaries WHERE chat_id = ${chat.id}`,
          )
        ).rows[0]!.n
      expect(await count()).toBe(1)
      if (second !== data) await second.close()

      await addTurns(data, chat, 6, 12)
      const boom = new Error('model unavailable')
      const thrown = await failure(() =>
        data.context.summarize({ ...options, summarize: async () => Promise.reject(boom) }),
      )
      expect(thrown).toBe(boom)
      for (const bad of ['', '  ', 42, 'x'.repeat(100_001)]) {
        const refused = await failure(() =>
          data.context.summarize({ ...options, summarize: async () => bad as string }),
        )
        expect(refused).toMatchObject({ code: 'VALIDATION' })
        expect(refused.message).toContain('return the summary text')
      }
      expect(await count()).toBe(1)
      // Nothing was left claimed: the next call runs.
      expect(
        (await data.context.summarize({ ...options, summarize: async () => 'next' })).status,
      ).toBe('refreshed')
      expect(await count()).toBe(2)
    })

    it('takes over a claim past its time, and discards a summary whose messages changed while it ran', async () => {
      const chat = await chatWithTurns(data, user, 12)
      const [gate, release] = signal()
      const [running, started] = signal()
      const options = {
        chatId: chat.id,
        userId: user.id,
        threshold: 100,
        keepRecent: 100,
        claimTtlMs: 1000,
      }
      const stuck = data.context.summarize({
        ...options,
        summarize: async () => {
          started()
          await gate
          return 'late'
        },
      })
      await running
      // Wait, by the database's clock, until the claim has run out.
      for (;;) {
        const { rows } = await data.db.execute<{ expired: boolean }>(
          sql`SELECT claimed_until < now() AS expired FROM chat_summaries WHERE chat_id = ${chat.id} AND status = 'pending'`,
        )
        if (rows[0]?.expired) break
        await new Promise((resolve) => setTimeout(resolve, 100))
      }
      const taken = await data.context.summarize({ ...options, summarize: async () => 'on time' })
      expect(taken.status).toBe('refreshed')
      release()
      expect((await stuck).status).toBe('discarded')
      const built = await data.context.build({ chatId: chat.id, userId: user.id, budget: 100_000 })
      expect(built.system).toContain('on time')

      // A covered message edited while the function runs: its summary is not stored.
      await addTurns(data, chat, 6, 12)
      const editing = await data.context.summarize({
        ...options,
        summarize: async () => {
          const q12 = await rowOf(data, chat, 'q12')
          await data.messages.update(q12!.id, {
            content: 'changed',
            parts: [{ type: 'text', text: 'changed' }],
          })
          return 'stale'
        },
      })
      expect(editing.status).toBe('discarded')
      expect(
        (await data.context.build({ chatId: chat.id, userId: user.id, budget: 100_000 })).system,
      ).not.toContain('stale')
    })
  })
}
