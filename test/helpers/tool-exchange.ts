import type { ChatMessage } from '../../lib/providers/types.js'

/** The one tool the LLM provider tests declare. */
export const weatherTool = { name: 'get_weather', description: 'Weather for a city', parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } }

/**
 * A finished tool exchange to replay to an LLM: two calls in one assistant message (ids `${idPrefix}a`
 * and `${idPrefix}b`, the second with arguments that are not valid JSON), their results, an answer and
 * a new user message. Each provider's test checks how its wire format carries it.
 */
export function toolExchangeHistory (idPrefix: string, assistantText: string): ChatMessage[] {
  return [
    { role: 'system', content: 'You are terse.' },
    { role: 'user', content: 'Weather in Paris and Oslo?' },
    {
      role: 'assistant',
      content: assistantText,
      toolCalls: [
        { callId: `${idPrefix}a`, name: 'get_weather', arguments: { city: 'Paris' } },
        { callId: `${idPrefix}b`, name: 'get_weather', arguments: '{"city": "Os' as unknown as Record<string, unknown> }
      ]
    },
    { role: 'tool', toolCallId: `${idPrefix}a`, toolName: 'get_weather', content: '{"temp":18}' },
    { role: 'tool', toolCallId: `${idPrefix}b`, toolName: 'get_weather', content: 'error: invalid arguments' },
    { role: 'assistant', content: 'Paris is 18 degrees.' },
    { role: 'user', content: 'Thanks' }
  ]
}
