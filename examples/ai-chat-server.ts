/**
 * An AI chat server on stratum-data and the AI SDK: a small HTTP API that a `useChat` client
 * (the SDK's `DefaultChatTransport`) talks to. Every user message is saved as it arrives,
 * every reply is written while it streams (and kept, as `aborted`, when the user stops it), a
 * regenerated answer becomes a branch, and a reload returns exactly what the client saw.
 *
 * Run it with `npx tsx examples/ai-chat-server.ts`: embedded defaults and a mock model, so no
 * database server and no network. The suite runs it in test/examples/ai-chat-server.test.ts.
 *
 * Routes:
 * - `POST /chats` `{ userId }`: a new chat, `{ id }`.
 * - `POST /chats/:id/messages` `{ trigger, messageId, message }`: the body the client's
 *   transport sends (see `prepareSendMessagesRequest` in the test); answers with the UI
 *   message stream of the reply.
 * - `GET /chats/:id/messages`: `{ messages, branches }`, the active path for a reload.
 * - `POST /chats/:id/branch` `{ messageId }`: shows the branch through that message.
 * - `POST /chats/:id/attachments` (the file as the body, its type as `content-type`, its name
 *   in `?filename=`): a checked upload; answers with the file part to put in a message.
 * - `GET /chats/:id/events`: the chat's live events (message writes, presence, typing) as
 *   server-sent events, from any process when the layer runs on Redis.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import {
  convertToModelMessages,
  type LanguageModel,
  pipeUIMessageStreamToResponse,
  readUIMessageStream,
  stepCountIs,
  streamText,
  tool,
  type UIMessage,
} from 'ai'
import { type DataLayer, isStratumError } from 'stratum-data'
import { z } from 'zod'

/** The tools of the example's assistant. */
export const tools = {
  weather: tool({
    description: 'The weather in a city',
    inputSchema: z.object({ city: z.string() }),
    execute: async ({ city }) => ({ city, celsius: 7.5, sky: 'cloudy' }),
  }),
}

/** The body the client's transport sends with each request. */
interface SendBody {
  trigger: 'submit-message' | 'regenerate-message'
  messageId?: string
  message?: UIMessage
}

/** The HTTP server of the example (not listening yet). */
export function chatServer(data: DataLayer, model: LanguageModel): Server {
  return createServer((request, response) => {
    route(data, model, request, response).catch((error: unknown) => {
      const status = isStratumError(error)
        ? error.code === 'NOT_FOUND'
          ? 404
          : error.code === 'VALIDATION' || error.code === 'CONFLICT'
            ? 400
            : 500
        : 500
      if (!response.headersSent) {
        response.writeHead(status, { 'content-type': 'application/json' })
        response.end(JSON.stringify({ error: isStratumError(error) ? error.code : 'INTERNAL' }))
      } else response.destroy()
    })
  })
}

async function route(
  data: DataLayer,
  model: LanguageModel,
  request: IncomingMessage,
  response: ServerResponse,
): Promise<void> {
  const url = new URL(request.url ?? '/', 'http://localhost')
  const [, first, chatId, action] = url.pathname.split('/')
  if (first !== 'chats') return json(response, 404, { error: 'NOT_FOUND' })
  if (request.method === 'POST' && chatId === undefined) {
    const { userId } = (await body(request)) as { userId: string }
    const chat = await data.chats.create({ userId })
    return json(response, 201, { id: chat.id })
  }
  if (chatId === undefined) return json(response, 404, { error: 'NOT_FOUND' })
  if (request.method === 'GET' && action === 'messages') {
    const [messages, branches] = await Promise.all([
      data.messages.loadUIMessages(chatId),
      data.messages.branches(chatId),
    ])
    return json(response, 200, { messages, branches })
  }
  if (request.method === 'POST' && action === 'branch') {
    const { messageId } = (await body(request)) as { messageId: string }
    await data.messages.switchBranch(chatId, messageId)
    return json(response, 200, { ok: true })
  }
  if (request.method === 'POST' && action === 'attachments') {
    const filename = url.searchParams.get('filename') ?? undefined
    const file = await data.attachments.upload({
      chatId,
      body: request, // streamed: refused at the first byte that breaks a rule
      mediaType: request.headers['content-type'] ?? 'application/octet-stream',
      ...(filename ? { filename } : {}),
    })
    return json(response, 201, await data.attachments.filePart(file))
  }
  if (request.method === 'GET' && action === 'events')
    return events(data, chatId, request, response)
  if (request.method === 'POST' && action === 'messages') {
    return reply(data, model, chatId, (await body(request)) as SendBody, response)
  }
  return json(response, 404, { error: 'NOT_FOUND' })
}

/** Saves the user's message (or picks the message to answer again) and streams the reply. */
async function reply(
  data: DataLayer,
  model: LanguageModel,
  chatId: string,
  { trigger, messageId, message }: SendBody,
  response: ServerResponse,
): Promise<void> {
  let parentId: string | undefined
  if (trigger === 'submit-message' && message) {
    await data.messages.saveUIMessages(chatId, [message])
  } else {
    // A regenerated answer answers the message before the one it replaces, as a sibling.
    const path = await data.messages.loadUIMessages(chatId)
    const at = messageId
      ? path.findIndex((m) => m.id === messageId)
      : path.findLastIndex((m) => m.role === 'assistant')
    parentId = path[at - 1]?.id
  }
  const history = (await data.messages.loadUIMessages(chatId)) as unknown as UIMessage[]
  const upTo = parentId ? history.findIndex((m) => m.id === parentId) + 1 : history.length
  const stored = await data.messages.startReply(chatId, { parentId })

  // The user pressing stop closes the request: stop the model, keep what arrived.
  const stop = new AbortController()
  response.on('close', () => {
    if (!response.writableFinished) stop.abort()
  })
  const result = streamText({
    model,
    tools,
    stopWhen: stepCountIs(3),
    messages: await convertToModelMessages(history.slice(0, upTo), { tools }),
    abortSignal: stop.signal,
  })
  const [toClient, toStore] = result.toUIMessageStream({ generateMessageId: () => stored.id }).tee()
  const writing = (async () => {
    for await (const snapshot of readUIMessageStream({ stream: toStore })) stored.update(snapshot)
    if (stop.signal.aborted) await stored.abort()
    else
      await stored.finish({
        finishReason: await result.finishReason,
        usage: await result.totalUsage,
      })
  })()
  // The response ends once the reply is stored, so that a client that reloads as soon as
  // its stream is done reads the finished reply, not the last flush before it.
  const stream = toClient.pipeThrough(
    new TransformStream({
      async flush() {
        await writing
      },
    }),
  )
  pipeUIMessageStreamToResponse({ response, stream })
  await writing
}

/** Forwards the chat's live events as server-sent events until the client goes. */
async function events(
  data: DataLayer,
  chatId: string,
  request: IncomingMessage,
  response: ServerResponse,
): Promise<void> {
  response.writeHead(200, {
    'content-type': 'text/event-stream',
    'cache-control': 'no-cache',
    connection: 'keep-alive',
  })
  const watching = await data.live.watch(chatId, {
    onEvent: (event) => response.write(`event: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`),
  })
  response.write(': watching\n\n') // tells the client that events flow from here on
  if (request.destroyed)
    await watching.close() // gone while the watch was starting
  else request.on('close', () => void watching.close())
}

async function body(request: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = []
  for await (const chunk of request) chunks.push(chunk as Buffer)
  return JSON.parse(Buffer.concat(chunks).toString('utf8'))
}

function json(response: ServerResponse, status: number, value: unknown): void {
  response.writeHead(status, { 'content-type': 'application/json' })
  response.end(JSON.stringify(value))
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { createDataLayer } = await import('stratum-data')
  const { MockLanguageModelV4, simulateReadableStream } = await import('ai/test')
  const data = await createDataLayer()
  await data.migrate()
  const model = new MockLanguageModelV4({
    doStream: async () => ({
      stream: simulateReadableStream({
        chunks: [
          { type: 'text-start', id: 't' },
          { type: 'text-delta', id: 't', delta: 'Hello from the mock model.' },
          { type: 'text-end', id: 't' },
          {
            type: 'finish',
            finishReason: { unified: 'stop', raw: undefined },
            usage: {
              inputTokens: { total: 1, noCache: 1, cacheRead: undefined, cacheWrite: undefined },
              outputTokens: { total: 5, text: 5, reasoning: undefined },
            },
          },
        ],
      }) as never,
    }),
  })
  const user = await data.users.create({ email: `demo.${Date.now()}@example.com` })
  const server = chatServer(data, model).listen(3000)
  console.log(`listening on http://localhost:3000 (user ${user.id}); Ctrl-C stops`)
  process.on('SIGINT', () => {
    server.close()
    void data.close()
  })
}
