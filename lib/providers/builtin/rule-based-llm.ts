import { sleep } from '../../streams/sleep.js'
import type { ChatMessage, LLMChunk, LLMProvider, LLMRequest, LLMResult } from '../types.js'

/** Options of the built-in assistant. */
export interface RuleBasedLLMOptions {
  /** Delay between streamed words in milliseconds (default 0: as fast as the consumer reads). */
  wordDelayMs?: number
  /** Clock for "what time is it" (default Date.now). */
  now?: () => number
}

/**
 * Utterances the built-in assistant answers, spelled as a speech recognizer writes them (lower case, no
 * punctuation): the pocketsphinx STT listens for exactly these by default, so the no-key demo is
 * understood. Each gets a real answer (a test checks it); "repeat after me" works with any words.
 */
export const BUILTIN_ASSISTANT_PHRASES: readonly string[] = [
  'hello', 'hi', 'hey', 'hello there', 'good morning', 'good afternoon', 'good evening',
  'what time is it', 'what is the time', 'tell me the time',
  'what is the date', 'what is the date today', 'what day is it', 'what day is it today',
  'what can you do', 'help',
  'how do i configure a real model', 'how do i use a real model', 'how do i set up a real model',
  'thank you', 'thanks', 'goodbye', 'bye',
  'repeat after me the cat sat on the mat', 'repeat after me testing one two three', 'repeat after me hello world',
  'repeat after me the quick brown fox jumps over the lazy dog', 'repeat after me i can hear you', 'repeat after me this is a test'
]

/**
 * Built-in assistant: a small rule-based "LLM" that needs no model and no key. It answers greetings,
 * the time and date, "repeat after me", what it can do and how to configure a real model, and streams
 * its answer word by word so streaming, sentence chunking and barge-in are exercised end to end.
 * It is not a language model and says so when asked anything else.
 */
export class RuleBasedLLM implements LLMProvider {
  readonly name = 'builtin-assistant'
  readonly #wordDelayMs: number
  readonly #now: () => number

  constructor (options: RuleBasedLLMOptions = {}) {
    this.#wordDelayMs = options.wordDelayMs ?? 0
    this.#now = options.now ?? Date.now
  }

  /** The answer to a user's utterance. */
  reply (utterance: string): string {
    const text = utterance.trim()
    const lower = text.toLowerCase()
    const repeat = /repeat after me[,:]?\s*(.*)$/i.exec(text)
    if (repeat !== null) {
      const words = repeat[1]?.trim() ?? ''
      return words === '' ? 'Say "repeat after me" and then the words you want me to say.' : `${words.replace(/[.!?]*$/, '')}.`
    }
    if (text === '') return 'I did not catch that. Could you say it again?'
    // The transcripts of the placeholder STT and of a pocketsphinx grammar that matched nothing.
    if (/no speech recognizer is configured/.test(lower)) {
      return 'I hear you speak, but I cannot understand words: no speech recognizer is configured. Install pocketsphinx to use a few phrases, or set OPENAI_API_KEY for real speech recognition.'
    }
    if (/matched none of the phrases/.test(lower)) {
      return 'Sorry, I only understand a few phrases. Try: what time is it, what can you do, or repeat after me, the cat sat on the mat.'
    }
    if (/\b(time)\b/.test(lower)) {
      const time = new Date(this.#now()).toLocaleTimeString('en-US', { hour: 'numeric', minute: '2-digit' })
      return `It is ${time}.`
    }
    if (/\b(date|day is it|today)\b/.test(lower)) {
      const date = new Date(this.#now()).toLocaleDateString('en-US', { weekday: 'long', month: 'long', day: 'numeric', year: 'numeric' })
      return `Today is ${date}.`
    }
    if (/\b(what can you do|help|who are you|what are you)\b/.test(lower)) {
      return 'I am the built-in assistant of llmrtc. I can greet you, tell you the time and the date, and repeat after you. Connect a real language model to talk about anything.'
    }
    if (/\b(configure|set ?up|real model|api key|openai)\b/.test(lower)) {
      return 'To use a real model, set OPENAI_API_KEY and restart the server. For a model on your own machine, such as Ollama, set LLM_PROVIDER=openai and point OPENAI_BASE_URL at it.'
    }
    if (/\bhow are you\b/.test(lower)) return 'I am fine, thank you. I am only rules, but I am listening.'
    if (/\b(hello|hi|hey|good (morning|afternoon|evening))\b/.test(lower)) {
      return 'Hello! I am the built-in assistant. Ask me what time it is, or say repeat after me.'
    }
    if (/\b(bye|goodbye|see you)\b/.test(lower)) return 'Goodbye! Talk to you soon.'
    if (/\b(thanks|thank you)\b/.test(lower)) return 'You are welcome.'
    return 'I am only the built-in assistant, so I cannot answer that. Set OPENAI_API_KEY, or LLM_PROVIDER=openai with OPENAI_BASE_URL for a local model, to talk to a real one.'
  }

  async complete (request: LLMRequest): Promise<LLMResult> {
    request.signal?.throwIfAborted()
    return { fullText: this.reply(lastUserText(request.messages)), stopReason: 'end_turn' }
  }

  async * stream (request: LLMRequest): AsyncIterable<LLMChunk> {
    const answer = this.reply(lastUserText(request.messages))
    const words = answer.split(/(?<= )/)
    for (const word of words) {
      if (this.#wordDelayMs > 0) await sleep(this.#wordDelayMs, request.signal)
      else await Promise.resolve()
      if (isAborted(request.signal)) return
      yield { content: word, done: false }
    }
    yield { content: '', done: true, stopReason: 'end_turn' }
  }
}

function lastUserText (messages: ChatMessage[]): string {
  for (let i = messages.length - 1; i >= 0; i--) {
    const message = messages[i]
    if (message?.role === 'user') return message.content
  }
  return ''
}

function isAborted (signal: AbortSignal | undefined): boolean {
  return signal?.aborted === true
}
