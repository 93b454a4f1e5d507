import type { AddressInfo } from 'node:net'
import {
  AbstractChat,
  type ChatState,
  type ChatStatus,
  DefaultChatTransport,
  type UIMessage,
  validateUIMessages,
} from 'ai'
import { MockLanguageModelV4, simulateReadableStream } from 'ai/test'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { chatServer, tools } from '../../examples/ai-chat-server.js'
import type { DataLayer } from '../../src/index.js'
import { backends, backendTitle, uniqueEmail } from '../helpers/backends.js'
import { waitFor } from '../helpers/wait-for.js'

// The example app end to end: the AI SDK's own client (AbstractChat with DefaultChatTransport,
// what useChat runs) against the example's HTTP server, on the mock model of `ai/test`.

class ArrayState implements ChatState<UIMessage> {
  status: ChatStatus = 'ready'
  error: Error | undefined = undefined
  messages: UIMessage[] = []
  pushMessage = (message: UIMessage) => {
    this.messages = [...this.messages, message]
  }
  popMessage = () => {
    this.messages = this.messages.slice(0, -1)
  }
  replaceMessage = (index: number, message: UIMessage) => {
    this.messages = this.messages.map((m, i) => (i === index ? message : m))
  }
  snapshot = <T>(thing: T): T => structuredClone(thing)
}

class Chat extends AbstractChat<UIMessage> {
  constructor(id: string, api: string) {
    const state = new ArrayState()
    super({
      id,
      state,
      transport: new DefaultChatTransport({
        api,
        // Send only the new message: the server has the rest.
        prepareSendMessagesRequest: ({ messages, trigger, messageId }) => ({
          body: { trigger, messageId, message: messages.at(-1) },
        }),
      }),
    })
  }
  override get messages(): UIMessage[] {
    return this.state.messages
  }
}

const usage = {
  inputTokens: { total: 10, noCache: 10, cacheRead: undefined, cacheWrite: undefined },
  outputTokens: { total: 30, text: 30, reasoning: undefined },
}
const finish = (unified: 'stop' | 'tool-calls') => ({
  type: 'finish',
  finishReason: { unified, raw: undefined },
  usage,
})
const words = (text: string) => [
  { type: 'text-start', id: 't' },
  ...text.split(/(?<= )/).map((delta) => ({ type: 'text-delta', id: 't', delta })),
  { type: 'text-end', id: 't' },
]
const STORY = Array.from({ length: 60 }, (_, i) => `word${i}`).join(' ')

/** What the model was given of each message with a file. */
const files: string[] = []

/** Describes a file, calls the weather tool when asked about the weather, else tells a slow story. */
function mockModel() {
  let stories = 0
  return new MockLanguageModelV4({
    modelId: 'mock',
    doStream: async ({ prompt }) => {
      const last = prompt.at(-1)!
      const text = JSON.stringify(last.content)
      let chunks: object[]
      let chunkDelayInMs: number | null = null
      if (text.includes('"type":"file"')) {
        files.push(text)
        chunks = [...words('A very small picture: one dot.'), finish('stop')]
      } else if (last.role === 'tool')
        chunks = [...words('It is 7.5 °C and cloudy in Zürich.'), finish('stop')]
      else if (text.includes('weather')) {
        chunks = [
          {
            type: 'tool-call',
            toolCallId: 'call-1',
            toolName: 'weather',
            input: JSON.stringify({ city: 'Zürich' }),
          },
          finish('tool-calls'),
        ]
      } else {
        stories++
        chunks = [...words(`Story ${stories}: ${STORY}`), finish('stop')]
        chunkDelayInMs = 10
      }
      return { stream: simulateReadableStream({ chunks, chunkDelayInMs }) as never }
    },
  })
}

const plain = <T>(value: T): T => JSON.parse(JSON.stringify(value))

for (const backend of backends) {
  describe(`the example AI chat server [${backendTitle(backend)}]`, () => {
    let data: DataLayer
    let base: string
    let close: () => Promise<void>
    beforeAll(async () => {
      data = await backend.open()
      const server = chatServer(data, mockModel()).listen(0, '127.0.0.1')
      await new Promise((resolve) => server.once('listening', resolve))
      base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
      close = () =>
        new Promise((resolve) => {
          server.closeAllConnections()
          server.close(() => resolve())
        })
    })
    afterAll(async () => close?.())

    it('saves, streams with a tool, keeps a stopped reply, branches on regenerate, and reloads what the client saw', async () => {
      const user = await data.users.create({ email: uniqueEmail() })
      const created = await fetch(`${base}/chats`, {
        method: 'POST',
        body: JSON.stringify({ userId: user.id }),
      })
      const { id: chatId } = (await created.json()) as { id: string }
      const chat = new Chat(chatId, `${base}/chats/${chatId}/messages`)

      // 1. A user message saved, a reply streamed with a tool call and its result.
      await chat.sendMessage({ text: 'What is the weather in Zürich?' })
      expect(chat.status).toBe('ready')
      const [question, answer] = chat.messages
      expect((await data.messages.loadUIMessages(chatId)).map((m) => m.id)).toEqual([
        question!.id,
        answer!.id,
      ])
      expect(answer!.parts.some((p) => p.type === 'tool-weather')).toBe(true)
      const stored = await data.messages.findMany({ where: { chatId, clientId: answer!.id } })
      expect(stored[0]).toMatchObject({ status: 'complete', finishReason: 'stop' })

      // 2. A second reply, stopped halfway: its partial text is kept, as aborted.
      const sending = chat.sendMessage({ text: 'Tell me a long story' })
      await waitFor(
        'a few words of the story',
        async () => {
          // The story's answer: the fourth message.
          const last = chat.messages[3]
          const text =
            last?.role === 'assistant' ? last.parts.find((p) => p.type === 'text') : undefined
          return text?.type === 'text' && text.text.split(' ').length >= 5
        },
        20_000,
        5,
      )
      await chat.stop()
      await sending
      const stoppedId = chat.messages.at(-1)!.id
      await waitFor('the stopped reply to be stored as aborted', async () => {
        const [row] = await data.messages.findMany({ where: { chatId, clientId: stoppedId } })
        return row?.status === 'aborted'
      })
      const [stopped] = await data.messages.findMany({ where: { chatId, clientId: stoppedId } })
      expect(stopped!.content.startsWith('Story 1: word0')).toBe(true)
      expect(stopped!.content.length).toBeLessThan(`Story 1: ${STORY}`.length)

      // 3. Regenerate: a new answer to the same question, a sibling of the stopped one.
      await chat.regenerate()
      const regenerated = chat.messages.at(-1)!
      expect(regenerated.id).not.toBe(stoppedId)
      const reload = (await (await fetch(`${base}/chats/${chatId}/messages`)).json()) as {
        messages: UIMessage[]
        branches: { id: string; siblingIds: string[]; index: number }[]
      }
      expect(reload.branches.at(-1)).toEqual({
        id: regenerated.id,
        siblingIds: [stoppedId, regenerated.id],
        index: 1,
      })

      // 4. A reload returns what the client saw, ids included, and it is valid.
      expect(reload.messages).toEqual(plain(chat.messages))
      await expect(validateUIMessages({ messages: reload.messages, tools })).resolves.toEqual(
        reload.messages,
      )
      // And the stopped branch is one call away.
      await fetch(`${base}/chats/${chatId}/branch`, {
        method: 'POST',
        body: JSON.stringify({ messageId: stoppedId }),
      })
      const other = (await (await fetch(`${base}/chats/${chatId}/messages`)).json()) as {
        messages: UIMessage[]
      }
      expect(other.messages.at(-1)?.id).toBe(stoppedId)
    })

    it('uploads a file, sends it with a message to the model, and feeds live events over SSE', async () => {
      const user = await data.users.create({ email: uniqueEmail() })
      const created = await fetch(`${base}/chats`, {
        method: 'POST',
        body: JSON.stringify({ userId: user.id }),
      })
      const { id: chatId } = (await created.json()) as { id: string }

      // The live feed, as a browser's EventSource reads it.
      const leave = new AbortController()
      const feed = await fetch(`${base}/chats/${chatId}/events`, { signal: leave.signal })
      expect(feed.headers.get('content-type')).toBe('text/event-stream')
      const received: { type: string; status?: string; messageId?: string }[] = []
      const reading = (async () => {
        let buffered = ''
        for await (const chunk of feed.body!.pipeThrough(new TextDecoderStream())) {
          buffered += chunk
          for (let end = buffered.indexOf('\n\n'); end >= 0; end = buffered.indexOf('\n\n')) {
            const data = buffered
              .slice(0, end)
              .split('\n')
              .find((line) => line.startsWith('data: '))
            if (data) received.push(JSON.parse(data.slice('data: '.length)))
            buffered = buffered.slice(end + 2)
          }
        }
      })().catch(() => {})

      const png = Buffer.from(
        'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==',
        'base64',
      )
      const refused = await fetch(`${base}/chats/${chatId}/attachments`, {
        method: 'POST',
        headers: { 'content-type': 'image/jpeg' },
        body: png,
      })
      expect(refused.status).toBe(400)
      const uploaded = await fetch(`${base}/chats/${chatId}/attachments?filename=dot.png`, {
        method: 'POST',
        headers: { 'content-type': 'image/png' },
        body: png,
      })
      expect(uploaded.status).toBe(201)
      const part = (await uploaded.json()) as { type: 'file'; mediaType: string; url: string }
      expect(part).toMatchObject({ type: 'file', mediaType: 'image/png', filename: 'dot.png' })

      const chat = new Chat(chatId, `${base}/chats/${chatId}/messages`)
      files.length = 0
      await chat.sendMessage({ text: 'What is on this picture?', files: [part] })
      expect(files).toHaveLength(1)
      expect(files[0]).toContain('"mediaType":"image/png"')
      const [question, answer] = chat.messages
      expect(answer!.parts.find((p) => p.type === 'text')).toMatchObject({
        text: 'A very small picture: one dot.',
      })

      const reload = (await (await fetch(`${base}/chats/${chatId}/messages`)).json()) as {
        messages: UIMessage[]
      }
      expect(reload.messages).toEqual(plain(chat.messages))
      expect(reload.messages[0]!.parts[0]).toMatchObject({
        type: 'file',
        providerMetadata: { stratum: { attachmentId: expect.any(String) } },
      })

      await waitFor('the reply to be finished on the feed', async () =>
        received.some((e) => e.type === 'message-finished'),
      )
      expect(received.map((e) => [e.type, e.messageId])).toEqual([
        ['message-added', question!.id],
        ['message-added', answer!.id],
        ...received
          .filter((e) => e.type === 'message-updated')
          .map(() => ['message-updated', answer!.id]),
        ['message-finished', answer!.id],
      ])
      leave.abort()
      await reading
    })
  })
}
