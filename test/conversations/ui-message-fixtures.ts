import type { UIMessage } from 'ai'

/**
 * A conversation with every part type the AI SDK (`ai` 7) has, and a tool call in every
 * state: what a chat app built on it persists. Typed as the SDK's own `UIMessage`, so the
 * compiler checks that each part is one the SDK can produce.
 */
export const conversation: UIMessage[] = [
  {
    id: 'sys-1',
    role: 'system',
    parts: [{ type: 'text', text: 'You are a helpful assistant.' }],
  },
  {
    id: 'user-1',
    role: 'user',
    metadata: { sentAt: 1764720000000, client: { app: 'web', version: '2.1.0' } },
    parts: [
      { type: 'text', text: 'What is the weather in Zürich? See the photo 📷' },
      {
        type: 'file',
        mediaType: 'image/png',
        filename: 'zurich.png',
        url: 'data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==',
      },
    ],
  },
  {
    id: 'assistant-1',
    role: 'assistant',
    metadata: {
      model: 'mock-model',
      finishReason: 'stop',
      usage: { inputTokens: 12, outputTokens: 40 },
    },
    parts: [
      { type: 'step-start' },
      {
        type: 'reasoning',
        text: 'The user wants the weather; call the tool.',
        state: 'done',
        providerMetadata: { mock: { signature: 'abc' } },
      },
      {
        type: 'tool-weather',
        toolCallId: 'call-1',
        state: 'output-available',
        input: { city: 'Zürich', unit: 'celsius' },
        output: { temperature: 7.5, conditions: ['cloudy', 'windy'], alerts: null },
        providerExecuted: false,
      },
      { type: 'step-start' },
      {
        type: 'text',
        text: 'It is 7.5 °C and cloudy in Zürich.',
        state: 'done',
        providerMetadata: { mock: { cached: true } },
      },
      {
        type: 'source-url',
        sourceId: 'src-1',
        url: 'https://weather.example.com/zurich',
        title: 'Zürich forecast',
      },
      {
        type: 'source-document',
        sourceId: 'src-2',
        mediaType: 'application/pdf',
        title: 'Climate report',
        filename: 'report.pdf',
      },
      { type: 'data-weatherCard', id: 'card-1', data: { city: 'Zürich', temperature: 7.5 } },
    ],
  },
  {
    id: 'assistant-2',
    role: 'assistant',
    parts: [
      {
        type: 'tool-weather',
        toolCallId: 'call-2',
        state: 'input-streaming',
        input: { city: 'Ber' },
      },
      {
        type: 'tool-weather',
        toolCallId: 'call-3',
        state: 'input-available',
        input: { city: 'Bern', unit: 'celsius' },
        title: 'Weather in Bern',
      },
      {
        type: 'tool-deleteFile',
        toolCallId: 'call-4',
        state: 'approval-requested',
        input: { path: '/tmp/report.pdf' },
        approval: { id: 'approval-1' },
      },
      {
        type: 'tool-deleteFile',
        toolCallId: 'call-5',
        state: 'approval-responded',
        input: { path: '/tmp/old.pdf' },
        approval: { id: 'approval-2', approved: true, reason: 'the user agreed' },
      },
      {
        type: 'tool-deleteFile',
        toolCallId: 'call-6',
        state: 'output-denied',
        input: { path: '/etc/passwd' },
        approval: { id: 'approval-3', approved: false, reason: 'not allowed' },
      },
      {
        type: 'tool-weather',
        toolCallId: 'call-7',
        state: 'output-error',
        input: { city: 'Atlantis', unit: 'celsius' },
        errorText: 'No such city: Atlantis',
      },
      {
        type: 'dynamic-tool',
        toolName: 'mcp.search',
        toolCallId: 'call-8',
        state: 'output-available',
        input: { query: 'pgvector' },
        output: [{ title: 'pgvector', rank: 1 }],
        toolMetadata: { server: 'docs' },
      },
      {
        type: 'text',
        text: 'Partial answ',
        state: 'streaming',
      },
    ],
  },
]

/** Tools the fixtures call, for `validateUIMessages` and `convertToModelMessages`. */
export const toolNames = ['weather', 'deleteFile'] as const
