import type {
  ChatCompletionContentPart, ChatCompletionCreateParamsBase, ChatCompletionFunctionTool,
  ChatCompletionMessageParam, ChatCompletionToolChoiceOption
} from 'openai/resources/chat/completions'
import type { ChatMessage, LLMRequest, ToolChoice, ToolDefinition, VisionAttachment } from '../types.js'

/** Which body field carries `maxTokens`: OpenAI's current one, or the older one most compatible servers read. */
export type MaxTokensField = 'max_completion_tokens' | 'max_tokens'

/** The chat completions body for `request`, without `stream`. */
export function chatBody (request: LLMRequest, model: string, maxTokensField: MaxTokensField): ChatCompletionCreateParamsBase {
  const config = request.config ?? {}
  const body: ChatCompletionCreateParamsBase = { model, messages: toOpenAIMessages(request.messages, config.systemPrompt) }
  if (config.temperature !== undefined) body.temperature = config.temperature
  if (config.topP !== undefined) body.top_p = config.topP
  if (config.maxTokens !== undefined) body[maxTokensField] = config.maxTokens
  if (request.tools !== undefined && request.tools.length > 0) {
    body.tools = request.tools.map(toOpenAITool)
    if (request.toolChoice !== undefined) body.tool_choice = toOpenAIToolChoice(request.toolChoice)
  }
  return body
}

/**
 * llmrtc messages as OpenAI messages. `systemPrompt` is prepended only when the messages carry no system
 * message of their own (the session history already pins one).
 */
export function toOpenAIMessages (messages: ChatMessage[], systemPrompt?: string): ChatCompletionMessageParam[] {
  const out: ChatCompletionMessageParam[] = []
  if (systemPrompt !== undefined && systemPrompt !== '' && !messages.some(m => m.role === 'system')) {
    out.push({ role: 'system', content: systemPrompt })
  }
  for (const message of messages) out.push(toOpenAIMessage(message))
  return out
}

function toOpenAIMessage (message: ChatMessage): ChatCompletionMessageParam {
  switch (message.role) {
    case 'system':
      return { role: 'system', content: message.content }
    case 'tool':
      return { role: 'tool', tool_call_id: message.toolCallId ?? '', content: message.content }
    case 'assistant': {
      const calls = message.toolCalls ?? []
      if (calls.length === 0) return { role: 'assistant', content: message.content }
      return {
        role: 'assistant',
        // OpenAI wants null, not "", beside tool calls.
        content: message.content === '' ? null : message.content,
        tool_calls: calls.map(call => ({
          id: call.callId,
          type: 'function' as const,
          function: { name: call.name, arguments: typeof call.arguments === 'string' ? call.arguments : JSON.stringify(call.arguments) }
        }))
      }
    }
    case 'user': {
      const attachments = message.attachments ?? []
      if (attachments.length === 0) return { role: 'user', content: message.content }
      const parts: ChatCompletionContentPart[] = []
      if (message.content !== '') parts.push({ type: 'text', text: message.content })
      for (const attachment of attachments) parts.push({ type: 'image_url', image_url: { url: imageUrl(attachment) } })
      return { role: 'user', content: parts }
    }
  }
}

/** A data URI or http(s) URL as is; bare base64 becomes a data URI of its MIME type (default image/jpeg). */
function imageUrl (attachment: VisionAttachment): string {
  if (/^(data:|https?:\/\/)/i.test(attachment.data)) return attachment.data
  return `data:${attachment.mimeType ?? 'image/jpeg'};base64,${attachment.data}`
}

function toOpenAITool (tool: ToolDefinition): ChatCompletionFunctionTool {
  return { type: 'function', function: { name: tool.name, description: tool.description, parameters: tool.parameters } }
}

function toOpenAIToolChoice (choice: ToolChoice): ChatCompletionToolChoiceOption {
  if (typeof choice === 'string') return choice
  return { type: 'function', function: { name: choice.name } }
}
