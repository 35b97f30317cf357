import { randomUUID } from 'node:crypto'
import type { LLMChunk, LLMProvider, LLMRequest, STTWord, TTSProvider, TTSStreamEvent } from '../providers/types.js'
import { linkSignals } from '../streams/link-signals.js'
import { SentenceChunker } from './sentence-chunker.js'
import { SpeechTextFilter, type ResolvedSpeechTextFilterOptions } from './speech-text-filter.js'

/** How the first sentence of a speculative answer is synthesized ahead (as the turn would cut and filter it). */
export interface SpeculativeSpeechOptions {
  tts: TTSProvider
  filters: ResolvedSpeechTextFilterOptions | false
  sentenceMinChars: number
  /** Deadline of the synthesis, in ms. */
  timeoutMs: number
}

/** Audio of one sentence, buffered while it is synthesized. */
interface BufferedSpeech {
  text: string
  items: Array<Buffer | TTSStreamEvent>
  finished: boolean
  error: unknown
}

/** How a speculative answer ended: played as the turn's answer, or thrown away. */
export type SpeculationOutcome = 'used' | 'wasted'

export interface SpeculativeAnswerInit {
  /** The user's words so far (a transcript of the utterance up to the pause). */
  transcript: Promise<string>
  /** Their timings, when the STT gave them (ms from the utterance's start); never rejects. */
  words?: Promise<STTWord[] | undefined>
  /**
   * The LLM request the turn would make for these words, or undefined to transcribe only (another turn
   * is running, or the history would not match).
   */
  request: (text: string) => LLMRequest | undefined
  llm: LLMProvider
  /** The session's lifetime: closing the session aborts the speculation. */
  signal: AbortSignal
  /** Deadline of the speculative LLM call, in ms. */
  llmTimeoutMs: number
  /** Synthesize the first sentence ahead, into a buffer (streaming TTS only). */
  speech?: SpeculativeSpeechOptions
}

/**
 * Preemptive generation: while the user pauses, the transcript of the utterance so far and the LLM's
 * answer to it are started, and the answer is buffered, never sent. If the turn then ends with the same
 * words, the turn plays the buffered answer at once and goes on with the live stream (`stream()`); if
 * the user goes on speaking, `discard()` aborts it through its signal and nothing of it reaches the
 * client or the history. Nothing here runs a tool: a speculative answer that asks for one ends with that
 * request, and the tool runs only if the turn is confirmed and uses the answer (the turn's tool loop
 * runs it); a discarded one never runs it.
 */
export class SpeculativeAnswer {
  /** Becomes the turn's id when used (a TTS context started under it carries on). */
  readonly id = randomUUID()
  readonly transcript: Promise<string>
  /** The transcript's word timings, when the STT gave them (never rejects). */
  readonly words: Promise<STTWord[] | undefined>
  readonly #controller = new AbortController()
  readonly #link: ReturnType<typeof linkSignals>
  readonly #chunks: LLMChunk[] = []
  #request: LLMRequest | undefined
  #finished = false
  #error: unknown
  #wantsTools = false
  #wake: (() => void) | undefined
  #outcome: SpeculationOutcome | undefined
  readonly #speechOptions: SpeculativeSpeechOptions | undefined
  #filter: SpeechTextFilter | undefined
  #chunker: SentenceChunker | undefined
  #speech: BufferedSpeech | undefined
  #speechWake: (() => void) | undefined

  constructor (init: SpeculativeAnswerInit) {
    this.#speechOptions = init.speech?.tts.speakStream !== undefined ? init.speech : undefined
    if (this.#speechOptions !== undefined) {
      this.#chunker = new SentenceChunker({ minChars: this.#speechOptions.sentenceMinChars })
      if (this.#speechOptions.filters !== false) this.#filter = new SpeechTextFilter(this.#speechOptions.filters)
    }
    this.#link = linkSignals(init.signal, this.#controller.signal)
    const signal = this.#link.signal
    this.transcript = init.transcript
    this.words = init.words ?? Promise.resolve(undefined)
    // Until someone awaits it, a failed transcript must not become an unhandled rejection.
    this.transcript.catch(() => {})
    void this.transcript.then((text) => {
      if (signal.aborted || text.trim() === '') return
      const request = init.request(text.trim())
      if (request === undefined) return
      this.#request = request
      void this.#generate(init.llm, request, AbortSignal.timeout(init.llmTimeoutMs))
    }, () => {})
  }

  /** The request the answer was started with (undefined: the LLM was not started). */
  get request (): LLMRequest | undefined { return this.#request }
  /** True once the LLM asked for a tool (which only the confirmed turn may run). */
  get wantsTools (): boolean { return this.#wantsTools }
  /** True while the buffered answer may still be used: the LLM was started and has not failed. */
  get usable (): boolean { return this.#request !== undefined && this.#error === undefined && !this.#controller.signal.aborted }
  get outcome (): SpeculationOutcome | undefined { return this.#outcome }
  /** Chunks of text generated so far (0 when not started). */
  get bufferedChunks (): number { return this.#chunks.length }

  /** The first sentence synthesized ahead (undefined: none), for the turn's first sentence. */
  get firstSentence (): string | undefined { return this.#speech?.text }

  /** Throws the work away (the user went on speaking, or the turn does not match): aborts it. Idempotent. */
  discard (): void {
    this.#outcome ??= 'wasted'
    this.#controller.abort()
    this.#link.dispose()
    this.#wakeUp()
  }

  /**
   * The buffered audio of the first sentence, then the rest as it is synthesized, for the turn's first
   * sentence (when it is `firstSentence`). Throws the TTS's error, if it failed.
   */
  async * speech (signal: AbortSignal): AsyncIterable<Buffer | TTSStreamEvent> {
    const speech = this.#speech
    if (speech === undefined) return
    const onAbort = (): void => { this.discard() }
    signal.addEventListener('abort', onAbort, { once: true })
    try {
      let next = 0
      for (;;) {
        while (next < speech.items.length) yield speech.items[next++] as Buffer | TTSStreamEvent
        if (speech.error !== undefined) throw speech.error
        if (speech.finished || this.#controller.signal.aborted) return
        await new Promise<void>(resolve => { this.#speechWake = resolve })
      }
    } finally {
      signal.removeEventListener('abort', onAbort)
    }
  }

  /**
   * The answer for the turn that uses it: the chunks generated so far, then the live ones. `signal`
   * (the turn's) aborts the speculation. Throws the LLM's error, if it failed.
   */
  async * stream (signal: AbortSignal): AsyncIterable<LLMChunk> {
    this.#outcome = 'used'
    const onAbort = (): void => { this.discard() }
    signal.addEventListener('abort', onAbort, { once: true })
    try {
      let next = 0
      for (;;) {
        while (next < this.#chunks.length) yield this.#chunks[next++] as LLMChunk
        if (this.#error !== undefined) throw this.#error
        if (this.#finished || this.#controller.signal.aborted) return
        await new Promise<void>(resolve => { this.#wake = resolve })
      }
    } finally {
      signal.removeEventListener('abort', onAbort)
      this.#link.dispose()
    }
  }

  async #generate (llm: LLMProvider, request: LLMRequest, deadline: AbortSignal): Promise<void> {
    const call = linkSignals(this.#link.signal, deadline)
    try {
      if (llm.stream !== undefined) {
        for await (const chunk of llm.stream({ ...request, signal: call.signal })) {
          if (call.signal.aborted) break
          // A tool request is kept, not run: the confirmed turn runs it, a discarded answer never does.
          if (chunk.toolCalls !== undefined && chunk.toolCalls.length > 0) this.#wantsTools = true
          this.#chunks.push(chunk)
          this.#wakeUp()
          this.#offerText(chunk.content)
        }
        if (!call.signal.aborted) this.#offerText(undefined)
      } else {
        const result = await llm.complete({ ...request, signal: call.signal })
        if (result.toolCalls !== undefined && result.toolCalls.length > 0) this.#wantsTools = true
        this.#chunks.push({ content: result.fullText, done: true, ...(result.toolCalls !== undefined ? { toolCalls: result.toolCalls } : {}) })
      }
      call.signal.throwIfAborted()
    } catch (error) {
      if (!this.#controller.signal.aborted) this.#error = error
    } finally {
      call.dispose()
      this.#finished = true
      this.#wakeUp()
    }
  }

  #wakeUp (): void {
    const wake = this.#wake
    this.#wake = undefined
    wake?.()
    const speechWake = this.#speechWake
    this.#speechWake = undefined
    speechWake?.()
  }

  /** Text of the answer as it comes (undefined: the end): the first whole sentence starts its synthesis. */
  #offerText (content: string | undefined): void {
    const chunker = this.#chunker
    if (chunker === undefined || this.#speech !== undefined || this.#wantsTools) return
    const filter = this.#filter
    let sentences: string[]
    if (content === undefined) {
      const rest = filter?.flush() ?? ''
      sentences = [...(rest !== '' ? chunker.push(rest) : []), ...chunker.flush()]
    } else {
      sentences = chunker.push(filter === undefined ? content : filter.push(content))
    }
    const first = sentences[0]
    // Known to be the last sentence when the answer ended with it: the TTS context is closed, as the turn would.
    if (first !== undefined) void this.#synthesize(first, content === undefined && sentences.length === 1)
  }

  async #synthesize (text: string, last: boolean): Promise<void> {
    const options = this.#speechOptions
    const speakStream = options?.tts.speakStream
    if (options === undefined || speakStream === undefined) return
    const speech: BufferedSpeech = this.#speech = { text, items: [], finished: false, error: undefined }
    const call = linkSignals(this.#link.signal, AbortSignal.timeout(options.timeoutMs))
    try {
      for await (const item of speakStream.call(options.tts, text, { signal: call.signal, contextId: this.id, continuation: !last })) {
        if (call.signal.aborted) break
        speech.items.push(item)
        this.#wakeUp()
      }
      call.signal.throwIfAborted()
    } catch (error) {
      if (!this.#controller.signal.aborted) speech.error = error
    } finally {
      call.dispose()
      speech.finished = true
      this.#wakeUp()
    }
  }
}
