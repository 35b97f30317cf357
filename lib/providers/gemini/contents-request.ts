import type {
  Content, FunctionCallingConfig, FunctionCallingConfigMode, GenerateContentConfig, GenerateContentParameters, Part
} from '@google/genai'
import type { ChatMessage, LLMRequest, ToolCallRequest, ToolChoice, VisionAttachment } from '../types.js'

/**
 * Gemini 3 refuses (400) a replayed model turn whose first function call lacks the `thoughtSignature` the
 * model gave it. Signatures the provider saw are replayed; for calls it never saw (history from another
 * provider, a restart), Google documents this value to skip the check.
 */
export const SKIP_THOUGHT_SIGNATURE = 'skip_thought_signature_validator'

/** Finds the thought signature Gemini gave a call, by our call id. */
export type SignatureLookup = (callId: string) => string | undefined

/** The `generateContent` parameters for `request` (without the abort signal). */
export function contentsRequest (request: LLMRequest, model: string, signatureOf: SignatureLookup = () => undefined): GenerateContentParameters {
  const config: GenerateContentConfig = {}
  const options = request.config ?? {}
  const system = systemInstruction(request.messages, options.systemPrompt)
  if (system !== undefined) config.systemInstruction = system
  if (options.temperature !== undefined) config.temperature = options.temperature
  if (options.topP !== undefined) config.topP = options.topP
  if (options.maxTokens !== undefined) config.maxOutputTokens = options.maxTokens
  if (request.tools !== undefined && request.tools.length > 0) {
    // parametersJsonSchema takes the tool's JSON Schema as is (`parameters` wants Google's OpenAPI subset).
    config.tools = [{ functionDeclarations: request.tools.map(tool => ({ name: tool.name, description: tool.description, parametersJsonSchema: tool.parameters })) }]
    if (request.toolChoice !== undefined) config.toolConfig = { functionCallingConfig: functionCallingConfig(request.toolChoice) }
  }
  return { model, contents: toGeminiContents(request.messages, signatureOf), config }
}

/**
 * The system messages of the history, joined; else `systemPrompt`. Gemini has no system role: the
 * instruction travels in `config.systemInstruction`.
 */
function systemInstruction (messages: ChatMessage[], systemPrompt: string | undefined): string | undefined {
  const own = messages.filter(m => m.role === 'system').map(m => m.content).filter(text => text !== '')
  if (own.length > 0) return own.join('\n\n')
  return systemPrompt !== undefined && systemPrompt !== '' ? systemPrompt : undefined
}

/**
 * llmrtc messages as Gemini contents: `user` and `model` turns. Tool results are `functionResponse` parts
 * of a user turn; consecutive messages of one role become one turn (the answers to parallel calls must
 * come together, in one turn after the model's).
 */
export function toGeminiContents (messages: ChatMessage[], signatureOf: SignatureLookup = () => undefined): Content[] {
  const contents: Content[] = []
  const callNames = new Map<string, string>()
  for (const message of messages) {
    if (message.role === 'system') continue
    const role = message.role === 'assistant' ? 'model' : 'user'
    const parts = message.role === 'assistant' ? modelParts(message, signatureOf) : message.role === 'tool' ? [functionResponsePart(message, callNames)] : userParts(message)
    for (const call of message.toolCalls ?? []) callNames.set(call.callId, call.name)
    if (parts.length === 0) continue
    const last = contents.at(-1)
    if (last?.role === role) last.parts?.push(...parts)
    else contents.push({ role, parts })
  }
  return contents
}

function userParts (message: ChatMessage): Part[] {
  const parts: Part[] = []
  if (message.content !== '') parts.push({ text: message.content })
  for (const attachment of message.attachments ?? []) parts.push(imagePart(attachment))
  return parts
}

function modelParts (message: ChatMessage, signatureOf: SignatureLookup): Part[] {
  const parts: Part[] = []
  if (message.content !== '') parts.push({ text: message.content })
  for (const [index, call] of (message.toolCalls ?? []).entries()) {
    const part: Part = { functionCall: { id: call.callId, name: call.name, args: argumentsObject(call) } }
    // Of parallel calls only the first carries a signature.
    const signature = signatureOf(call.callId) ?? (index === 0 ? SKIP_THOUGHT_SIGNATURE : undefined)
    if (signature !== undefined) part.thoughtSignature = signature
    parts.push(part)
  }
  return parts
}

/** Arguments the model sent as invalid JSON were kept as a string: replayed under `raw`, as Gemini wants an object. */
function argumentsObject (call: ToolCallRequest): Record<string, unknown> {
  const args: unknown = call.arguments
  return typeof args === 'string' ? { raw: args } : call.arguments
}

/**
 * A tool result as a `functionResponse` part. Gemini wants the response as an object: a JSON object result
 * is sent as is, anything else under `output` (Google's documented key for a function's output).
 */
function functionResponsePart (message: ChatMessage, callNames: Map<string, string>): Part {
  const id = message.toolCallId ?? ''
  const name = message.toolName ?? callNames.get(id) ?? ''
  return { functionResponse: id === '' ? { name, response: responseObject(message.content) } : { id, name, response: responseObject(message.content) } }
}

function responseObject (content: string): Record<string, unknown> {
  try {
    const parsed: unknown = JSON.parse(content)
    if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)) return parsed as Record<string, unknown>
    return { output: parsed }
  } catch {
    return { output: content }
  }
}

/**
 * A data URI or bare base64 becomes an `inlineData` part (MIME type from the URI, the attachment, or
 * image/jpeg); an http(s) URL a `fileData` part, which Gemini fetches itself.
 */
function imagePart (attachment: VisionAttachment): Part {
  const dataUri = /^data:([^;,]+)?(;base64)?,(.*)$/is.exec(attachment.data)
  if (dataUri !== null) {
    const data = dataUri[2] !== undefined ? dataUri[3] ?? '' : Buffer.from(decodeURIComponent(dataUri[3] ?? ''), 'utf8').toString('base64')
    return { inlineData: { mimeType: dataUri[1] ?? attachment.mimeType ?? 'image/jpeg', data } }
  }
  if (/^https?:\/\//i.test(attachment.data)) return { fileData: { fileUri: attachment.data, mimeType: attachment.mimeType ?? 'image/jpeg' } }
  return { inlineData: { mimeType: attachment.mimeType ?? 'image/jpeg', data: attachment.data } }
}

function functionCallingConfig (choice: ToolChoice): FunctionCallingConfig {
  if (choice === 'auto') return { mode: mode('AUTO') }
  if (choice === 'none') return { mode: mode('NONE') }
  if (choice === 'required') return { mode: mode('ANY') }
  return { mode: mode('ANY'), allowedFunctionNames: [choice.name] }
}

/** The SDK's `FunctionCallingConfigMode` member of this name (its values are their names), without importing the SDK. */
function mode (name: 'AUTO' | 'NONE' | 'ANY'): FunctionCallingConfigMode {
  return name as FunctionCallingConfigMode
}
