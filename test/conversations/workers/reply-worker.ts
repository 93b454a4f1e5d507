// The writer of a reply that dies mid-stream: starts a reply with a resumable stream on the
// layer's Redis, streams words into both, prints `streaming <messageId> <streamId>` once some
// text is stored, and goes on slowly until the test kills it (SIGKILL: no cleanup runs).
import { createResumableStreamContext } from 'resumable-stream/generic'
import { createDataLayer, resumableStreamClients } from '../../../src/index.js'

const { databaseUrl, redisUrl, prefix, chatId } = JSON.parse(process.argv[2]!) as {
  databaseUrl: string
  redisUrl: string
  prefix: string
  chatId: string
}
const data = await createDataLayer({ databaseUrl, redisUrl, cache: { prefix } })
const streams = createResumableStreamContext({
  waitUntil: null,
  ...resumableStreamClients(data.cache.coordination),
})
const streamId = `stream-${chatId}`
const reply = await data.messages.startReply(chatId, { streamId, flushIntervalMs: 20 })
let text = ''
const words = new ReadableStream<string>({
  async pull(controller) {
    await new Promise((resolve) => setTimeout(resolve, 20))
    const word = `w${text.split(' ').length} `
    text += word
    reply.update({ parts: [{ type: 'text', text }] })
    controller.enqueue(word)
  },
})
const stream = await streams.createNewResumableStream(streamId, () => words)
const reader = stream!.getReader()
let announced = false
for (;;) {
  await reader.read()
  if (!announced && text.split(' ').length > 10) {
    await reply.flush()
    announced = true
    console.log(`streaming ${reply.messageId} ${streamId}`)
  }
}
