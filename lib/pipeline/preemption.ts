import { encodeWav } from '../audio/wav.js'
import { publishSpeculation } from '../observability/channels.js'
import type { ChatMessage, LLMRequest, Providers } from '../providers/types.js'
import type { ConversationHistory } from '../sessions/conversation-history.js'
import { normalizeWords } from '../turn-taking/backchannels.js'
import type { Endpointing } from '../turn-taking/endpointing.js'
import { SPEECH_SAMPLE_RATE_HZ } from '../vad/speech-events.js'
import { SpeculativeAnswer, type SpeculativeSpeechOptions } from './speculative-answer.js'
import type { PrefetchedAnswer, TurnAgent } from './turn-types.js'

export interface PreemptionInit {
  sessionId: string
  providers: Providers
  history: ConversationHistory
  agent: TurnAgent | undefined
  /** The session's lifetime. */
  signal: AbortSignal
  llmTimeoutMs: number
  /** Adaptive end of turn, decided on the words of each pause (absent: the VAD's fixed wait). */
  endpointing: Endpointing | undefined
  /** Whether the LLM's answer is started in the pauses (`preemptive` on), or only the words are transcribed. */
  answer: boolean
  /** Synthesize the answer's first sentence ahead too (streaming TTS). */
  speech: SpeculativeSpeechOptions | undefined
}

/**
 * What happens while the user pauses in the middle of an utterance: the words so far are transcribed,
 * the turn detector sets the end-of-speech wait from them, and (preemptive generation) the LLM's answer
 * to them is started. At the end of the utterance the turn takes the speculation (`take()`) and uses its
 * answer only if it answers exactly the turn's words (`prefetchFor()`).
 */
export class Preemption {
  readonly #o: PreemptionInit
  #current: SpeculativeAnswer | undefined
  /** The user message each speculative request was built on → the history version it was built on. */
  readonly #versions = new WeakMap<ChatMessage, number>()

  constructor (init: PreemptionInit) {
    this.#o = init
  }

  /** True while the words of the current pause are being worked on. */
  get active (): boolean { return this.#current !== undefined }

  /**
   * The user has paused `silenceMs`: transcribe `utterance` (or take a streaming STT's `interim` words),
   * decide the end-of-speech wait, and start the answer when `mayAnswer()` (no other turn runs).
   */
  start (utterance: Int16Array, silenceMs: number, interim: string | undefined, mayAnswer: () => boolean): void {
    const o = this.#o
    const result = interim !== undefined ? undefined : o.providers.stt.transcribe(encodeWav(utterance, SPEECH_SAMPLE_RATE_HZ), { signal: o.signal })
    const transcript = result === undefined ? Promise.resolve(interim ?? '') : result.then(r => r.text.trim())
    const endpointing = o.endpointing
    if (endpointing !== undefined) {
      endpointing.holdForDecision()
      transcript.then(async (text) => { await endpointing.decide(text, silenceMs) }, () => { endpointing.undecided() })
    }
    const answer = o.answer && mayAnswer()
    const speculation: SpeculativeAnswer = this.#current = new SpeculativeAnswer({
      transcript,
      ...(result !== undefined ? { words: result.then(r => r.words, () => undefined) } : {}),
      request: (text): LLMRequest | undefined => answer && mayAnswer() && speculation === this.#current ? this.#request(text) : undefined,
      llm: o.providers.llm,
      signal: o.signal,
      llmTimeoutMs: o.llmTimeoutMs,
      ...(o.speech !== undefined ? { speech: o.speech } : {})
    })
    if (answer) transcript.then((text) => { if (speculation.request !== undefined && text !== '') publishSpeculation(o.sessionId, 'started') }, () => {})
  }

  /** The utterance ended: its speculation, for the turn (the words up to the pause are all its words). */
  take (): SpeculativeAnswer | undefined {
    const speculation = this.#current
    this.#current = undefined
    return speculation
  }

  /** The user went on speaking (or the utterance was dropped): the speculative work is thrown away. */
  discard (): void {
    const speculation = this.take()
    if (speculation === undefined) return
    if (speculation.request !== undefined) publishSpeculation(this.#o.sessionId, 'wasted')
    speculation.discard()
  }

  /**
   * Called by the turn once its words are known (and in the history): the speculative answer if it
   * answers exactly these words on the same history (`eligible`: nothing else joined the turn), else
   * undefined and the speculation is thrown away.
   */
  prefetchFor (speculation: SpeculativeAnswer, text: string, eligible: boolean): PrefetchedAnswer | undefined {
    const request = speculation.request
    const user = request?.messages.at(-1)
    const matches = eligible && speculation.usable && user !== undefined && sameWords(user.content, text) &&
      this.#versions.get(user) === this.#o.history.version - 1
    if (!matches || request === undefined) {
      if (request !== undefined) publishSpeculation(this.#o.sessionId, 'wasted')
      speculation.discard()
      return undefined
    }
    publishSpeculation(this.#o.sessionId, 'used')
    const firstSentence = speculation.firstSentence
    return {
      request,
      stream: (signal) => speculation.stream(signal),
      ...(firstSentence !== undefined ? { speech: { text: firstSentence, stream: (signal: AbortSignal) => speculation.speech(signal) } } : {})
    }
  }

  /** The request the turn would make for `text`: the history as it is now, plus the user's words. */
  #request (text: string): LLMRequest {
    const { history, agent } = this.#o
    const user: ChatMessage = { role: 'user', content: text }
    this.#versions.set(user, history.version)
    if (agent === undefined) return { messages: [...history.toMessages(), user] }
    const spec = agent.round(true)
    const request: LLMRequest = { messages: [{ role: 'system', content: spec.systemPrompt }, ...history.messages, user] }
    if (spec.tools.length > 0) {
      request.tools = spec.tools
      if (spec.toolChoice !== undefined) request.toolChoice = spec.toolChoice
    }
    if (spec.config !== undefined) request.config = spec.config
    return request
  }
}

function sameWords (a: string, b: string): boolean {
  return normalizeWords(a).join(' ') === normalizeWords(b).join(' ')
}
