import fc from 'fast-check'
import { beforeAll, describe, expect, it } from 'vitest'
import type { DataLayer } from '../../src/index.js'
import { backends, backendTitle, uniqueEmail } from '../helpers/backends.js'
import { anyInput, anyText, propertyOptions, settle } from '../helpers/property.js'

// Issue #17: generated inputs for users, messages and filters, on PGlite and on the server.
// Each call either stores exactly what was given (read back identically) or fails with a
// documented code other than DATABASE, leaving the row count as it was.

const USER_COLUMNS = [
  'id',
  'email',
  'emailVerified',
  'firstName',
  'lastName',
  'createdAt',
  'updatedAt',
  'lastLogin',
]
const OPERATORS = ['eq', 'ne', 'gt', 'gte', 'lt', 'lte', 'in', 'notIn', 'isNull', 'like', 'ilike']

for (const backend of backends) {
  describe(`repository inputs, generated [${backendTitle(backend)}]`, () => {
    let data: DataLayer
    let chatId: string
    beforeAll(async () => {
      data = await backend.open()
      const user = await data.users.create({ email: uniqueEmail() })
      chatId = (await data.chats.create({ userId: user.id })).id
    })

    it('users.create stores names exactly as given, or refuses them and writes nothing', async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.oneof(anyText, anyInput, fc.constant(null)),
          fc.dictionary(fc.oneof(anyText, fc.constantFrom('__proto__', 'constructor')), anyInput, {
            maxKeys: 2,
          }),
          async (firstName, extra) => {
            const before = await data.users.count()
            const input = {
              email: uniqueEmail(),
              firstName,
              ...(fc.sample(fc.boolean(), 1)[0] ? extra : {}),
            }
            const result = await settle(() => data.users.create(input as never))
            if (result.ok) {
              expect(result.value.firstName).toBe(firstName)
              expect(await data.users.findById(result.value.id)).toEqual(result.value)
            } else {
              expect(await data.users.count()).toBe(before)
            }
          },
        ),
        propertyOptions(120),
      )
    })

    it('message metadata reads back identically, or is refused with VALIDATION', async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.oneof(
            fc.dictionary(
              fc.string({ unit: 'binary', maxLength: 8 }),
              fc.jsonValue({ maxDepth: 3 }),
            ),
            fc.dictionary(anyText, anyInput, { maxKeys: 3 }),
          ),
          async (metadata) => {
            const before = await data.messages.count({ chatId })
            const result = await settle(
              () => data.messages.append({ chatId, role: 'user', content: 'm', metadata }),
              ['VALIDATION'],
            )
            if (result.ok) {
              expect(result.value.metadata).toEqual(metadata)
              expect((await data.messages.getById(result.value.id)).metadata).toEqual(metadata)
            } else {
              expect(await data.messages.count({ chatId })).toBe(before)
            }
          },
        ),
        propertyOptions(150),
      )
    })

    it('saveUIMessages stores UI messages exactly (loaded back equal), or refuses them and writes nothing', async () => {
      const part = fc.oneof(
        fc.record({ type: fc.constant('text'), text: fc.oneof(anyText, fc.string()) }),
        fc.record({
          type: fc.constantFrom('tool-search', 'dynamic-tool', 'data-x', 'future-kind'),
          toolName: fc.string({ maxLength: 6 }),
          toolCallId: fc.oneof(fc.string({ maxLength: 6 }), anyInput),
          state: fc.constantFrom('input-available', 'output-available', 'bogus'),
          input: fc.oneof(fc.jsonValue({ maxDepth: 2 }), anyInput),
          data: fc.jsonValue({ maxDepth: 2 }),
        }),
        anyInput,
      )
      await fc.assert(
        fc.asyncProperty(
          fc.uuid(),
          fc.constantFrom('user', 'assistant', 'tool'),
          fc.array(part, { maxLength: 4 }),
          async (id, role, parts) => {
            const chat = await data.chats.create({
              userId: (await data.chats.getById(chatId)).userId,
            })
            const message = { id, role, parts }
            const result = await settle(
              () => data.messages.saveUIMessages(chat.id, [message as never]),
              ['VALIDATION'],
            )
            const loaded = await data.messages.loadUIMessages(chat.id)
            if (result.ok) expect(loaded).toEqual([JSON.parse(JSON.stringify(message))])
            else expect(loaded).toEqual([])
          },
        ),
        propertyOptions(60),
      )
    })

    it('plain JSON metadata is always accepted and round-trips', async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.dictionary(
            fc.string({ maxLength: 8 }).filter((k) => k !== '__proto__'),
            fc.jsonValue({ maxDepth: 3 }).filter(noNegativeZero),
          ),
          async (metadata) => {
            const stored = await data.messages.append({
              chatId,
              role: 'user',
              content: 'j',
              metadata,
            })
            expect((await data.messages.getById(stored.id)).metadata).toEqual(metadata)
          },
        ),
        propertyOptions(80),
      )
    })

    it('filters of any shape return rows or a documented error, never a DATABASE error', async () => {
      const column = fc.oneof(fc.constantFrom(...USER_COLUMNS), anyText)
      const operand = fc.oneof(anyInput, fc.array(anyInput, { maxLength: 3 }))
      const condition = fc.oneof(
        operand,
        fc.dictionary(fc.oneof(fc.constantFrom(...OPERATORS), anyText), operand, { maxKeys: 2 }),
      )
      await fc.assert(
        fc.asyncProperty(
          fc.dictionary(column, condition, { maxKeys: 3 }),
          fc.option(
            fc.oneof(
              fc.dictionary(column, fc.oneof(fc.constantFrom('asc', 'desc'), anyInput), {
                maxKeys: 2,
              }),
              anyInput,
            ),
          ),
          async (where, orderBy) => {
            const result = await settle(
              () =>
                data.users.findMany({
                  where: where as never,
                  ...(orderBy === null ? {} : { orderBy: orderBy as never }),
                  limit: 5,
                }),
              ['VALIDATION'],
            )
            if (result.ok) expect(Array.isArray(result.value)).toBe(true)
          },
        ),
        propertyOptions(200),
      )
    })

    it('createMany options, bulk sources and transaction options of any shape work or fail with VALIDATION, writing nothing then', async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.oneof(
            anyInput,
            fc.record(
              {
                batchSize: fc.oneof(fc.integer({ min: 1, max: 3 }), anyInput),
                returning: fc.oneof(fc.boolean(), anyInput),
              },
              { requiredKeys: [] },
            ),
          ),
          fc.array(fc.oneof(fc.constant('good'), anyInput), { maxLength: 4 }),
          fc.oneof(
            anyInput,
            fc.record(
              {
                isolationLevel: fc.oneof(
                  fc.constantFrom('serializable', 'read committed'),
                  anyInput,
                ),
                accessMode: fc.oneof(fc.constantFrom('read write'), anyInput),
              },
              { requiredKeys: [] },
            ),
          ),
          async (options, items, transactionOptions) => {
            const before = await data.users.count()
            const rows = items.map((item) => (item === 'good' ? { email: uniqueEmail() } : item))
            const source = (function* () {
              yield* rows
            })()
            const result = await settle(
              () =>
                data.transaction(
                  (tx) =>
                    tx.users.createMany(
                      source as never,
                      { ...(options as object), returning: false } as never,
                    ),
                  transactionOptions as never,
                ),
              ['VALIDATION'],
            )
            if (result.ok)
              expect(await data.users.count()).toBe(
                before + (result.value as unknown as { count: number }).count,
              )
            else expect(await data.users.count()).toBe(before)
          },
        ),
        propertyOptions(120),
      )
    })

    it('upsert targets of any shape resolve, or fail with VALIDATION', async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.oneof(
            anyInput,
            fc.array(fc.oneof(fc.constantFrom('id', 'email', 'firstName'), anyText), {
              maxLength: 3,
            }),
          ),
          async (target) => {
            const result = await settle(
              () =>
                data.users.upsert(
                  { email: uniqueEmail(), firstName: 'u' },
                  { target: target as never },
                ),
              ['VALIDATION', 'CONFLICT'],
            )
            if (result.ok) expect(result.value.firstName).toBe('u')
          },
        ),
        propertyOptions(100),
      )
    })

    it('ids of any shape find a row, find none, or fail with VALIDATION', async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.oneof(anyInput, fc.uuid({ version: [1, 2, 3, 4, 5, 6, 7, 8] })),
          async (id) => {
            const result = await settle(() => data.users.findById(id as never), ['VALIDATION'])
            if (result.ok) expect(result.value).toBeNull()
          },
        ),
        propertyOptions(150),
      )
    })
  })
}

function noNegativeZero(value: unknown): boolean {
  return JSON.stringify(value) === JSON.stringify(value, (_k, v) => (Object.is(v, -0) ? 'neg' : v))
}
