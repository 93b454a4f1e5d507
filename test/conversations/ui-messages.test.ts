import { convertToModelMessages, type UIMessage, validateUIMessages } from 'ai'
import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { type MessagePart, messagePartsText } from '../../src/schema/message-parts.js'
import { fromUIMessage, toUIMessage } from '../../src/schema/ui-messages.js'
import { conversation } from './ui-message-fixtures.js'

/** What a jsonb column gives back. */
const throughJson = <T>(value: T): T => JSON.parse(JSON.stringify(value))
const roundTrip = (messages: UIMessage[]) =>
  messages.map((m) => toUIMessage(throughJson(fromUIMessage(m)))) as unknown as UIMessage[]

const tools = {
  weather: {
    inputSchema: z.object({ city: z.string(), unit: z.enum(['celsius', 'fahrenheit']).optional() }),
    outputSchema: z.object({
      temperature: z.number(),
      conditions: z.array(z.string()),
      alerts: z.null(),
    }),
  },
  deleteFile: { inputSchema: z.object({ path: z.string() }) },
}
const dataSchemas = { weatherCard: z.object({ city: z.string(), temperature: z.number() }) }

describe('UI messages of the AI SDK in the library schema', () => {
  it('come back equal to what went in, every part type and tool state, through JSON', () => {
    const back = roundTrip(conversation)
    expect(back).toEqual(conversation)
    // Exactly: no key added, none lost, the same order of parts.
    expect(JSON.stringify(back.map((m) => m.parts.map((p) => Object.keys(p).sort())))).toBe(
      JSON.stringify(conversation.map((m) => m.parts.map((p) => Object.keys(p).sort()))),
    )
  })

  it("pass the ai package's validateUIMessages with the tools' and data parts' schemas", async () => {
    const back = roundTrip(conversation)
    await expect(validateUIMessages({ messages: back, tools, dataSchemas })).resolves.toEqual(back)
    // The check has teeth: a wrong tool input fails it.
    const broken = throughJson(back)
    ;(broken[2]!.parts[2] as { input: unknown }).input = { city: 42 }
    await expect(validateUIMessages({ messages: broken, tools, dataSchemas })).rejects.toThrow()
  })

  it("convert with the ai package's convertToModelMessages, tool calls and results kept", async () => {
    const back = roundTrip(conversation.slice(0, 3))
    const model = await convertToModelMessages(back, {
      convertDataPart: (part) => ({ type: 'text', text: JSON.stringify(part.data) }),
    })
    expect(model.map((m) => m.role)).toEqual(['system', 'user', 'assistant', 'tool', 'assistant'])
    const assistant = model[2]!.content as { type: string; toolCallId?: string; input?: unknown }[]
    expect(assistant.find((c) => c.type === 'tool-call')).toMatchObject({
      toolCallId: 'call-1',
      input: { city: 'Zürich', unit: 'celsius' },
    })
    const results = model[3]!.content as { type: string; toolCallId: string; output: unknown }[]
    expect(results[0]).toMatchObject({
      type: 'tool-result',
      toolCallId: 'call-1',
      output: {
        type: 'json',
        value: { temperature: 7.5, conditions: ['cloudy', 'windy'], alerts: null },
      },
    })
    expect(model).toEqual(
      await convertToModelMessages(conversation.slice(0, 3), {
        convertDataPart: (part) => ({ type: 'text', text: JSON.stringify(part.data) }),
      }),
    )
  })

  it('store each part in the library schema: tools by name, data by name, unknown fields in extra', () => {
    const stored = fromUIMessage(conversation[3]!)
    expect(stored.parts[0]).toEqual({
      type: 'tool',
      toolName: 'weather',
      dynamic: false,
      toolCallId: 'call-2',
      state: 'input-streaming',
      input: { city: 'Ber' },
    })
    expect(stored.parts[6]).toEqual({
      type: 'tool',
      toolName: 'mcp.search',
      dynamic: true,
      toolCallId: 'call-8',
      state: 'output-available',
      input: { query: 'pgvector' },
      output: [{ title: 'pgvector', rank: 1 }],
      extra: { toolMetadata: { server: 'docs' } },
    })
    const card = fromUIMessage(conversation[2]!).parts.find((p) => p.type === 'data')
    expect(card).toEqual({
      type: 'data',
      name: 'weatherCard',
      id: 'card-1',
      data: { city: 'Zürich', temperature: 7.5 },
    })
  })

  it('keep a part type they do not know (a newer SDK part) verbatim', () => {
    const message = {
      id: 'future-1',
      role: 'assistant' as const,
      parts: [
        { type: 'custom', kind: 'acme.chart', providerMetadata: { acme: { v: 2 } } },
        { type: 'steering-message', id: 's1', parts: [{ type: 'text', text: 'shorter please' }] },
        { type: 'hologram', frames: [1, 2, 3], nested: { deep: [{ ok: true }] } },
      ],
    }
    const stored = fromUIMessage(message)
    expect(stored.parts.map((p) => p.type)).toEqual(['unknown', 'unknown', 'unknown'])
    expect(toUIMessage(throughJson(stored))).toEqual(message)
    expect(messagePartsText(stored.parts)).toBe('')
  })

  it('give the plain text of text parts for search and embeddings, nothing else', () => {
    const parts = fromUIMessage(conversation[2]!).parts
    expect(messagePartsText(parts)).toBe('It is 7.5 °C and cloudy in Zürich.')
    const two: MessagePart[] = [
      { type: 'text', text: 'one' },
      { type: 'reasoning', text: 'hidden' },
      { type: 'text', text: 'two' },
    ]
    expect(messagePartsText(two)).toBe('one\n\ntwo')
  })
})

describe('UI messages that cannot be stored exactly', () => {
  const refused = (message: unknown) => {
    try {
      fromUIMessage(message as UIMessage)
    } catch (error) {
      return error as { code: string; issues: { path: string; message: string }[] }
    }
    throw new Error('expected a VALIDATION error')
  }
  const text = (t: string) => ({ id: 'm', role: 'user', parts: [{ type: 'text', text: t }] })

  it.each([
    ['an empty id', { id: '', role: 'user', parts: [] }, 'id'],
    ['a role the SDK does not have', { id: 'm', role: 'tool', parts: [] }, 'role'],
    ['parts that are not an array', { id: 'm', role: 'user', parts: 'hi' }, 'parts'],
    ['a part without a type', { id: 'm', role: 'user', parts: [{ text: 'x' }] }, 'parts[0]'],
    ['text with a NUL', text('a\u0000b'), 'parts[0].text'],
    ['text with a lone surrogate', text('a\ud800b'), 'parts[0].text'],
    [
      'a tool input with NaN',
      {
        id: 'm',
        role: 'assistant',
        parts: [
          { type: 'tool-x', toolCallId: 'c', state: 'input-available', input: { n: Number.NaN } },
        ],
      },
      'parts[0].input',
    ],
    [
      'a tool call without its id',
      {
        id: 'm',
        role: 'assistant',
        parts: [{ type: 'tool-x', state: 'input-available', input: {} }],
      },
      'parts[0].toolCallId',
    ],
    [
      'a tool state the SDK does not have',
      {
        id: 'm',
        role: 'assistant',
        parts: [{ type: 'tool-x', toolCallId: 'c', state: 'running' }],
      },
      'parts[0].state',
    ],
    [
      'a tool without a name',
      {
        id: 'm',
        role: 'assistant',
        parts: [{ type: 'tool-', toolCallId: 'c', state: 'input-available' }],
      },
      'parts[0].toolName',
    ],
    [
      'a Date in data',
      { id: 'm', role: 'assistant', parts: [{ type: 'data-x', data: { at: new Date() } }] },
      'parts[0].data',
    ],
    [
      'data nested 100,000 deep',
      {
        id: 'm',
        role: 'assistant',
        parts: [{ type: 'data-x', data: Array.from({ length: 100_000 }).reduce((v) => [v], 1) }],
      },
      'parts[0].data',
    ],
    [
      'metadata with a Map',
      { id: 'm', role: 'user', metadata: { m: new Map() }, parts: [] },
      'metadata',
    ],
    [
      'a file without a media type',
      { id: 'm', role: 'user', parts: [{ type: 'file', url: 'https://x' }] },
      'parts[0].mediaType',
    ],
  ])('refuses %s with VALIDATION on its field', (_name, message, path) => {
    const error = refused(message)
    expect(error.code).toBe('VALIDATION')
    expect(
      error.issues.some(
        (issue) =>
          issue.path === path ||
          issue.path.startsWith(`${path}.`) ||
          issue.path.startsWith(`${path}[`),
      ),
    ).toBe(true)
  })

  it('refuses more parts or bytes than a message may have', () => {
    const many = {
      id: 'm',
      role: 'user',
      parts: Array.from({ length: 4097 }, () => ({ type: 'step-start' })),
    }
    expect(refused(many).issues[0]!.path).toBe('parts')
    const big = {
      id: 'm',
      role: 'user',
      parts: Array.from({ length: 5 }, () => ({ type: 'text', text: 'x'.repeat(900_000) })),
    }
    expect(refused(big).issues[0]!.message).toMatch(/characters as JSON/)
  })
})
