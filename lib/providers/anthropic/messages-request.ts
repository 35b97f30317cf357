import type {
  ContentBlockParam, ImageBlockParam, MessageCreateParamsBase, MessageParam, TextBlockParam, Tool, ToolChoice as AnthropicToolChoice
} from '@anthropic-ai/sdk/resources/messages'
import { parseJsonObject } from '../../json.js'
import type { ChatMessage, LLMRequest, ToolChoice, ToolDefinition, VisionAttachment } from '../types.js'

/**
 * Models that reject `temperature` and `top_p` altogether (Anthropic removed the sampling parameters
 * from Claude Opus 4.7 on, and from the generation-5 models: any value is a 400 "deprecated for this
 * model"). Matched anywhere in the model id, so Bedrock/Vertex-style ids (`us.anthropic.claude-opus-4-7`)
 * match too.
 */
export const ANTHROPIC_NO_SAMPLING_MODELS = /claude-(?:opus-4-(?:[7-9]|\d{2,})|(?:opus|sonnet|haiku|fable)-(?:[5-9]|\d{2,}))(?:\b|-|$)/

/**
 * The Messages API body. The SDK's types no longer list `temperature` and `top_p` (the newest models
 * refuse them), but the API still takes them for the others and the SDK sends the body as given.
 */
export type MessagesBody = MessageCreateParamsBase & { temperature?: number, top_p?: number }

/** How the body is built beyond the request itself. */
export interface MessagesBodyOptions {
  model: string
  /** `max_tokens` when the session config gives none (Anthropic requires the field). */
  maxTokens: number
  /** Mark the system prompt with `cache_control: {type: 'ephemeral'}`. */
  promptCaching: boolean
  /** Models that get neither temperature nor top_p. */
  noSamplingModels: RegExp
}

/**
 * The Messages API body for `request`, without `stream`. Sampling: Claude 4.5 and later models refuse
 * `temperature` and `top_p` together, so when both are set only `temperature` is sent; models matching
 * `noSamplingModels` get neither.
 */
export function messagesBody (request: LLMRequest, options: MessagesBodyOptions): MessagesBody {
  const config = request.config ?? {}
  const { system, messages } = toAnthropicMessages(request.messages, config.systemPrompt)
  const body: MessagesBody = { model: options.model, max_tokens: config.maxTokens ?? options.maxTokens, messages }
  if (system !== undefined) {
    body.system = options.promptCaching ? [{ type: 'text', text: system, cache_control: { type: 'ephemeral' } }] : system
  }
  if (!options.noSamplingModels.test(options.model)) {
    if (config.temperature !== undefined) body.temperature = config.temperature
    else if (config.topP !== undefined) body.top_p = config.topP
  }
  if (request.tools !== undefined && request.tools.length > 0) {
    body.tools = request.tools.map(toAnthropicTool)
    if (request.toolChoice !== undefined) body.tool_choice = toAnthropicToolChoice(request.toolChoice)
  }
  return body
}

/**
 * llmrtc messages as Anthropic's `system` and `messages`. System messages of the history (joined) win
 * over `systemPrompt`, as in the OpenAI provider. Tool results become `tool_result` blocks of a user
 * message, and consecutive messages of one role are merged into one (all results of one assistant turn
 * must come back in the single user message that follows it).
 */
export function toAnthropicMessages (messages: ChatMessage[], systemPrompt?: string): { system: string | undefined, messages: MessageParam[] } {
  const systems = messages.filter(m => m.role === 'system' && m.content !== '').map(m => m.content)
  const system = systems.length > 0 ? systems.join('\n\n') : systemPrompt !== undefined && systemPrompt !== '' ? systemPrompt : undefined
  const out: Array<{ role: 'user' | 'assistant', content: ContentBlockParam[] }> = []
  for (const message of messages) {
    if (message.role === 'system') continue
    const role = message.role === 'assistant' ? 'assistant' : 'user'
    const blocks = toBlocks(message)
    // Anthropic refuses empty text blocks: a message with nothing to say is left out.
    if (blocks.length === 0) continue
    const last = out.at(-1)
    if (last?.role === role) last.content.push(...blocks)
    else out.push({ role, content: blocks })
  }
  // Anthropic refuses a conversation that starts with the assistant (a greeting, a history trimmed by
  // historyLimit) or has no message at all: a placeholder user turn opens it, as livekit-agents does.
  if (out[0]?.role !== 'user') out.unshift({ role: 'user', content: [{ type: 'text', text: CONVERSATION_START }] })
  return { system, messages: out.map(simplify) }
}

/** The user turn put before a history that does not start with one. */
export const CONVERSATION_START = '(the conversation starts)'

/** A message of one text block as a plain string (the common case, and what the API shows in its examples). */
function simplify (message: { role: 'user' | 'assistant', content: ContentBlockParam[] }): MessageParam {
  const only = message.content[0]
  if (message.content.length === 1 && only?.type === 'text') return { role: message.role, content: only.text }
  return message
}

function toBlocks (message: ChatMessage): ContentBlockParam[] {
  const blocks: ContentBlockParam[] = []
  if (message.role === 'tool') {
    blocks.push({ type: 'tool_result', tool_use_id: message.toolCallId ?? '', content: message.content })
    return blocks
  }
  if (message.content !== '') blocks.push({ type: 'text', text: message.content } satisfies TextBlockParam)
  if (message.role === 'user') {
    for (const attachment of message.attachments ?? []) blocks.push(toImageBlock(attachment))
  }
  if (message.role === 'assistant') {
    for (const call of message.toolCalls ?? []) blocks.push({ type: 'tool_use', id: call.callId, name: call.name, input: toolInput(call.arguments) })
  }
  return blocks
}

/**
 * `tool_use.input` must be an object: arguments kept as a raw string (the model produced invalid JSON)
 * are parsed if they can be, else replayed as `{}` (the tool result that follows says what went wrong).
 */
function toolInput (args: Record<string, unknown> | string): Record<string, unknown> {
  if (typeof args !== 'string') return args
  return parseJsonObject(args) ?? {}
}

type ImageMediaType = 'image/jpeg' | 'image/png' | 'image/gif' | 'image/webp'

/** A data URI or bare base64 as a base64 source (MIME type from the URI, else `mimeType`, else JPEG); an http(s) URL as a URL source. */
function toImageBlock (attachment: VisionAttachment): ImageBlockParam {
  if (/^https?:\/\//i.test(attachment.data)) return { type: 'image', source: { type: 'url', url: attachment.data } }
  const dataUri = /^data:([^;,]+)?(?:;[^,]*)?,(.*)$/is.exec(attachment.data)
  const mediaType = (dataUri?.[1] ?? attachment.mimeType ?? 'image/jpeg') as ImageMediaType
  return { type: 'image', source: { type: 'base64', media_type: mediaType, data: dataUri?.[2] ?? attachment.data } }
}

function toAnthropicTool (tool: ToolDefinition): Tool {
  return { name: tool.name, description: tool.description, input_schema: { type: 'object', ...tool.parameters } }
}

function toAnthropicToolChoice (choice: ToolChoice): AnthropicToolChoice {
  if (choice === 'auto') return { type: 'auto' }
  if (choice === 'none') return { type: 'none' }
  if (choice === 'required') return { type: 'any' }
  return { type: 'tool', name: choice.name }
}
