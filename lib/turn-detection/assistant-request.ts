import type { LanguageCues, RequestKind } from './languages/language-cues.js'
import { wordsOf } from './text-shape.js'
import type { TurnDetectionMessage } from './types.js'

/** What the assistant's last message asked the user for. */
export interface AssistantRequest {
  /** What it asked for, if the heuristic recognised it (a phone number, a spelling, a date, a list…). */
  readonly kind: RequestKind | undefined
  /** Its last sentence is a question. */
  readonly asked: boolean
}

/** Messages looked back through for the assistant's last one (tool results and system notes may follow it). */
const LOOKBACK_MESSAGES = 6
/** Characters of that message read from its end: its last sentence is what the user answers. */
const TAIL_CHARS = 200

/**
 * The request in the assistant's last message (among the last 6), read from its last sentence: the first
 * of the language's request cues found there, in priority order. Undefined if the assistant has not spoken.
 */
export function assistantRequestOf (history: ReadonlyArray<TurnDetectionMessage>, cues: LanguageCues): AssistantRequest | undefined {
  for (let i = history.length - 1; i >= 0 && i >= history.length - LOOKBACK_MESSAGES; i--) {
    const message = history[i]
    if (message?.role !== 'assistant' || typeof message.content !== 'string') continue
    const sentence = lastSentence(message.content.slice(-TAIL_CHARS))
    const text = ` ${wordsOf(sentence).join(' ')} `
    const found = cues.requestCues.find(([phrase]) => text.includes(` ${phrase} `))
    return { kind: found?.[1], asked: /[?？]/.test(sentence) }
  }
  return undefined
}

/** The last sentence of `text`, with its final mark: what follows the last . ! ? that is not the final one. */
function lastSentence (text: string): string {
  const trimmed = text.trimEnd()
  let cut = -1
  for (let i = trimmed.length - 2; i >= 0; i--) {
    const c = trimmed[i] as string
    if ((c === '.' || c === '!' || c === '?' || c === '。' || c === '！' || c === '？') && /\s/.test(trimmed[i + 1] ?? '')) {
      cut = i
      break
    }
  }
  return trimmed.slice(cut + 1)
}
