import {
  convertToModelMessages,
  readUIMessageStream,
  stepCountIs,
  streamText,
  tool,
  type UIMessage,
  validateUIMessages,
} from 'ai'
import { MockLanguageModelV4, simulateReadableStream } from 'ai/test'
import { beforeAll, describe, expect, it } from 'vitest'
import { z } from 'zod'
import type { DataLayer, User } from '../../src/index.js'
import { backends, backendTitle, uniqueEmail } from '../helpers/backends.js'

// A reply streamed by the real `ai` package (streamText over MockLanguageModelV4, its UI
// message stream read with readUIMessageStream, as a client reads it) into startReply.

const usage = {
  inputTokens: { total: 12, noCache: 12, cacheRead: undefined, cacheWrite: undefined },
  outputTokens: { total: 20, text: 20, reasoning: undefined },
}
const textChunks = (id: string, text: string) => [
  { type: 'text-start' as const, id },
  ...text.split(/(?<= )/).map((delta) => ({ type: 'text-delta' as const, id, delta })),
  { type: 'text-end' as const, id },
]
const finish = (unified: 'stop' | 'tool-calls') => ({
  type: 'finish' as const,
  finishReason: { unified, raw: undefined },
  usage,
})

/** A model that calls the weather tool, then answers with the tool's result. */
function weatherModel(answer: string, chunkDelayInMs: number | null = null) {
  let step = 0
  return new MockLanguageModelV4({
    modelId: 'mock-weather',
    doStream: async () => {
      step++
      const chunks: object[] =
        step === 1
          ? [
              {
                type: 'tool-call' as const,
                toolCallId: 'call-1',
                toolName: 'weather',
                input: JSON.stringify({ city: 'Zürich' }),
              },
              finish('tool-calls'),
            ]
          : [...textChunks('t1', answer), finish('stop')]
      // The provider's stream part type is not exported by `ai`; these are its V4 parts.
      return { stream: simulateReadableStream({ chunks, chunkDelayInMs }) as never }
    },
  })
}

const tools = {
  weather: tool({
    description: 'The weather in a city',
    inputSchema: z.object({ city: z.string() }),
    execute: async ({ city }) => ({ city, celsius: 7.5, sky: 'cloudy' }),
  }),
}

const ANSWER = 'It is 7.5 °C and cloudy in Zürich today, with a light wind from the west.'

for (const backend of backends) {
  describe(`replies streamed by the AI SDK [${backendTitle(backend)}]`, () => {
    let data: DataLayer
    let user: User
    beforeAll(async () => {
      data = await backend.open()
      user = await data.users.create({ email: uniqueEmail() })
    })

    const ask = async (chatId: string) => {
      const question: UIMessage = {
        id: `q-${chatId}`,
        role: 'user',
        parts: [{ type: 'text', text: 'Weather in Zürich?' }],
      }
      await data.messages.saveUIMessages(chatId, [question])
      return (await data.messages.loadUIMessages(chatId)) as unknown as UIMessage[]
    }

    it('a reply with a tool call and its result is stored as the client saw it, and reloads valid', async () => {
      const chat = await data.chats.create({ userId: user.id, title: 'weather' })
      const history = await ask(chat.id)
      const reply = await data.messages.startReply(chat.id, { model: 'mock-weather' })
      const result = streamText({
        model: weatherModel(ANSWER),
        tools,
        stopWhen: stepCountIs(2),
        messages: await convertToModelMessages(history),
      })
      let seen: UIMessage | undefined
      for await (const message of readUIMessageStream({
        stream: result.toUIMessageStream({ generateMessageId: () => reply.id }),
      })) {
        reply.update(message)
        seen = message
      }
      const done = await reply.finish({
        finishReason: await result.finishReason,
        usage: await result.totalUsage,
      })
      expect(done).toMatchObject({
        status: 'complete',
        finishReason: 'stop',
        model: 'mock-weather',
      })
      expect(done.usage).toMatchObject({ inputTokens: 24, outputTokens: 40 })
      // Far fewer writes than snapshots: the updates came faster than the flush interval.
      expect(reply.stats.updates).toBeGreaterThan(10)
      expect(reply.stats.writes).toBeLessThan(reply.stats.updates)

      const loaded = (await data.messages.loadUIMessages(chat.id)) as unknown as UIMessage[]
      expect(loaded).toEqual([...history, JSON.parse(JSON.stringify(seen))])
      expect(loaded[1]!.id).toBe(reply.id)
      expect(loaded[1]!.parts.map((p) => p.type)).toEqual([
        'step-start',
        'tool-weather',
        'step-start',
        'text',
      ])
      expect(loaded[1]!.parts[1]).toMatchObject({
        state: 'output-available',
        output: { celsius: 7.5 },
      })
      await expect(validateUIMessages({ messages: loaded, tools })).resolves.toEqual(loaded)
      // And the next turn's model input is built from what was stored.
      expect(await convertToModelMessages(loaded, { tools })).toEqual(
        await convertToModelMessages([...history, seen!], { tools }),
      )
    })

    it('a reply stopped halfway keeps what had arrived, with status aborted', async () => {
      const chat = await data.chats.create({ userId: user.id, title: 'stopped' })
      const history = await ask(chat.id)
      const reply = await data.messages.startReply(chat.id)
      const stop = new AbortController()
      const result = streamText({
        model: weatherModel(ANSWER, 5),
        tools,
        stopWhen: stepCountIs(2),
        messages: await convertToModelMessages(history),
        abortSignal: stop.signal,
      })
      let seen: UIMessage | undefined
      for await (const message of readUIMessageStream({
        stream: result.toUIMessageStream({ generateMessageId: () => reply.id }),
      })) {
        reply.update(message)
        seen = message
        const text = message.parts.find((p) => p.type === 'text')
        // The user presses stop once a few words have arrived.
        if (text?.type === 'text' && text.text.split(' ').length >= 4) stop.abort()
      }
      const stopped = await reply.abort()
      expect(stopped.status).toBe('aborted')
      const partial = (await data.messages.loadUIMessages(chat.id)).at(-1) as unknown as UIMessage
      expect(partial).toEqual(JSON.parse(JSON.stringify(seen)))
      const text = partial.parts.find((p) => p.type === 'text')
      expect(text?.type === 'text' && ANSWER.startsWith(text.text)).toBe(true)
      expect(text?.type === 'text' && text.text.length < ANSWER.length).toBe(true)
      await expect(validateUIMessages({ messages: [partial], tools })).resolves.toBeDefined()
    })
  })
}
