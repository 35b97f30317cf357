/**
 * Cartesia's TTS WebSocket protocol (`/tts/websocket`), as far as llmrtc speaks it: generation inputs
 * and cancels out; chunk, timestamps, flush_done, done and error messages in. One connection carries
 * many contexts, told apart by `context_id`.
 */

import { parseJsonObject } from '../../json.js'

/** The API version llmrtc speaks (the one @cartesia/cartesia-js 4.2 sends for REST and WebSocket). */
export const CARTESIA_VERSION = '2026-08-14'

/** Sample rates Cartesia produces, in Hz. */
export const CARTESIA_SAMPLE_RATES = [8000, 16000, 22050, 24000, 44100, 48000] as const
export type CartesiaSampleRate = typeof CARTESIA_SAMPLE_RATES[number]

/** The fields every input of one context repeats unchanged (Cartesia requires it). */
export interface GenerationFields {
  model_id: string
  voice: { mode: 'id', id: string }
  output_format: { container: 'raw', encoding: 'pcm_s16le', sample_rate: CartesiaSampleRate }
  language: string
  add_timestamps: true
  generation_config?: { speed: number }
}

/** A generation input. `continue: true` says more inputs follow; `flush: true` with an empty transcript marks a boundary. */
export interface GenerationInput extends GenerationFields {
  context_id: string
  transcript: string
  continue: boolean
  flush?: true
}

export interface CancelInput {
  context_id: string
  cancel: true
}

/** Word timings of a `timestamps` message, in seconds from the start of the context's audio. */
export interface WireWordTimestamps {
  words: string[]
  start: number[]
  end: number[]
}

export type CartesiaMessage =
  | { type: 'chunk', context_id: string, data: string, flush_id?: number }
  | { type: 'timestamps', context_id: string, word_timestamps?: WireWordTimestamps, flush_id?: number }
  | { type: 'flush_done', context_id: string, flush_id: number }
  | { type: 'done', context_id: string }
  | { type: 'error', context_id?: string, status_code?: number, title?: string, message?: string, error?: string, error_code?: string }

/** The `/tts/websocket` URL for a REST base URL: https → wss, http → ws (a local proxy or mock). */
export function webSocketURL (baseURL: string): string {
  const url = new URL(baseURL)
  url.protocol = url.protocol === 'http:' ? 'ws:' : 'wss:'
  url.pathname = `${url.pathname.replace(/\/+$/, '')}/tts/websocket`
  return url.toString()
}

/** A received text frame as a message, or undefined when it is not one llmrtc knows. */
export function parseMessage (text: string): CartesiaMessage | undefined {
  const message = parseJsonObject(text)
  if (message === undefined) return undefined
  switch (message.type) {
    case 'chunk':
      return typeof message.context_id === 'string' && typeof message.data === 'string' ? message as CartesiaMessage : undefined
    case 'timestamps':
    case 'flush_done':
    case 'done':
      return typeof message.context_id === 'string' ? message as CartesiaMessage : undefined
    case 'error':
      return message as CartesiaMessage
    default:
      return undefined
  }
}

/** What an `error` message says, for an error message string (never contains the key). */
export function describeError (message: Extract<CartesiaMessage, { type: 'error' }>): string {
  const text = message.message ?? message.error ?? message.title ?? 'unknown error'
  const code = message.error_code !== undefined ? ` ${message.error_code}` : ''
  return message.status_code !== undefined ? `${message.status_code}${code}: ${text}` : text
}
