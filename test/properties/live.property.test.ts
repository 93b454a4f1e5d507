import fc from 'fast-check'
import { beforeAll, describe, expect, it } from 'vitest'
import type { Chat, DataLayer } from '../../src/index.js'
import { backends, uniqueEmail } from '../helpers/backends.js'
import { anyInput, anyText, propertyOptions, settle } from '../helpers/property.js'

// Issue #19, live state: generated presence calls. Each marks the member exactly as given
// (listed by `presence`) or is refused with VALIDATION, marking nobody.

describe('live state inputs, generated [pglite (embedded)]', () => {
  let data: DataLayer
  let chat: Chat
  beforeAll(async () => {
    data = await backends[0]!.open()
    const user = await data.users.create({ email: uniqueEmail() })
    chat = await data.chats.create({ userId: user.id })
  })

  it('join and typing mark exactly the member given, or refuse it marking nobody', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(fc.constant('chat'), anyText, anyInput),
        fc.oneof(fc.string({ unit: 'grapheme', minLength: 1, maxLength: 30 }), anyText, anyInput),
        fc.option(
          fc.oneof(
            fc.integer({ min: 1, max: 120_000 }).map((n) => (n < 100 ? n : n + 60_000)),
            anyInput,
          ),
          { nil: undefined },
        ),
        fc.boolean(),
        async (chatId, member, ttlMs, typing) => {
          const id = chatId === 'chat' ? chat.id : chatId
          const before = await data.live.presence(chat.id)
          const call = typing ? data.live.typing.bind(data.live) : data.live.join.bind(data.live)
          const outcome = await settle(
            () =>
              call(
                id as string,
                member as string,
                ttlMs === undefined ? {} : { ttlMs: ttlMs as number },
              ),
            ['VALIDATION', 'INVALID_KEY'],
          )
          const after = await data.live.presence(chat.id)
          const list = (p: typeof after) => (typing ? p.typing : p.present).map((m) => m.member)
          if (outcome.ok && id === chat.id) expect(list(after)).toContain(member)
          if (!outcome.ok) expect(list(after).filter((m) => !list(before).includes(m))).toEqual([])
          await data.live.leave(chat.id, member as string).catch(() => {})
          await data.live.stopTyping(chat.id, member as string).catch(() => {})
        },
      ),
      propertyOptions(100),
    )
  })
})
