import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { fileURLToPath } from 'node:url'
import { createResumableStreamContext } from 'resumable-stream/generic'
import { describe, expect, inject, it } from 'vitest'
import { type DataLayer, resumableStreamClients } from '../../src/index.js'
import { backends, databaseUrlOf, uniqueEmail } from '../helpers/backends.js'
import { waitFor } from '../helpers/wait-for.js'

// The real `resumable-stream` package on the data layer's cache backend: a reply followed by a
// second client from where the first one left, and a writer killed mid-stream.

const [pglite, postgres] = backends as [(typeof backends)[0], (typeof backends)[0]]
const WORDS = Array.from({ length: 40 }, (_, i) => `w${i} `)

/**
 * A model's output: the words, one every 10 ms, each also given to `onWord`; after the tenth
 * it waits for `gate`, so that the stream is still running when the second client comes.
 */
function slowWords(onWord: (word: string) => void, gate: Promise<void>): ReadableStream<string> {
  let i = 0
  return new ReadableStream<string>({
    async pull(controller) {
      await new Promise((resolve) => setTimeout(resolve, 10))
      if (i === 10) await gate
      if (i === WORDS.length) return controller.close()
      onWord(WORDS[i]!)
      controller.enqueue(WORDS[i++]!)
    },
  })
}

async function readAll(stream: ReadableStream<string>): Promise<string> {
  let text = ''
  for await (const chunk of stream) text += chunk
  return text
}

const setups = [
  {
    title: 'embedded default: one process',
    scope: 'process',
    open: async (): Promise<[DataLayer, DataLayer]> => {
      const data = await pglite.open()
      return [data, data]
    },
  },
  {
    title: `Redis (${inject('redisDescription')}): a second data layer, as another process`,
    scope: 'shared',
    open: async (): Promise<[DataLayer, DataLayer]> => {
      const prefix = `rs-${randomBytes(4).toString('hex')}:`
      const writer = await postgres.open({ redisUrl: inject('redisUrl'), cache: { prefix } })
      return [writer, await postgres.reopen(writer)]
    },
  },
] as const

for (const setup of setups) {
  describe(`resumable replies [${setup.title}]`, () => {
    it('a second client resumes the reply where the first left and gets the rest; the stored reply is whole', async () => {
      const [writer, reader] = await setup.open()
      expect(writer.cache.coordination.scope).toBe(setup.scope)
      expect(reader.cache.coordination.scope).toBe(setup.scope)
      const user = await writer.users.create({ email: uniqueEmail() })
      const chat = await writer.chats.create({ userId: user.id })
      const streamId = `stream-${chat.id}`
      const reply = await writer.messages.startReply(chat.id, { streamId })
      const writerStreams = createResumableStreamContext({
        waitUntil: null,
        ...resumableStreamClients(writer.cache.coordination),
      })
      let text = ''
      let open!: () => void
      const gate = new Promise<void>((resolve) => {
        open = resolve
      })
      const source = slowWords((word) => {
        text += word
        reply.update({ parts: [{ type: 'text', text }] })
      }, gate)
      const finished = new Promise<void>((resolve, reject) => {
        const check = setInterval(() => {
          if (text.length < WORDS.join('').length) return
          clearInterval(check)
          reply.finish({ finishReason: 'stop' }).then(() => resolve(), reject)
        }, 20)
      })

      // The first client reads a few words and goes away (a closed tab, a lost network).
      const first = (await writerStreams.createNewResumableStream(streamId, () => source))!
      const firstReader = first.getReader()
      let seen = ''
      while (seen.split(' ').length <= 5) seen += (await firstReader.read()).value ?? ''
      await firstReader.cancel()

      // The second client finds the stream on the chat and resumes after what was seen.
      const marker = (await reader.chats.getById(chat.id)).activeStreamId
      expect(marker).toBe(streamId)
      const readerStreams = createResumableStreamContext({
        waitUntil: null,
        ...resumableStreamClients(reader.cache.coordination),
      })
      const rest = await readerStreams.resumeExistingStream(marker!, seen.length)
      open()
      expect(rest).toBeTruthy()
      expect(seen + (await readAll(rest!))).toBe(WORDS.join(''))

      await finished
      const stored = await reader.messages.getById(reply.messageId)
      expect(stored).toMatchObject({ status: 'complete', content: WORDS.join('') })
      expect((await reader.chats.getById(chat.id)).activeStreamId).toBeNull()
    })
  })
}

describe(`a writer killed mid-stream [Redis (${inject('redisDescription')})]`, () => {
  it('leaves its reply streaming until the sweep marks it interrupted, keeping its text and clearing the marker', async () => {
    const prefix = `rs-${randomBytes(4).toString('hex')}:`
    const data = await postgres.open({ redisUrl: inject('redisUrl'), cache: { prefix } })
    const user = await data.users.create({ email: uniqueEmail() })
    const chat = await data.chats.create({ userId: user.id })
    const worker = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        fileURLToPath(new URL('./workers/reply-worker.ts', import.meta.url)),
        JSON.stringify({
          databaseUrl: databaseUrlOf(data),
          redisUrl: inject('redisUrl'),
          prefix,
          chatId: chat.id,
        }),
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    )
    const announced = await new Promise<string>((resolve, reject) => {
      let out = ''
      worker.stdout.on('data', (chunk: Buffer) => {
        out += chunk.toString()
        const line = out.split('\n').find((l) => l.startsWith('streaming '))
        if (line) resolve(line)
      })
      worker.once('exit', (code) => reject(new Error(`the worker exited early (${code})`)))
    })
    const [, messageId, streamId] = announced.trim().split(' ')
    worker.kill('SIGKILL')
    await new Promise((resolve) => worker.once('exit', resolve))

    const before = await data.messages.getById(messageId!)
    expect(before.status).toBe('streaming')
    expect(before.content.startsWith('w1 w2 w3')).toBe(true)
    expect((await data.chats.getById(chat.id)).activeStreamId).toBe(streamId)
    // Nothing writes it any more: a sweep with a 1 s idle time finds it once that has passed.
    await waitFor('the sweep to mark the dead writer', async () =>
      (await data.messages.sweepInterruptedReplies({ idleMs: 1_000 })).includes(messageId!),
    )
    const after = await data.messages.getById(messageId!)
    expect(after).toMatchObject({ status: 'interrupted', content: before.content })
    expect(after.finishedAt).toBeInstanceOf(Date)
    // A reconnecting client sees no stream to resume, and loads the stored text instead.
    expect((await data.chats.getById(chat.id)).activeStreamId).toBeNull()
    expect((await data.messages.loadUIMessages(chat.id)).at(-1)?.parts).toEqual([
      { type: 'text', text: before.content },
    ])
  })
})
