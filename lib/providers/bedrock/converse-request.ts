import type {
  ContentBlock, ConverseStreamCommandInput, ImageFormat, Message, SystemContentBlock, Tool, ToolChoice as BedrockToolChoice, ToolConfiguration
} from '@aws-sdk/client-bedrock-runtime'
import { LLMRTC_ERR_LLM } from '../../errors.js'
import type { ChatMessage, LLMRequest, ToolCallRequest, ToolChoice, ToolDefinition, VisionAttachment } from '../types.js'
import { BEDROCK } from './bedrock-errors.js'

/**
 * The ConverseStream input for `request`. `modelId` is a model id, an inference profile id
 * (`us.anthropic.claude-...`) or an ARN, passed through as is.
 */
export function converseInput (request: LLMRequest, modelId: string): ConverseStreamCommandInput {
  const config = request.config ?? {}
  const { system, messages } = toBedrockMessages(request.messages, config.systemPrompt)
  const input: ConverseStreamCommandInput = { modelId, messages }
  if (system.length > 0) input.system = system
  const inference: NonNullable<ConverseStreamCommandInput['inferenceConfig']> = {}
  if (config.maxTokens !== undefined) inference.maxTokens = config.maxTokens
  if (config.temperature !== undefined) inference.temperature = config.temperature
  if (config.topP !== undefined) inference.topP = config.topP
  if (Object.keys(inference).length > 0) input.inferenceConfig = inference
  const toolConfig = toToolConfig(request.tools, request.toolChoice, messages)
  if (toolConfig !== undefined) input.toolConfig = toolConfig
  return input
}

/**
 * llmrtc messages as Converse messages: system messages become `system` blocks (`systemPrompt` only when
 * the history has none), tool results become `toolResult` blocks of a user message, and consecutive
 * messages of one role are merged, since Converse wants user and assistant turns to alternate. Empty
 * text is left out (Converse refuses blank text blocks), and so is a message left with no block.
 */
export function toBedrockMessages (history: ChatMessage[], systemPrompt?: string): { system: SystemContentBlock[], messages: Message[] } {
  const system: SystemContentBlock[] = history.filter(m => m.role === 'system' && m.content !== '').map(m => ({ text: m.content }))
  if (system.length === 0 && systemPrompt !== undefined && systemPrompt !== '' && !history.some(m => m.role === 'system')) {
    system.push({ text: systemPrompt })
  }
  const messages: Message[] = []
  for (const message of history) {
    if (message.role === 'system') continue
    const role = message.role === 'assistant' ? 'assistant' : 'user'
    const blocks = contentBlocks(message)
    if (blocks.length === 0) continue
    const last = messages.at(-1)
    if (last?.role === role) last.content = [...(last.content ?? []), ...blocks]
    else messages.push({ role, content: blocks })
  }
  return { system, messages }
}

function contentBlocks (message: ChatMessage): ContentBlock[] {
  const blocks: ContentBlock[] = []
  switch (message.role) {
    case 'tool':
      blocks.push({ toolResult: { toolUseId: message.toolCallId ?? '', content: [{ text: message.content === '' ? '(empty)' : message.content }] } })
      break
    case 'assistant':
      if (message.content !== '') blocks.push({ text: message.content })
      for (const call of message.toolCalls ?? []) blocks.push({ toolUse: { toolUseId: call.callId, name: call.name, input: toolInput(call) as never } })
      break
    default:
      if (message.content !== '') blocks.push({ text: message.content })
      for (const attachment of message.attachments ?? []) blocks.push({ image: toImage(attachment) })
  }
  return blocks
}

/**
 * Arguments the model produced as invalid JSON are a string in llmrtc; Converse takes only an object as a
 * tool use's input, so they are replayed as `{}` (the tool's result already told the model they failed).
 */
function toolInput (call: ToolCallRequest): Record<string, unknown> {
  const args: unknown = call.arguments
  return args !== null && typeof args === 'object' && !Array.isArray(args) ? call.arguments : {}
}

const FORMATS: Record<string, ImageFormat> = { 'image/png': 'png', 'image/jpeg': 'jpeg', 'image/jpg': 'jpeg', 'image/gif': 'gif', 'image/webp': 'webp' }

/**
 * A data URI, or bare base64 with its MIME type (default image/jpeg), as an image block of bytes. Converse
 * fetches no URLs: an http(s) URL is refused (LLMRTC_ERR_LLM) rather than silently dropped.
 */
function toImage (attachment: VisionAttachment): { format: ImageFormat, source: { bytes: Uint8Array } } {
  const dataUri = /^data:([^;,]+)(?:;[^,]*)?,(.*)$/s.exec(attachment.data)
  if (dataUri === null && /^https?:\/\//i.test(attachment.data)) {
    throw new LLMRTC_ERR_LLM(BEDROCK, 'Bedrock takes images as bytes, not URLs: attach the image as a data URI')
  }
  const mimeType = (dataUri?.[1] ?? attachment.mimeType ?? 'image/jpeg').toLowerCase()
  const format = FORMATS[mimeType]
  if (format === undefined) throw new LLMRTC_ERR_LLM(BEDROCK, `image type ${mimeType} is not one Bedrock takes (png, jpeg, gif, webp)`)
  return { format, source: { bytes: new Uint8Array(Buffer.from(dataUri?.[2] ?? attachment.data, 'base64')) } }
}

/**
 * Tools as a Converse `toolConfig`. Converse has no "none" choice: with `none` the tools are left out,
 * unless the history holds tool blocks (Converse then requires a toolConfig), where the model may still
 * call them.
 */
function toToolConfig (tools: ToolDefinition[] | undefined, choice: ToolChoice | undefined, messages: Message[]): ToolConfiguration | undefined {
  if (tools === undefined || tools.length === 0) return undefined
  const historyHasTools = messages.some(m => m.content?.some(b => b.toolUse !== undefined || b.toolResult !== undefined) === true)
  if (choice === 'none' && !historyHasTools) return undefined
  const config: ToolConfiguration = { tools: tools.map(toBedrockTool) }
  const toolChoice = toBedrockToolChoice(choice)
  if (toolChoice !== undefined) config.toolChoice = toolChoice
  return config
}

function toBedrockTool (tool: ToolDefinition): Tool {
  // The SDK's DocumentType is recursive JSON (as are a tool's input and a JSON Schema), typed without `unknown`.
  return { toolSpec: { name: tool.name, description: tool.description, inputSchema: { json: tool.parameters as never } } }
}

function toBedrockToolChoice (choice: ToolChoice | undefined): BedrockToolChoice | undefined {
  if (choice === undefined || choice === 'none') return undefined
  if (choice === 'auto') return { auto: {} }
  if (choice === 'required') return { any: {} }
  return { tool: { name: choice.name } }
}
